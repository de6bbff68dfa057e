package stripesim

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// FuzzParams sends arbitrary form bodies through the sandbox's parsing of
// Stripe's form-encoded parameters and through every endpoint's check of
// them. A refusal is a 400 naming a parameter; a parsed tree holds every
// value sent, at the place its name says.
func FuzzParams(f *testing.F) {
	// As stripe-go v76 sends them (reference/stripe-api.md §5.2).
	f.Add("cancel_url=http%3A%2F%2Flocalhost%3A8080%2Fcancel%3Fmandate%3Dmd_1&client_reference_id=md_1&customer=cus_1" +
		"&custom_text[submit][message]=You+authorise+us&metadata[mandate_id]=md_1&mode=setup" +
		"&payment_method_types[0]=card&payment_method_types[1]=amazon_pay" +
		"&setup_intent_data[metadata][mandate_id]=md_1&success_url=http%3A%2F%2Flocalhost%3A8080%2Fsuccess%3Fsession_id%3D%7BCHECKOUT_SESSION_ID%7D")
	f.Add("amount=1000&confirm=true&currency=usd&customer=cus_1&payment_method=pm_1&payment_method_types[0]=amazon_pay&off_session=true")
	f.Add("address[country]=US&email=ada%40example.com&name=Ada+Lovelace")
	f.Add("expand[0]=setup_intent&expand[1]=setup_intent.payment_method")
	f.Add("expand[]=a&expand[]=b&expand[5]=c")
	f.Add("a=1&a[b]=2")
	f.Add("metadata[]=x&metadata[k]=")
	f.Add("[x]=1&a[b=2&a]b[=3")
	f.Add("amount=1000&charge=ch_1&metadata[refund_id]=r1&reason=requested_by_customer")
	f.Add("created[gte]=1700000000&created[lt]=1800000000&customer=cus_1&limit=3&expand[0]=data.latest_charge")
	specs := []paramSpec{retrieveSpec, customerCreateSpec, sessionCreateSpec, paymentIntentCreateSpec, paymentIntentListSpec, refundCreateSpec}
	f.Fuzz(func(t *testing.T, body string) {
		values, err := url.ParseQuery(body)
		if err != nil {
			return // the server answers 400 for an unreadable body
		}
		root, e := parseStripeParams(values)
		if e != nil {
			refusedWith400(t, e)
			return
		}
		for key, vs := range values {
			if strings.Contains(key, "[]") {
				continue // appends: its place depends on the other keys
			}
			segs, _ := splitParamKey(key)
			if got, ok := root.str(segs...); !ok || got != vs[len(vs)-1] {
				t.Fatalf("%s=%q parsed as %q (present %v)", key, vs[len(vs)-1], got, ok)
			}
		}
		for _, spec := range specs {
			if e := root.validate(spec, ""); e != nil {
				refusedWith400(t, e)
			}
		}
	})
}

func refusedWith400(t *testing.T, e *stripeError) {
	t.Helper()
	if e.status != http.StatusBadRequest || e.Type != errTypeInvalidRequest || e.Message == "" {
		t.Fatalf("refused with %d %s %q", e.status, e.Type, e.Message)
	}
}

package stripeprovider

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"example.com/storefront/payments"
)

// Every event about a refund names it, its PaymentIntent and our reference
// (metadata.refund_ref): refund.created / refund.updated, the older
// charge.refund.updated, and refund.failed of later API versions, so a
// refund that fails, also after it succeeded, reaches the app.
func TestParseWebhookRefundEvents(t *testing.T) {
	p, err := New(Config{SecretKey: "sk_test_refunds", WebhookSecret: fuzzSecret, APIURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{"charge.refund.updated", "refund.updated", "refund.created", "refund.failed"} {
		body := `{"id":"evt_` + strings.ReplaceAll(typ, ".", "_") + `","object":"event","type":"` + typ + `","api_version":"2023-10-16",` +
			`"data":{"object":{"id":"re_1","object":"refund","status":"failed","failure_reason":"declined",` +
			`"payment_intent":"pi_1","charge":"ch_1","metadata":{"refund_ref":"mandate/md_1/charge/1/refund/1"}}}}`
		r := httptest.NewRequest(http.MethodPost, "/webhooks/stripe", strings.NewReader(body))
		r.Header.Set("Stripe-Signature", sign([]byte(body), fuzzSecret, time.Now()))
		got, err := p.ParseWebhook(r)
		want := payments.Event{ID: "evt_" + strings.ReplaceAll(typ, ".", "_"), Type: typ, ChargeRef: "pi_1", RefundRef: "re_1",
			RefundReference: "mandate/md_1/charge/1/refund/1"}
		if err != nil || got != want {
			t.Errorf("%s: %+v, %v; want %+v", typ, got, err, want)
		}
	}
}

// BenchmarkParseWebhook verifies and reads one event of each kind the
// sandbox delivers in a flow (testdata/webhooks), indented as Stripe
// sends them, as the endpoint does.
//
//	go test -run '^$' -bench ParseWebhook -benchmem ./payments/stripeprovider/
func BenchmarkParseWebhook(b *testing.B) {
	p, err := New(Config{SecretKey: "sk_test_bench", WebhookSecret: fuzzSecret, APIURL: "http://127.0.0.1:1"})
	if err != nil {
		b.Fatal(err)
	}
	var bodies [][]byte
	for _, name := range []string{"checkout-session-completed", "payment-intent-succeeded", "charge-refunded"} {
		raw, err := os.ReadFile(filepath.Join("testdata", "webhooks", name+".json"))
		if err != nil {
			b.Fatal(err)
		}
		var body bytes.Buffer
		if err := json.Indent(&body, raw, "", "  "); err != nil {
			b.Fatal(err)
		}
		bodies = append(bodies, body.Bytes())
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		body := bodies[i%len(bodies)]
		r := httptest.NewRequest(http.MethodPost, "/webhooks/stripe", bytes.NewReader(body))
		r.Header.Set("Stripe-Signature", sign(body, fuzzSecret, time.Now()))
		if ev, err := p.ParseWebhook(r); err != nil || ev.ID == "" {
			b.Fatalf("%+v, %v", ev, err)
		}
	}
}

// An event's data.object must be an object (or null), whatever its type,
// as stripe-go's Event required: a type the app does not use is
// acknowledged only when it is well formed.
func TestParseWebhookRefusesDataThatIsNoObject(t *testing.T) {
	p, err := New(Config{SecretKey: "sk_test_shapes", WebhookSecret: fuzzSecret, APIURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	for data, ok := range map[string]bool{
		`{"object":{"id":"cus_1","object":"customer"}}`: true,
		`null`:                  true,
		`{"object":null}`:       true,
		`{"object":"cus_1"}`:    false,
		`{"object":[]}`:         false,
		`{"previous":{"a":1}}`:  false, // no object
		`{"object":  {"id":1}}`: true,  // a type the app does not use: its fields are not read
	} {
		body := `{"id":"evt_shape","object":"event","type":"customer.updated","data":` + data + `}`
		r := httptest.NewRequest(http.MethodPost, "/webhooks/stripe", strings.NewReader(body))
		r.Header.Set("Stripe-Signature", sign([]byte(body), fuzzSecret, time.Now()))
		if _, err := p.ParseWebhook(r); (err == nil) != ok {
			t.Errorf("data %s: err %v, want accepted %t", data, err, ok)
		}
	}
}

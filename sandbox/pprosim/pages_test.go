package pprosim_test

import (
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"example.com/storefront/internal/pagetest"
	"example.com/storefront/sandbox"
)

func TestPPROApprove(t *testing.T) {
	t.Parallel()
	e := newPPROEnv(t)
	created := e.createAgreement(agreementRequest(1200))
	id, chargeID := str(t, created, "id"), str(t, created, "initialPaymentChargeId")
	requestURL := str(t, created, "authenticationMethods.0.details.requestUrl")
	if requestURL != e.BaseURL+authenticatePath(id) {
		t.Fatalf("requestUrl %q, want %q", requestURL, e.BaseURL+authenticatePath(id))
	}

	page := e.Get(authenticatePath(id))
	wantStatus(t, page, http.StatusOK)
	wantBody(t, page, ribbon, testMerchant, "Ada Lovelace", "ada@example.com", "through PPRO", "amazon pay",
		"Pay 12.00 USD now and allow future payments",
		`name="decision" value="approve"`, `name="decision" value="decline"`, `name="decision" value="cancel"`,
		`action="/sandbox/ppro/authenticate/`+id+`"`)

	e.decide(id, "approve")

	a := e.getAgreement(id)
	wantFields(t, a, map[string]string{"status": "ACTIVE"})
	wantAbsent(t, a, "failure", "authenticationMethods")
	if got, want := statuses(t, a, "history", "status"), []string{"INITIALIZING", "AUTHENTICATION_PENDING", "ACTIVE"}; !slices.Equal(got, want) {
		t.Errorf("history %v, want %v", got, want)
	}
	c := e.getCharge(chargeID)
	wantFields(t, c, map[string]string{"status": "CAPTURED", "authorizations.0.status": "AUTHORIZED", "captures.0.status": "CAPTURED"})
	if at(c, "captures.0.amount") != float64(1200) {
		t.Errorf("captured %v, want 1200", at(c, "captures.0.amount"))
	}
	wantAbsent(t, c, "failure", "authenticationMethods")

	// The shopper cannot answer twice, and the page says so.
	again := e.Post(authenticatePath(id), url.Values{"decision": {"decline"}})
	wantStatus(t, again, http.StatusConflict)
	wantBody(t, again, ribbon, "Nothing is waiting for your approval", `href="`+strings.ReplaceAll(testReturnURL, "&", "&amp;")+`"`)
	wantStatus(t, e.Get(authenticatePath(id)), http.StatusConflict)
	if got := e.getAgreement(id); at(got, "status") != "ACTIVE" || len(list(t, got, "history")) != 3 {
		t.Errorf("a late decline changed the agreement: %v", got)
	}

	wantStatus(t, e.Get(authenticatePath("agr_nope")), http.StatusNotFound)
	wantStatus(t, e.Post(authenticatePath("agr_nope"), url.Values{"decision": {"approve"}}), http.StatusNotFound)
}

func TestPPRODeclineAndCancel(t *testing.T) {
	t.Parallel()
	e := newPPROEnv(t)
	for _, tc := range []struct {
		decision, code, message string
	}{
		{"decline", "AUTHENTICATION_FAILED", "declined on Amazon Pay"},
		{"cancel", "CANCELED_BY_CONSUMER", "canceled on Amazon Pay"},
	} {
		t.Run(tc.decision, func(t *testing.T) {
			created := e.createAgreement(agreementRequest(1200))
			id, chargeID := str(t, created, "id"), str(t, created, "initialPaymentChargeId")
			e.decide(id, tc.decision)

			a := e.getAgreement(id)
			wantFields(t, a, map[string]string{
				"status":              "FAILED",
				"failure.failureType": "PROVIDER_DECLINE",
				"failure.failureCode": tc.code,
			})
			if msg := str(t, a, "failure.failureMessage"); !strings.Contains(msg, tc.message) {
				t.Errorf("failureMessage %q lacks %q", msg, tc.message)
			}
			if got, want := statuses(t, a, "history", "status"), []string{"INITIALIZING", "AUTHENTICATION_PENDING", "FAILED"}; !slices.Equal(got, want) {
				t.Errorf("history %v, want %v", got, want)
			}
			wantAbsent(t, a, "authenticationMethods")

			c := e.getCharge(chargeID)
			wantFields(t, c, map[string]string{
				"status":                               "FAILED",
				"failure.failureCode":                  tc.code,
				"authorizations.0.status":              "FAILED",
				"authorizations.0.failure.failureCode": tc.code,
			})
			if len(list(t, c, "captures")) != 0 || len(list(t, c, "discards")) != 0 {
				t.Errorf("captures %v discards %v, want none", at(c, "captures"), at(c, "discards"))
			}

			late := e.Post(authenticatePath(id), url.Values{"decision": {"approve"}})
			wantStatus(t, late, http.StatusConflict)
			if at(e.getAgreement(id), "status") != "FAILED" {
				t.Error("a late approval changed a failed agreement")
			}
		})
	}
}

func TestPPROInitialChargeMagicAmounts(t *testing.T) {
	t.Parallel()
	e := newPPROEnv(t)
	for value, code := range map[int64]string{1201: "GENERIC_DECLINE", 1202: "INSUFFICIENT_FUNDS"} {
		t.Run(code, func(t *testing.T) {
			created := e.createAgreement(agreementRequest(value))
			id := str(t, created, "id")
			e.decide(id, "approve")
			// The agreement is ACTIVE even though its first charge failed.
			if got := e.getAgreement(id); at(got, "status") != "ACTIVE" {
				t.Errorf("agreement %v, want ACTIVE", at(got, "status"))
			}
			c := e.getCharge(str(t, created, "initialPaymentChargeId"))
			wantFields(t, c, map[string]string{
				"status":                  "FAILED",
				"failure.failureType":     "PROVIDER_DECLINE",
				"failure.failureCode":     code,
				"authorizations.0.status": "FAILED",
			})
			// It can be charged again.
			if ch := e.chargeAgreement(id, 1200); at(ch, "status") != "CAPTURED" {
				t.Errorf("retry charge %v, want CAPTURED", at(ch, "status"))
			}
		})
	}
}

func TestPPRORedirectMethodPost(t *testing.T) {
	t.Parallel()
	e := newPPROEnv(t, func(c *sandbox.Config) { c.PPRO.RedirectMethod = http.MethodPost })
	created := e.createAgreement(agreementRequest(1200))
	id := str(t, created, "id")
	wantFields(t, created, map[string]string{"authenticationMethods.0.details.requestMethod": "POST"})

	// The merchant's page posts the shopper here from another site.
	crossSite := http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://shop.test"}}
	page := e.Do(http.MethodPost, authenticatePath(id), url.Values{}, crossSite)
	wantStatus(t, page, http.StatusOK)
	wantBody(t, page, ribbon, "Pay 12.00 USD now and allow future payments", `name="decision" value="approve"`)

	// A decision from another site is refused, and changes nothing.
	refused := e.Do(http.MethodPost, authenticatePath(id), url.Values{"decision": {"approve"}}, crossSite)
	wantStatus(t, refused, http.StatusForbidden)
	wantBody(t, refused, ribbon, "sent from another site")
	if got := e.getAgreement(id); at(got, "status") != "AUTHENTICATION_PENDING" {
		t.Fatalf("a cross-site decision moved the agreement to %v", at(got, "status"))
	}

	// The page's own form works.
	res := e.Do(http.MethodPost, authenticatePath(id), url.Values{"decision": {"approve"}}, http.Header{"Sec-Fetch-Site": {"same-origin"}})
	wantStatus(t, res, http.StatusSeeOther)
	if res.Header.Get("Location") != testReturnURL {
		t.Errorf("Location %q, want %q", res.Header.Get("Location"), testReturnURL)
	}
	if got := e.getAgreement(id); at(got, "status") != "ACTIVE" {
		t.Errorf("agreement %v, want ACTIVE", at(got, "status"))
	}
}

func TestPPRORedirectMethodGetRefusesEntryPost(t *testing.T) {
	t.Parallel()
	e := newPPROEnv(t)
	id := str(t, e.createAgreement(agreementRequest(0)), "id")
	res := e.Do(http.MethodPost, authenticatePath(id), url.Values{}, http.Header{"Sec-Fetch-Site": {"cross-site"}})
	wantStatus(t, res, http.StatusBadRequest)
	res = e.Post(authenticatePath(id), url.Values{"decision": {"maybe"}})
	wantStatus(t, res, http.StatusBadRequest)
	if got := e.getAgreement(id); at(got, "status") != "AUTHENTICATION_PENDING" {
		t.Errorf("agreement %v, want AUTHENTICATION_PENDING", at(got, "status"))
	}
}

func TestPPROPageWithoutInitialCharge(t *testing.T) {
	t.Parallel()
	e := newPPROEnv(t)
	req := agreementRequest(0)
	req["amount"] = obj{"value": 1200, "currency": "USD"}
	req["amountType"] = "EXACT"
	req["frequency"] = obj{"type": "MONTHLY"}
	id := str(t, e.createAgreement(req), "id")
	page := e.Get(authenticatePath(id))
	wantStatus(t, page, http.StatusOK)
	wantBody(t, page, "Allow "+testMerchant+" to charge your Amazon Pay account", "12.00 USD every month", "until you cancel")
	if strings.Contains(page.Body, "now and allow") || strings.Contains(page.Body, "First payment") {
		t.Error("the page asks to pay now without an initial charge")
	}
}

// The approval page's summary, written from the agreement: the merchant,
// the first payment, the future payments, and the mode in one word.
func TestPPROApprovalSummary(t *testing.T) {
	t.Parallel()
	e := newPPROEnv(t)
	for _, tc := range []struct {
		name   string
		change func(obj)
		today  string // "" when the summary has no first payment
		future string
	}{
		{"the app's agreement", func(r obj) {
			r["amount"] = obj{"value": 1200, "currency": "USD"}
			r["amountType"] = "EXACT"
			r["frequency"] = obj{"type": "MONTHLY", "interval": 1}
		}, "12.00 USD today", "12.00 USD every month"},
		{"no amount stated", func(r obj) { delete(r, "initialPaymentCharge") }, "", "An amount agreed with " + testMerchant},
		{"no amount, a frequency", func(r obj) { r["frequency"] = obj{"type": "WEEKLY"} }, "12.00 USD today",
			"An amount agreed with " + testMerchant + " every week"},
		{"a maximum every 3 months until an end", func(r obj) {
			r["amount"] = obj{"value": 4500, "currency": "USD"}
			r["amountType"] = "MAX"
			r["frequency"] = obj{"type": "MONTHLY", "interval": 3}
			r["endDate"] = "2031-01-31T00:00:00.000Z"
		}, "12.00 USD today", "Up to 45.00 USD every 3 months until 2031-01-31"},
		{"varying amounts", func(r obj) {
			r["amount"] = obj{"value": 999, "currency": "USD"}
			r["amountType"] = "VARIABLE"
			r["frequency"] = obj{"type": "YEARLY"}
		}, "12.00 USD today", "A varying amount, for example 9.99 USD, every year"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := agreementRequest(1200)
			tc.change(req)
			id := str(t, e.createAgreement(req), "id")
			page := pagetest.NewBrowser(t).Get(e.Public + "/ppro/authenticate/" + id).Expect(http.StatusOK)
			want := map[string]string{"merchant": testMerchant, "summary-future": tc.future, "summary-mode": "Sandbox"}
			if tc.today != "" {
				want["summary-today"] = tc.today
			}
			for testID, w := range want {
				if got, _ := page.TestID(testID); got != w {
					t.Errorf("%s = %q, want %q", testID, got, w)
				}
			}
			if _, ok := page.TestID("summary-today"); ok && tc.today == "" {
				t.Error("the summary shows a first payment the agreement does not have")
			}
		})
	}
}

// A used or stale approval page says what became of the request and leads
// back to the shop, at the agreement's returnUrl; it never changes
// anything.
func TestPPROUsedApprovalPage(t *testing.T) {
	t.Parallel()
	e := newPPROEnv(t)
	returnLink := `href="` + strings.ReplaceAll(testReturnURL, "&", "&amp;") + `"`

	approved := e.activeAgreement()
	declined := e.declinedAgreement()
	canceled := str(t, e.createAgreement(agreementRequest(0)), "id")
	e.decide(canceled, "cancel")
	revoked := e.activeAgreement()
	wantStatus(t, e.Post(revocationPath(revoked), url.Values{"by": {"consumer"}}), http.StatusSeeOther)
	expired := str(t, e.createAgreement(agreementRequest(0)), "id")

	for _, tc := range []struct {
		name, id string
		status   int
		says     string
	}{
		{"approved", approved, http.StatusConflict, "You already allowed " + testMerchant},
		{"declined", declined, http.StatusConflict, "You declined this request"},
		{"canceled", canceled, http.StatusConflict, "You canceled this request"},
		{"revoked since", revoked, http.StatusConflict, "the permission has since ended"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.getAgreement(tc.id)
			for _, res := range []*pagetest.Page{e.Get(authenticatePath(tc.id)), e.Post(authenticatePath(tc.id), url.Values{"decision": {"approve"}})} {
				wantStatus(t, res, tc.status)
				wantBody(t, res, ribbon, "Nothing is waiting for your approval", tc.says, returnLink, "Return to "+testMerchant)
			}
			if after := e.getAgreement(tc.id); !reflect.DeepEqual(after, before) {
				t.Errorf("a used page changed the agreement:\n%v\nwas\n%v", after, before)
			}
		})
	}

	e.Clock.Advance(2 * time.Hour)
	res := e.Get(authenticatePath(expired))
	wantStatus(t, res, http.StatusGone)
	wantBody(t, res, "This request has expired", returnLink, "Return to "+testMerchant)
}

func TestPPROPagesEscapeAndLook(t *testing.T) {
	t.Parallel()
	e := newPPROEnv(t)
	const evil = `<script>alert(1)</script>`
	req := agreementRequest(0)
	req["consumer"].(obj)["name"] = evil
	req["description"] = "Plan " + evil
	id := str(t, e.createAgreement(req), "id")

	auth := e.Get(authenticatePath(id))
	wantStatus(t, auth, http.StatusOK)
	if strings.Contains(auth.Body, evil) {
		t.Errorf("the page contains the raw consumer name:\n%s", auth.Body)
	}
	wantBody(t, auth, "&lt;script&gt;alert(1)&lt;/script&gt;", "Plan &lt;script&gt;")

	pages := map[string]*pagetest.Page{
		"authenticate": auth,
		"index":        e.Get("/sandbox/"),
		"not found":    e.Get(authenticatePath("agr_nope")),
	}
	for name, res := range pages {
		t.Run(name, func(t *testing.T) {
			wantBody(t, res, ribbon, "<!doctype html>", "/sandbox/static/sandbox.css")
			if res.Header.Get("Content-Security-Policy") == "" || res.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("headers = %v", res.Header)
			}
		})
	}
	wantBody(t, pages["index"], "PPRO", e.Public+"/ppro/v1/", "GENERIC_DECLINE", "INSUFFICIENT_FUNDS", "1201", "1202",
		"PAYMENT_METHOD_TIMEOUT")
	wantStatus(t, pages["not found"], http.StatusNotFound)
}

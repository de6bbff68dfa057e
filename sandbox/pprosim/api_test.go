package pprosim_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"example.com/storefront/sandbox"
)

func TestPPROAuthentication(t *testing.T) {
	t.Parallel()
	e := newPPROEnv(t)
	id := str(t, e.createAgreement(agreementRequest(0)), "id")

	for _, tc := range []struct {
		name   string
		header http.Header
	}{
		{"no token", http.Header{"Authorization": nil}},
		{"wrong token", http.Header{"Authorization": {"Bearer key_sandbox_wrong"}}},
		{"not bearer", http.Header{"Authorization": {"Basic " + testPPROToken}}},
		{"another merchant", http.Header{"Merchant-Id": {"merch_SomeoneElse0000000001"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, r := range []apiResponse{
				e.pproCall(http.MethodGet, "/v1/payment-agreements/"+id, nil, tc.header),
				e.pproCall(http.MethodPost, "/v1/payment-agreements", agreementRequest(0), tc.header),
			} {
				wantAPIStatus(t, r, http.StatusUnauthorized)
				if got, want := string(r.raw), `{"message":"Unauthorized"}`; got != want {
					t.Errorf("body %s, want %s", got, want)
				}
			}
		})
	}

	r := e.pproCall(http.MethodGet, "/v1/payment-agreements/"+id, nil, http.Header{"Merchant-Id": nil})
	wantException(t, r, http.StatusBadRequest, "Merchant-Id")

	// A path PPRO does not have: 404, but only once authenticated.
	wantException(t, e.pproGet("/v1/payment-instruments/instr_x"), http.StatusNotFound, "/v1/payment-instruments/instr_x")
	wantAPIStatus(t, e.pproCall(http.MethodGet, "/v1/payment-instruments/instr_x", nil, http.Header{"Authorization": nil}), http.StatusUnauthorized)
}

func TestPPROOffByDefault(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, path := range []string{"/sandbox/ppro/v1/payment-agreements/agr_x", "/sandbox/ppro/authenticate/agr_x"} {
		res := e.Do(http.MethodGet, path, nil, pproHeaders())
		wantStatus(t, res, http.StatusNotFound)
	}
	wantBody(t, e.Get("/sandbox/"), "The PPRO part is off")
}

func TestPPROConfigValidation(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]sandbox.PPROConfig{
		"no merchant":        {APIToken: testPPROToken},
		"redirect method":    {APIToken: testPPROToken, MerchantID: testPPROMerchant, RedirectMethod: "PUT"},
		"webhook URL":        {APIToken: testPPROToken, MerchantID: testPPROMerchant, WebhookURL: "/webhooks/ppro", WebhookSecret: testPPROWebhookSecret},
		"no webhook secret":  {APIToken: testPPROToken, MerchantID: testPPROMerchant, WebhookURL: "http://127.0.0.1:1/webhooks/ppro"},
		"settings, no token": {MerchantID: testPPROMerchant},
		"secret, no token":   {WebhookSecret: testPPROWebhookSecret},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := sandbox.New(context.Background(), sandbox.Config{
				DBPath:       filepath.Join(t.TempDir(), "sandbox.db"),
				PublicURL:    "http://127.0.0.1:1/sandbox",
				MerchantName: testMerchant,
				Stripe:       sandbox.StripeConfig{SecretKey: testKey},
				PPRO:         cfg,
			})
			if err == nil || !strings.Contains(err.Error(), "PPRO.") {
				t.Errorf("New: %v, want an error naming the PPRO setting", err)
			}
		})
	}
}

func TestPPROCreateAndGetAgreement(t *testing.T) {
	t.Parallel()
	e := newPPROEnv(t)
	req := agreementRequest(0)
	req["amount"] = obj{"value": 1200, "currency": "USD"}
	req["amountType"] = "MAX"
	req["frequency"] = obj{"type": "MONTHLY"}
	req["labels"] = obj{"plan": "coffee-monthly"}
	req["paymentMedium"] = "ECOMMERCE"
	req["colour"] = "blue" // unknown fields are ignored
	req["consumer"].(obj)["locale"] = "en-US"

	created := e.createAgreement(req)
	id := str(t, created, "id")
	if !agreementIDPattern.MatchString(id) {
		t.Errorf("id %q does not match %v", id, agreementIDPattern)
	}
	if s := str(t, created, "instrumentId"); !instrumentPattern.MatchString(s) {
		t.Errorf("instrumentId %q does not match %v", s, instrumentPattern)
	}
	wantFields(t, created, map[string]string{
		"status":                            "AUTHENTICATION_PENDING",
		"paymentMethod":                     "AMAZON_PAY",
		"merchantPaymentAgreementReference": "mandate-42",
		"description":                       "Acme Coffee Club, monthly",
		"consumer.name":                     "Ada Lovelace",
		"consumer.email":                    "ada@example.com",
		"consumer.country":                  "US",
		"consumer.locale":                   "en-US",
		"amount.currency":                   "USD",
		"amountType":                        "MAX",
		"frequency.type":                    "MONTHLY",
		"labels.plan":                       "coffee-monthly",
		"authenticationMethods.0.type":      "REDIRECT",
		"authenticationMethods.0.details.requestUrl":    e.Public + "/ppro/authenticate/" + id,
		"authenticationMethods.0.details.requestMethod": "GET",
	})
	if at(created, "amount.value") != float64(1200) || at(created, "frequency.interval") != float64(1) {
		t.Errorf("amount %v, frequency %v; want 1200 and interval 1 (the default)", at(created, "amount"), at(created, "frequency"))
	}
	if n := len(list(t, created, "authenticationMethods")); n != 1 {
		t.Errorf("%d authentication methods, want 1", n)
	}
	if got, want := statuses(t, created, "history", "status"), []string{"INITIALIZING", "AUTHENTICATION_PENDING"}; !slices.Equal(got, want) {
		t.Errorf("history %v, want %v", got, want)
	}
	for i := range list(t, created, "history") {
		if hid := str(t, created, "history."+strconv.Itoa(i)+".id"); !historyIDPattern.MatchString(hid) {
			t.Errorf("history id %q does not match %v", hid, historyIDPattern)
		}
		if ts := str(t, created, "history."+strconv.Itoa(i)+".createdAt"); !pproTimePattern.MatchString(ts) {
			t.Errorf("history createdAt %q", ts)
		}
	}
	for _, f := range []string{"startDate", "createdAt", "updatedAt"} {
		if ts := str(t, created, f); !pproTimePattern.MatchString(ts) {
			t.Errorf("%s = %q, want ISO-8601 UTC with milliseconds", f, ts)
		}
	}
	wantAbsent(t, created, "failure", "revocations", "initialPaymentChargeId", "endDate", "colour", "webhooksUrl")
	wantNoNulls(t, created, "agreement")

	if got := e.getAgreement(id); !reflect.DeepEqual(got, created) {
		t.Errorf("GET differs from the create answer:\n got %v\nwant %v", got, created)
	}
	wantException(t, e.pproGet("/v1/payment-agreements/agr_nope"), http.StatusNotFound, "agr_nope")
}

// What the app sends for a mandate: frequency, amount with amountType
// EXACT, the shopper's client, an https webhooksUrl, and autoCapture on
// the first payment. Each is validated, stored and echoed where PPRO's
// AgreementResponse has it (webhooksUrl is not in it), and the charges
// repeat the agreement's consumer, client included.
func TestPPROAgreementRequestAsTheAppSendsIt(t *testing.T) {
	t.Parallel()
	e := newPPROEnv(t)
	client := obj{"ip": "203.0.113.7", "userAgent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"}
	req := agreementRequest(1200)
	req["frequency"] = obj{"type": "MONTHLY", "interval": 1}
	req["amount"] = obj{"value": 1200, "currency": "USD"}
	req["amountType"] = "EXACT"
	req["consumer"].(obj)["client"] = client
	req["webhooksUrl"] = "https://shop.example/webhooks/ppro"
	req["initialPaymentCharge"].(obj)["autoCapture"] = true
	req["initialPaymentCharge"].(obj)["merchantPaymentChargeReference"] = "md_1-first"

	created := e.createAgreement(req)
	wantFields(t, created, map[string]string{
		"frequency.type":            "MONTHLY",
		"amount.currency":           "USD",
		"amountType":                "EXACT",
		"consumer.client.ip":        "203.0.113.7",
		"consumer.client.userAgent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
	})
	if number(t, created, "frequency.interval") != 1 || number(t, created, "amount.value") != 1200 {
		t.Errorf("frequency %v amount %v", at(created, "frequency"), at(created, "amount"))
	}
	wantAbsent(t, created, "webhooksUrl")
	id := str(t, created, "id")
	if got := e.getAgreement(id); !reflect.DeepEqual(got, created) {
		t.Errorf("GET differs from the create answer:\n got %v\nwant %v", got, created)
	}
	e.decide(id, "approve")
	c := e.getCharge(str(t, created, "initialPaymentChargeId"))
	wantFields(t, c, map[string]string{"status": "CAPTURED", "consumer.client.ip": "203.0.113.7"})

	// A charge may name another client (ConsumerUpdate), which is checked too.
	ch := e.chargeWith(id, 1200, obj{"consumer": obj{"client": obj{"ip": "2001:db8::7"}}, "autoCapture": true})
	wantFields(t, ch, map[string]string{"consumer.client.ip": "2001:db8::7", "consumer.name": "Ada Lovelace"})
	wantException(t, e.pproPost("/v1/payment-agreements/"+id+"/payment-charges",
		obj{"amount": obj{"value": 1200, "currency": "USD"}, "consumer": obj{"client": obj{"ip": "localhost"}}}, nil),
		http.StatusBadRequest, "consumer.client.ip", "localhost")

	for _, tc := range []struct {
		name    string
		change  func(obj)
		wantMsg []string
	}{
		{"client ip", func(r obj) { r["consumer"].(obj)["client"] = obj{"ip": "203.0.113"} }, []string{"consumer.client.ip", "IPv4 or IPv6"}},
		{"long userAgent", func(r obj) { r["consumer"].(obj)["client"] = obj{"userAgent": strings.Repeat("u", 501)} }, []string{"userAgent", "500"}},
		{"amountType without amount", func(r obj) { delete(r, "amount") }, []string{"amountType EXACT needs amount"}},
		{"interval 0", func(r obj) { r["frequency"] = obj{"type": "MONTHLY", "interval": 0} }, []string{"frequency.interval 0"}},
		{"interval 1001", func(r obj) { r["frequency"] = obj{"type": "MONTHLY", "interval": 1001} }, []string{"frequency.interval 1001"}},
		{"frequency type", func(r obj) { r["frequency"] = obj{"type": "HOURLY"} }, []string{"frequency.type", "HOURLY"}},
		{"webhooksUrl http", func(r obj) { r["webhooksUrl"] = "http://shop.example/webhooks/ppro" }, []string{"webhooksUrl", "https"}},
		{"autoCapture not a boolean", func(r obj) { r["initialPaymentCharge"].(obj)["autoCapture"] = "yes" }, []string{"autoCapture", "boolean"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := agreementRequest(1200)
			bad["amount"] = obj{"value": 1200, "currency": "USD"}
			bad["amountType"] = "EXACT"
			tc.change(bad)
			wantException(t, e.pproPost("/v1/payment-agreements", bad, nil), http.StatusBadRequest, tc.wantMsg...)
		})
	}
}

func TestPPROCreateWithInitialCharge(t *testing.T) {
	t.Parallel()
	e := newPPROEnv(t)
	created := e.createAgreement(agreementRequest(1200))
	id := str(t, created, "id")
	chargeID := str(t, created, "initialPaymentChargeId")
	if !chargeIDPattern.MatchString(chargeID) {
		t.Fatalf("initialPaymentChargeId %q does not match %v", chargeID, chargeIDPattern)
	}

	c := e.getCharge(chargeID)
	wantFields(t, c, map[string]string{
		"id":                           chargeID,
		"agreementId":                  id,
		"status":                       "AUTHENTICATION_PENDING",
		"paymentMethod":                "AMAZON_PAY",
		"paymentMedium":                "ECOMMERCE",
		"initiator":                    "CONSUMER",
		"instrumentId":                 str(t, created, "instrumentId"),
		"currency":                     "USD",
		"country":                      "US",
		"consumer.name":                "Ada Lovelace",
		"authorizations.0.status":      "AUTHENTICATION_PENDING",
		"authenticationMethods.0.type": "REDIRECT",
		"authenticationMethods.0.details.requestUrl": e.Public + "/ppro/authenticate/" + id,
	})
	if s := str(t, c, "authorizations.0.id"); !authzIDPattern.MatchString(s) {
		t.Errorf("authorization id %q does not match %v", s, authzIDPattern)
	}
	if at(c, "authorizations.0.amount") != float64(1200) {
		t.Errorf("authorization amount %v, want 1200", at(c, "authorizations.0.amount"))
	}
	for _, arr := range []string{"captures", "refunds", "voids", "discards"} {
		if n := len(list(t, c, arr)); n != 0 {
			t.Errorf("%s has %d entries, want none", arr, n)
		}
	}
	wantAbsent(t, c, "failure")
	wantNoNulls(t, c, "charge")
	wantException(t, e.pproGet("/v1/payment-charges/charge_nope"), http.StatusNotFound, "charge_nope")
}

func TestPPROCreateAgreementValidation(t *testing.T) {
	t.Parallel()
	e := newPPROEnv(t)
	// labels makes n labels with keys of keyLen (at least 3) characters.
	labels := func(n, keyLen, valueLen int) obj {
		m := obj{}
		for i := range n {
			m[fmt.Sprintf("%03d", i)+strings.Repeat("k", keyLen-3)] = strings.Repeat("v", valueLen)
		}
		return m
	}
	for _, tc := range []struct {
		name    string
		change  func(obj)
		wantMsg []string
	}{
		{"no paymentMethod", func(r obj) { delete(r, "paymentMethod") }, []string{"paymentMethod is required"}},
		{"another paymentMethod", func(r obj) { r["paymentMethod"] = "IDEAL" }, []string{"IDEAL", "simulates only Amazon Pay"}},
		{"no consumer", func(r obj) { delete(r, "consumer") }, []string{"consumer is required"}},
		{"no country", func(r obj) { delete(r["consumer"].(obj), "country") }, []string{"consumer.country is required"}},
		{"no name", func(r obj) { delete(r["consumer"].(obj), "name") }, []string{"consumer.name is required"}},
		{"country DE", func(r obj) { r["consumer"].(obj)["country"] = "DE" }, []string{`"DE"`, "US only"}},
		{"country lower case", func(r obj) { r["consumer"].(obj)["country"] = "us" }, []string{"alpha-2"}},
		{"bad email", func(r obj) { r["consumer"].(obj)["email"] = "ada at example" }, []string{"consumer.email"}},
		{"bad locale", func(r obj) { r["consumer"].(obj)["locale"] = "en_US" }, []string{"consumer.locale"}},
		{"no authenticationSettings", func(r obj) { delete(r, "authenticationSettings") }, []string{"authenticationSettings is required", "REDIRECT"}},
		{"SCAN_CODE", func(r obj) {
			r["authenticationSettings"] = []any{obj{"type": "SCAN_CODE", "settings": obj{}}}
		}, []string{"SCAN_CODE", "REDIRECT only"}},
		{"no returnUrl", func(r obj) {
			r["authenticationSettings"] = []any{obj{"type": "REDIRECT", "settings": obj{}}}
		}, []string{"settings.returnUrl is required"}},
		{"relative returnUrl", func(r obj) {
			r["authenticationSettings"] = []any{obj{"type": "REDIRECT", "settings": obj{"returnUrl": "/return"}}}
		}, []string{"absolute http(s) URL"}},
		{"ftp returnUrl", func(r obj) {
			r["authenticationSettings"] = []any{obj{"type": "REDIRECT", "settings": obj{"returnUrl": "ftp://shop.test/x"}}}
		}, []string{"absolute http(s) URL"}},
		{"initial charge in EUR", func(r obj) {
			r["initialPaymentCharge"] = obj{"amount": obj{"value": 1200, "currency": "EUR"}}
		}, []string{"initialPaymentCharge.amount.currency", "USD only"}},
		{"initial charge too small", func(r obj) {
			r["initialPaymentCharge"] = obj{"amount": obj{"value": 49, "currency": "USD"}}
		}, []string{"initialPaymentCharge.amount.value 49", "0.50 to 20,000.00"}},
		{"initial charge too large", func(r obj) {
			r["initialPaymentCharge"] = obj{"amount": obj{"value": 2_000_001, "currency": "USD"}}
		}, []string{"initialPaymentCharge.amount.value 2000001"}},
		{"initial charge without amount", func(r obj) { r["initialPaymentCharge"] = obj{} }, []string{"initialPaymentCharge.amount is required"}},
		{"amount in EUR", func(r obj) { r["amount"] = obj{"value": 1200, "currency": "EUR"} }, []string{"amount.currency", "USD only"}},
		{"amount too small", func(r obj) { r["amount"] = obj{"value": 10, "currency": "USD"} }, []string{"amount.value 10"}},
		{"amount without value", func(r obj) { r["amount"] = obj{"currency": "USD"} }, []string{"amount.value is required"}},
		{"http webhooksUrl", func(r obj) { r["webhooksUrl"] = "http://shop.test/hooks" }, []string{"webhooksUrl", "https"}},
		{"long description", func(r obj) { r["description"] = strings.Repeat("é", 101) }, []string{"description is 101 characters", "at most 100"}},
		{"too many labels", func(r obj) { r["labels"] = labels(51, 3, 1) }, []string{"labels has 51 entries"}},
		{"long label key", func(r obj) { r["labels"] = labels(1, 51, 1) }, []string{"longer than 50"}},
		{"long label value", func(r obj) { r["labels"] = labels(1, 3, 201) }, []string{"longer than 200"}},
		{"amountType", func(r obj) { r["amountType"] = "SOMETIMES" }, []string{"amountType", "MAX, EXACT, VARIABLE"}},
		{"frequency without type", func(r obj) { r["frequency"] = obj{"interval": 2} }, []string{"frequency.type is required"}},
		{"instrumentId", func(r obj) { r["instrumentId"] = "instr_x" }, []string{"instrumentId"}},
		{"wrong type", func(r obj) { r["consumer"] = "Ada" }, []string{"consumer", "object"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := agreementRequest(0)
			tc.change(req)
			wantException(t, e.pproPost("/v1/payment-agreements", req, nil), http.StatusBadRequest, tc.wantMsg...)
		})
	}

	t.Run("malformed JSON", func(t *testing.T) {
		wantException(t, e.pproPost("/v1/payment-agreements", `{"paymentMethod": "AMAZON_PAY",`, nil), http.StatusBadRequest, "Malformed JSON")
	})
	t.Run("no body", func(t *testing.T) {
		wantException(t, e.pproPost("/v1/payment-agreements", " ", nil), http.StatusBadRequest, "body is missing")
	})
	t.Run("not JSON", func(t *testing.T) {
		r := e.pproPost("/v1/payment-agreements", "paymentMethod=AMAZON_PAY", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
		wantException(t, r, http.StatusUnsupportedMediaType, "application/json")
	})

	// The limits themselves are accepted.
	for _, value := range []int64{50, 2_000_000} {
		req := agreementRequest(value)
		req["description"] = strings.Repeat("d", 100)
		req["labels"] = labels(50, 50, 200)
		e.createAgreement(req)
	}
}

func TestPPROCharges(t *testing.T) {
	t.Parallel()
	e := newPPROEnv(t)
	active := e.activeAgreement()

	ch := e.chargeAgreement(active, 1200)
	id := str(t, ch, "id")
	if !chargeIDPattern.MatchString(id) {
		t.Errorf("charge id %q does not match %v", id, chargeIDPattern)
	}
	wantFields(t, ch, map[string]string{
		"status":                  "CAPTURED",
		"paymentMethod":           "AMAZON_PAY",
		"currency":                "USD",
		"country":                 "US",
		"consumer.name":           "Ada Lovelace",
		"authorizations.0.status": "AUTHORIZED",
		"captures.0.status":       "CAPTURED",
	})
	if s := str(t, ch, "authorizations.0.id"); !authzIDPattern.MatchString(s) {
		t.Errorf("authorization id %q", s)
	}
	if s := str(t, ch, "captures.0.id"); !captureIDPattern.MatchString(s) {
		t.Errorf("capture id %q", s)
	}
	if at(ch, "captures.0.amount") != float64(1200) || at(ch, "authorizations.0.amount") != float64(1200) {
		t.Errorf("amounts: authorization %v capture %v, want 1200", at(ch, "authorizations.0.amount"), at(ch, "captures.0.amount"))
	}
	// The create answer is an AgreementChargeResponse, without the fields
	// only GET /v1/payment-charges/{id} has.
	wantAbsent(t, ch, "failure", "agreementId", "initiator", "paymentMedium", "discards", "authenticationMethods")
	wantNoNulls(t, ch, "charge")

	got := e.getCharge(id)
	wantFields(t, got, map[string]string{"id": id, "agreementId": active, "initiator": "MERCHANT", "paymentMedium": "ECOMMERCE", "status": "CAPTURED"})
	if n := len(list(t, got, "discards")); n != 0 {
		t.Errorf("discards %v", at(got, "discards"))
	}

	// Declined charges are answered with HTTP 200 and a FAILED charge.
	for _, tc := range []struct {
		name, agreement string
		value           int64
		failureType     string
		failureCode     string
	}{
		{"magic 01", active, 1201, "PROVIDER_DECLINE", "GENERIC_DECLINE"},
		{"magic 02", active, 1202, "PROVIDER_DECLINE", "INSUFFICIENT_FUNDS"},
		{"pending agreement", str(t, e.createAgreement(agreementRequest(0)), "id"), 1200, "INTERNAL_DECLINE", "AGREEMENT_INACTIVE"},
		{"failed agreement", e.declinedAgreement(), 1200, "INTERNAL_DECLINE", "AGREEMENT_INACTIVE"},
		{"revoked agreement", e.revokedAgreement(), 1200, "INTERNAL_DECLINE", "AGREEMENT_REVOKED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch := e.chargeAgreement(tc.agreement, tc.value)
			wantFields(t, ch, map[string]string{
				"status":                               "FAILED",
				"failure.failureType":                  tc.failureType,
				"failure.failureCode":                  tc.failureCode,
				"authorizations.0.status":              "FAILED",
				"authorizations.0.failure.failureCode": tc.failureCode,
			})
			if n := len(list(t, ch, "captures")); n != 0 {
				t.Errorf("a failed charge has %d captures", n)
			}
			if msg, _ := at(ch, "failure.failureMessage").(string); msg == "" {
				t.Error("failure has no failureMessage")
			}
			if got := e.getCharge(str(t, ch, "id")); at(got, "status") != "FAILED" || at(got, "agreementId") != tc.agreement {
				t.Errorf("GET: status %v agreementId %v", at(got, "status"), at(got, "agreementId"))
			}
		})
	}

	for _, tc := range []struct {
		name    string
		body    any
		wantMsg string
	}{
		{"no amount", obj{}, "amount is required"},
		{"EUR", obj{"amount": obj{"value": 1200, "currency": "EUR"}}, "USD only"},
		{"too small", obj{"amount": obj{"value": 49, "currency": "USD"}}, "amount.value 49"},
		{"initiator", obj{"amount": obj{"value": 1200, "currency": "USD"}, "initiator": "BOT"}, "initiator"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantException(t, e.pproPost("/v1/payment-agreements/"+active+"/payment-charges", tc.body, nil), http.StatusBadRequest, tc.wantMsg)
		})
	}
	wantException(t, e.pproPost("/v1/payment-agreements/agr_nope/payment-charges", obj{"amount": obj{"value": 1200, "currency": "USD"}}, nil),
		http.StatusNotFound, "agr_nope")
}

// declinedAgreement creates an agreement the shopper declines.
func (e *env) declinedAgreement() string {
	e.t.Helper()
	id := str(e.t, e.createAgreement(agreementRequest(0)), "id")
	e.decide(id, "decline")
	return id
}

// revokedAgreement creates an active agreement and revokes it.
func (e *env) revokedAgreement() string {
	e.t.Helper()
	id := e.activeAgreement()
	wantAPIStatus(e.t, e.pproPost("/v1/payment-agreements/"+id+"/revocations", obj{}, nil), http.StatusOK)
	return id
}

func TestPPRORevocation(t *testing.T) {
	t.Parallel()
	e := newPPROEnv(t)
	id := e.activeAgreement()
	path := "/v1/payment-agreements/" + id + "/revocations"

	r := e.pproPost(path, obj{}, nil)
	wantAPIStatus(t, r, http.StatusOK)
	if got, want := string(r.raw), `{"status":"REVOKED"}`; got != want {
		t.Errorf("revocation answer %s, want %s", got, want)
	}
	a := e.getAgreement(id)
	wantFields(t, a, map[string]string{"status": "REVOKED_BY_MERCHANT", "revocations.0.revocationStatus": "REVOKED_BY_MERCHANT"})
	if s := str(t, a, "revocations.0.id"); !revocationPattern.MatchString(s) {
		t.Errorf("revocation id %q does not match %v", s, revocationPattern)
	}
	if got, want := statuses(t, a, "history", "status"), []string{"INITIALIZING", "AUTHENTICATION_PENDING", "ACTIVE", "REVOKED_BY_MERCHANT"}; !slices.Equal(got, want) {
		t.Errorf("history %v, want %v", got, want)
	}
	wantAbsent(t, a, "failure", "authenticationMethods")

	// Revoking again is refused in the answer, not with an HTTP error.
	again := e.pproPost(path, obj{}, nil)
	wantAPIStatus(t, again, http.StatusOK)
	wantFields(t, again.Body, map[string]string{"status": "FAILED", "failure.failureType": "INTERNAL_DECLINE", "failure.failureCode": "AGREEMENT_REVOKED"})
	a = e.getAgreement(id)
	if got, want := statuses(t, a, "revocations", "revocationStatus"), []string{"REVOKED_BY_MERCHANT", "REVOCATION_FAILED"}; !slices.Equal(got, want) {
		t.Errorf("revocations %v, want %v", got, want)
	}
	if at(a, "status") != "REVOKED_BY_MERCHANT" || len(list(t, a, "history")) != 4 {
		t.Errorf("a refused revocation changed the agreement: %v, %d history entries", at(a, "status"), len(list(t, a, "history")))
	}

	pending := str(t, e.createAgreement(agreementRequest(0)), "id")
	r = e.pproPost("/v1/payment-agreements/"+pending+"/revocations", obj{}, nil)
	wantAPIStatus(t, r, http.StatusOK)
	wantFields(t, r.Body, map[string]string{"status": "FAILED", "failure.failureCode": "AGREEMENT_INACTIVE"})
	if at(e.getAgreement(pending), "status") != "AUTHENTICATION_PENDING" {
		t.Error("a refused revocation changed a pending agreement")
	}

	wantException(t, e.pproPost("/v1/payment-agreements/agr_nope/revocations", obj{}, nil), http.StatusNotFound, "agr_nope")
	wantException(t, e.pproPost(path, "", nil), http.StatusBadRequest, "body is missing")
}

func TestPPROIdempotency(t *testing.T) {
	t.Parallel()
	e := newPPROEnv(t)
	key := http.Header{"Request-Idempotency-Key": {"6f1c2b9e-4a7d-4c1e-9f3b-1d2e3f4a5b6c"}}

	first := e.pproPost("/v1/payment-agreements", agreementRequest(1200), key)
	wantAPIStatus(t, first, http.StatusOK)
	if h := first.Header.Get("Request-Idempotency"); h != "" {
		t.Errorf("first answer: Request-Idempotency = %q", h)
	}
	// The same JSON value, written differently, is the same request.
	same := `{"consumer":{"country":"US","email":"ada@example.com","name":"Ada Lovelace"},` +
		`"initialPaymentCharge":{"amount":{"currency":"USD","value":1200}},` +
		`"authenticationSettings":[{"settings":{"returnUrl":"` + testReturnURL + `"},"type":"REDIRECT"}],` +
		`"description":"Acme Coffee Club, monthly","merchantPaymentAgreementReference":"mandate-42","paymentMethod":"AMAZON_PAY"}`
	replay := e.pproPost("/v1/payment-agreements", "  "+same+"\n", key)
	wantAPIStatus(t, replay, http.StatusOK)
	if got := replay.Header.Get("Request-Idempotency"); got != "true" {
		t.Errorf("replay: Request-Idempotency = %q, want true", got)
	}
	if string(replay.raw) != string(first.raw) {
		t.Errorf("replay answered\n%s\nwant the first answer\n%s", replay.raw, first.raw)
	}

	other := agreementRequest(1300)
	wantException(t, e.pproPost("/v1/payment-agreements", other, key), http.StatusConflict, "Request-Idempotency-Key")

	// A first answer that was a 4xx is not stored: the key can be used again.
	key2 := http.Header{"Request-Idempotency-Key": {"key-2"}}
	bad := agreementRequest(0)
	bad["paymentMethod"] = "IDEAL"
	wantAPIStatus(t, e.pproPost("/v1/payment-agreements", bad, key2), http.StatusBadRequest)
	ok := e.pproPost("/v1/payment-agreements", agreementRequest(0), key2)
	wantAPIStatus(t, ok, http.StatusOK)
	if h := ok.Header.Get("Request-Idempotency"); h != "" {
		t.Errorf("after a refused first request: Request-Idempotency = %q", h)
	}

	// Charges: the same key charges once.
	active := e.activeAgreement()
	chargeKey := http.Header{"Request-Idempotency-Key": {"charge-1"}}
	body := obj{"amount": obj{"value": 1200, "currency": "USD"}}
	c1 := e.pproPost("/v1/payment-agreements/"+active+"/payment-charges", body, chargeKey)
	c2 := e.pproPost("/v1/payment-agreements/"+active+"/payment-charges", body, chargeKey)
	wantAPIStatus(t, c2, http.StatusOK)
	if at(c1.Body, "id") != at(c2.Body, "id") || c2.Header.Get("Request-Idempotency") != "true" {
		t.Errorf("charge replay: %v then %v (Request-Idempotency %q)", at(c1.Body, "id"), at(c2.Body, "id"), c2.Header.Get("Request-Idempotency"))
	}
	// The same key on another path is another request.
	other2 := e.activeAgreement()
	wantAPIStatus(t, e.pproPost("/v1/payment-agreements/"+other2+"/payment-charges", body, chargeKey), http.StatusConflict)

	// Keys are kept 24 hours.
	e.Clock.Advance(24*time.Hour + time.Second)
	fresh := e.pproPost("/v1/payment-agreements", other, key)
	wantAPIStatus(t, fresh, http.StatusOK)
	if fresh.Header.Get("Request-Idempotency") != "" || at(fresh.Body, "id") == at(first.Body, "id") {
		t.Errorf("a key older than 24 h replayed %v", at(fresh.Body, "id"))
	}
}

func TestPPROTimeout(t *testing.T) {
	t.Parallel()
	e := newPPROEnv(t)
	created := e.createAgreement(agreementRequest(1200))
	id, chargeID := str(t, created, "id"), str(t, created, "initialPaymentChargeId")
	createdAt, err := time.Parse(time.RFC3339, str(t, created, "createdAt"))
	if err != nil {
		t.Fatal(err)
	}

	e.Clock.Advance(59 * time.Minute)
	if got := e.getAgreement(id); at(got, "status") != "AUTHENTICATION_PENDING" {
		t.Fatalf("after 59 minutes: %v", at(got, "status"))
	}
	wantStatus(t, e.Get(authenticatePath(id)), http.StatusOK)

	// Read the charge first: it times out the agreement too.
	e.Clock.Advance(2 * time.Minute)
	c := e.getCharge(chargeID)
	wantFields(t, c, map[string]string{
		"status":                  "DISCARDED",
		"discards.0.status":       "DISCARDED",
		"discards.0.type":         "AUTHENTICATION_TIMEOUT",
		"authorizations.0.status": "FAILED",
		"failure.failureCode":     "PAYMENT_METHOD_TIMEOUT",
	})
	wantAbsent(t, c, "authenticationMethods")

	a := e.getAgreement(id)
	wantFields(t, a, map[string]string{"status": "FAILED", "failure.failureCode": "PAYMENT_METHOD_TIMEOUT", "failure.failureType": "INTERNAL_DECLINE"})
	wantAbsent(t, a, "authenticationMethods")
	history := list(t, a, "history")
	if got, want := statuses(t, a, "history", "status"), []string{"INITIALIZING", "AUTHENTICATION_PENDING", "FAILED"}; !slices.Equal(got, want) {
		t.Fatalf("history %v, want %v", got, want)
	}
	if got, want := at(history[2], "createdAt"), createdAt.Add(time.Hour).UTC().Format("2006-01-02T15:04:05.000Z"); got != want {
		t.Errorf("timed out at %v, want %v (one hour after creation)", got, want)
	}
	if got := e.getAgreement(id); len(list(t, got, "history")) != 3 {
		t.Error("reading again added history")
	}

	page := e.Get(authenticatePath(id))
	wantStatus(t, page, http.StatusGone)
	wantBody(t, page, ribbon, "expired")
	wantStatus(t, e.Post(authenticatePath(id), url.Values{"decision": {"approve"}}), http.StatusGone)
	if at(e.getAgreement(id), "status") != "FAILED" {
		t.Error("a late approval changed a timed-out agreement")
	}
}

func TestPPROStatePersistsAcrossReopen(t *testing.T) {
	t.Parallel()
	e := newPPROEnv(t)
	e.echoReferences() // kept with the charge, so it outlives the setting
	id := e.activeAgreement()
	key := http.Header{"Request-Idempotency-Key": {"persisted"}}
	body := obj{"amount": obj{"value": 1500, "currency": "USD"}, "merchantPaymentChargeReference": "charge-7"}
	first := e.pproPost("/v1/payment-agreements/"+id+"/payment-charges", body, key)
	wantAPIStatus(t, first, http.StatusOK)
	before := e.getAgreement(id)

	e.Reopen()

	if after := e.getAgreement(id); !reflect.DeepEqual(after, before) {
		t.Errorf("agreement after reopen:\n%v\nwant\n%v", after, before)
	}
	c := e.getCharge(str(t, first.Body, "id"))
	wantFields(t, c, map[string]string{"status": "CAPTURED", "agreementId": id, "authorizations.0.merchantPaymentChargeReference": "charge-7"})
	replay := e.pproPost("/v1/payment-agreements/"+id+"/payment-charges", body, key)
	if replay.Header.Get("Request-Idempotency") != "true" || string(replay.raw) != string(first.raw) {
		t.Errorf("replay after reopen: %s (Request-Idempotency %q)", replay.raw, replay.Header.Get("Request-Idempotency"))
	}
}

func TestPPROObjectsBelongToTheirMerchant(t *testing.T) {
	t.Parallel()
	e := newPPROEnv(t)
	key := http.Header{"Request-Idempotency-Key": {"merchant-scoped"}}
	first := e.pproPost("/v1/payment-agreements", agreementRequest(1200), key)
	wantAPIStatus(t, first, http.StatusOK)
	id, chargeID := str(t, first.Body, "id"), str(t, first.Body, "initialPaymentChargeId")

	// The same database, now configured for another merchant.
	const other = "merch_AnotherMerchant00000001"
	e.Cfg.PPRO.MerchantID = other
	e.Reopen()
	as := http.Header{"Merchant-Id": {other}}
	wantException(t, e.pproCall(http.MethodGet, "/v1/payment-agreements/"+id, nil, as), http.StatusNotFound, id)
	wantException(t, e.pproCall(http.MethodGet, "/v1/payment-charges/"+chargeID, nil, as), http.StatusNotFound, chargeID)
	body := obj{"amount": obj{"value": 1200, "currency": "USD"}}
	wantException(t, e.pproCall(http.MethodPost, "/v1/payment-agreements/"+id+"/payment-charges", body, as), http.StatusNotFound, id)
	wantException(t, e.pproCall(http.MethodPost, "/v1/payment-agreements/"+id+"/revocations", obj{}, as), http.StatusNotFound, id)
	wantException(t, e.pproCall(http.MethodGet, "/v1/payment-charges/"+chargeID+"/refunds", nil, as), http.StatusNotFound, chargeID)
	wantException(t, e.pproCall(http.MethodPost, "/v1/payment-charges/"+chargeID+"/refunds", obj{"amount": 100}, as), http.StatusBadRequest, chargeID)
	search := e.pproCall(http.MethodGet, "/v1/payment-charges?agreementId="+id, nil, as)
	wantAPIStatus(t, search, http.StatusOK)
	if n := len(list(t, search.Body, "data")); n != 0 {
		t.Errorf("another merchant's search found %d charges", n)
	}

	// Idempotency keys are per merchant: the same key is a new request.
	as["Request-Idempotency-Key"] = key["Request-Idempotency-Key"]
	again := e.pproCall(http.MethodPost, "/v1/payment-agreements", agreementRequest(1200), as)
	wantAPIStatus(t, again, http.StatusOK)
	if again.Header.Get("Request-Idempotency") != "" || at(again.Body, "id") == id {
		t.Errorf("another merchant's key replayed %v", at(again.Body, "id"))
	}
}

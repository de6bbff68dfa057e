package pprosim_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"example.com/storefront/sandbox"
	"example.com/storefront/sandbox/pprosim"
)

// Test helpers for the PPRO part. They speak plain HTTP and JSON, as the
// app's client does, and inspect answers as generic JSON so that a test
// sees exactly which fields are there.

const (
	testPPROToken         = "key_sandbox_0123456789abcdefghijk"
	testPPROMerchant      = "merch_SandboxMerchant000001"
	testPPROWebhookSecret = "ppro_whsec_sandbox_0123456789abcdef"
	testReturnURL         = "https://shop.test/return?mandate=42&step=ppro"
)

var (
	agreementIDPattern = regexp.MustCompile(`^agr_[A-Za-z0-9]{21}$`)
	instrumentPattern  = regexp.MustCompile(`^instr_[A-Za-z0-9]{21}$`)
	historyIDPattern   = regexp.MustCompile(`^ahist_[A-Za-z0-9]{21}$`)
	chargeIDPattern    = regexp.MustCompile(`^charge_[A-Za-z0-9]{21}$`)
	authzIDPattern     = regexp.MustCompile(`^authz_[A-Za-z0-9]{21}$`)
	captureIDPattern   = regexp.MustCompile(`^capture_[A-Za-z0-9]{21}$`)
	revocationPattern  = regexp.MustCompile(`^rev_[A-Za-z0-9]{21}$`)
	refundIDPattern    = regexp.MustCompile(`^refund_[A-Za-z0-9]{21}$`)
	eventIDPattern     = regexp.MustCompile(`^[A-Za-z0-9]{21}$`)
	pproTimePattern    = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
)

// withPPRO turns the PPRO part on.
func withPPRO(c *sandbox.Config) {
	c.PPRO.APIToken = testPPROToken
	c.PPRO.MerchantID = testPPROMerchant
}

func newPPROEnv(t *testing.T, configure ...func(*sandbox.Config)) *env {
	t.Helper()
	return newEnv(t, append([]func(*sandbox.Config){withPPRO}, configure...)...)
}

// obj is a decoded JSON object.
type obj = map[string]any

// apiResponse is an answer from the PPRO API.
type apiResponse struct {
	Status int
	Header http.Header
	raw    []byte
	Body   obj // nil unless the body is a JSON object
}

// pproHeaders are the headers the app's client sends.
func pproHeaders() http.Header {
	return http.Header{
		"Authorization": {"Bearer " + testPPROToken},
		"Merchant-Id":   {testPPROMerchant},
		"Accept":        {"application/json"},
	}
}

// pproCall sends a request to the PPRO API with the client's headers,
// overridden by header (a nil value removes one). body is encoded as JSON
// unless it is a string, which is sent as it is.
func (e *env) pproCall(method, path string, body any, header http.Header) apiResponse {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	base := e.pproBase
	if base == "" {
		base = e.BaseURL + "/sandbox/ppro"
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header = pproHeaders()
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		if v == nil {
			req.Header.Del(k)
		} else {
			req.Header[k] = v
		}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	r := apiResponse{Status: res.StatusCode, Header: res.Header, raw: raw}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		e.t.Errorf("%s %s: Content-Type %q, want application/json", method, path, ct)
	}
	if err := json.Unmarshal(raw, &r.Body); err != nil {
		e.t.Fatalf("%s %s: answer is not a JSON object: %v\n%s", method, path, err, raw)
	}
	return r
}

func (e *env) pproPost(path string, body any, header http.Header) apiResponse {
	e.t.Helper()
	return e.pproCall(http.MethodPost, path, body, header)
}

func (e *env) pproGet(path string) apiResponse {
	e.t.Helper()
	return e.pproCall(http.MethodGet, path, nil, nil)
}

func wantAPIStatus(t *testing.T, r apiResponse, want int) {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status %d, want %d; body:\n%s", r.Status, want, r.raw)
	}
}

// wantException checks PPRO's ExceptionResponseBody and that its message
// says what it should.
func wantException(t *testing.T, r apiResponse, status int, msgParts ...string) {
	t.Helper()
	wantAPIStatus(t, r, status)
	if got := r.Body["status"]; got != float64(status) {
		t.Errorf("body status = %v, want %d", got, status)
	}
	ts, _ := r.Body["timestamp"].(string)
	if !pproTimePattern.MatchString(ts) {
		t.Errorf("timestamp = %q, want ISO-8601 UTC with milliseconds", ts)
	}
	msg, _ := r.Body["failureMessage"].(string)
	for _, p := range msgParts {
		if !strings.Contains(msg, p) {
			t.Errorf("failureMessage %q lacks %q", msg, p)
		}
	}
}

// agreementRequest is what the storefront sends for a mandate, with an
// optional initial charge (0: none).
func agreementRequest(initial int64) obj {
	req := obj{
		"paymentMethod":                     "AMAZON_PAY",
		"merchantPaymentAgreementReference": "mandate-42",
		"description":                       "Acme Coffee Club, monthly",
		"consumer":                          obj{"name": "Ada Lovelace", "email": "ada@example.com", "country": "US"},
		"authenticationSettings": []any{
			obj{"type": "REDIRECT", "settings": obj{"returnUrl": testReturnURL}},
		},
	}
	if initial > 0 {
		req["initialPaymentCharge"] = obj{"amount": obj{"value": initial, "currency": "USD"}}
	}
	return req
}

func (e *env) createAgreement(req obj) obj {
	e.t.Helper()
	r := e.pproPost("/v1/payment-agreements", req, nil)
	wantAPIStatus(e.t, r, http.StatusOK)
	return r.Body
}

func (e *env) getAgreement(id string) obj {
	e.t.Helper()
	r := e.pproGet("/v1/payment-agreements/" + id)
	wantAPIStatus(e.t, r, http.StatusOK)
	return r.Body
}

func (e *env) getCharge(id string) obj {
	e.t.Helper()
	r := e.pproGet("/v1/payment-charges/" + id)
	wantAPIStatus(e.t, r, http.StatusOK)
	return r.Body
}

func (e *env) chargeAgreement(id string, value int64) obj {
	e.t.Helper()
	r := e.pproPost("/v1/payment-agreements/"+id+"/payment-charges", obj{"amount": obj{"value": value, "currency": "USD"}}, nil)
	wantAPIStatus(e.t, r, http.StatusOK)
	return r.Body
}

func authenticatePath(agreementID string) string { return "/sandbox/ppro/authenticate/" + agreementID }

// decide posts the shopper's decision on the authentication *pagetest.Page, as the
// page's own form does, and expects the redirect back to the merchant.
func (e *env) decide(agreementID, decision string) {
	e.t.Helper()
	res := e.Post(authenticatePath(agreementID), url.Values{"decision": {decision}})
	wantStatus(e.t, res, http.StatusSeeOther)
	if res.Header.Get("Location") != testReturnURL {
		e.t.Fatalf("%s: Location %q, want the returnUrl %q exactly", decision, res.Header.Get("Location"), testReturnURL)
	}
}

// activeAgreement creates an agreement without an initial charge and
// approves it.
func (e *env) activeAgreement() string {
	e.t.Helper()
	id := str(e.t, e.createAgreement(agreementRequest(0)), "id")
	e.decide(id, "approve")
	return id
}

// at returns the value at a dotted path such as "history.0.status"; nil
// when it is not there.
func at(v any, path string) any {
	for _, seg := range strings.Split(path, ".") {
		switch node := v.(type) {
		case map[string]any:
			v = node[seg]
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(node) {
				return nil
			}
			v = node[i]
		default:
			return nil
		}
	}
	return v
}

// str returns the string at path, failing the test if there is none.
func str(t *testing.T, v any, path string) string {
	t.Helper()
	s, ok := at(v, path).(string)
	if !ok {
		t.Fatalf("%s = %#v, want a string", path, at(v, path))
	}
	return s
}

// list returns the array at path, failing the test if there is none.
func list(t *testing.T, v any, path string) []any {
	t.Helper()
	l, ok := at(v, path).([]any)
	if !ok {
		t.Fatalf("%s = %#v, want an array", path, at(v, path))
	}
	return l
}

// wantFields checks string fields by path.
func wantFields(t *testing.T, v any, want map[string]string) {
	t.Helper()
	for path, w := range want {
		if got := at(v, path); got != w {
			t.Errorf("%s = %#v, want %q", path, got, w)
		}
	}
}

// wantAbsent checks that fields are not there at all (PPRO's documents
// type them as strings, objects or arrays, so null would be wrong too).
func wantAbsent(t *testing.T, v obj, paths ...string) {
	t.Helper()
	for _, p := range paths {
		parent, key := v, p
		if i := strings.LastIndex(p, "."); i >= 0 {
			m, ok := at(v, p[:i]).(map[string]any)
			if !ok {
				continue
			}
			parent, key = m, p[i+1:]
		}
		if got, ok := parent[key]; ok {
			t.Errorf("%s = %#v, want it absent", p, got)
		}
	}
}

// wantNoNulls checks that no value anywhere is JSON null.
func wantNoNulls(t *testing.T, v any, path string) {
	t.Helper()
	switch node := v.(type) {
	case nil:
		t.Errorf("%s is null", path)
	case map[string]any:
		for k, c := range node {
			wantNoNulls(t, c, path+"."+k)
		}
	case []any:
		for i, c := range node {
			wantNoNulls(t, c, path+"."+strconv.Itoa(i))
		}
	}
}

// statuses lists the status field of each entry of an array.
func statuses(t *testing.T, v any, path, field string) []string {
	t.Helper()
	var out []string
	for _, e := range list(t, v, path) {
		s, _ := at(e, field).(string)
		out = append(out, s)
	}
	return out
}

// chargeWith charges agreement id with the fields of body, which get an
// amount of value USD unless they name one.
func (e *env) chargeWith(id string, value int64, body obj) obj {
	e.t.Helper()
	if body == nil {
		body = obj{}
	}
	if _, ok := body["amount"]; !ok {
		body["amount"] = obj{"value": value, "currency": "USD"}
	}
	r := e.pproPost("/v1/payment-agreements/"+id+"/payment-charges", body, nil)
	wantAPIStatus(e.t, r, http.StatusOK)
	return r.Body
}

// refund asks for a refund of amount on charge id, with the fields of
// extra, and returns the answer whatever its status.
func (e *env) refund(chargeID string, amount int64, extra obj, header http.Header) apiResponse {
	e.t.Helper()
	body := obj{"amount": amount}
	for k, v := range extra {
		body[k] = v
	}
	return e.pproPost("/v1/payment-charges/"+chargeID+"/refunds", body, header)
}

// settle moves the sandbox's clock past the settle delay and makes a
// call, which does what PPRO does on its own by then (later.go).
func (e *env) settle() {
	e.t.Helper()
	e.Clock.Advance(e.Sandbox.PPROSim().Settings().SettleAfter)
	wantAPIStatus(e.t, e.pproGet("/v1/payment-charges?agreementId=agr_settle"), http.StatusOK)
}

// configure changes the PPRO stand-in's settings.
func (e *env) configure(change func(*pprosim.Settings)) {
	e.t.Helper()
	sim := e.Sandbox.PPROSim()
	s := sim.Settings()
	change(&s)
	sim.SetSettings(s)
}

// echoReferences brings back the echo of merchantPaymentChargeReference on
// authorizations and webhooks, for the tests about it.
func (e *env) echoReferences() {
	e.configure(func(s *pprosim.Settings) { s.EchoChargeReference = true })
}

// number returns the number at path, failing the test if there is none.
func number(t *testing.T, v any, path string) int64 {
	t.Helper()
	n, ok := at(v, path).(float64)
	if !ok {
		t.Fatalf("%s = %#v, want a number", path, at(v, path))
	}
	return int64(n)
}

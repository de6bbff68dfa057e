package sandbox_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"example.com/storefront/sandbox"
)

// Each provider's part runs only when configured: a storefront with real
// Stripe keys still gets PPRO's sandbox, and the other way round.
func TestEachPartIsOptional(t *testing.T) {
	pproOnly := serve(t, sandbox.Config{PPRO: sandbox.PPROConfig{APIToken: testPPROToken, MerchantID: testPPROMerchant}})
	if res := call(t, http.MethodPost, pproOnly+"/sandbox/stripe/v1/customers", nil); res.status != http.StatusNotFound {
		t.Errorf("Stripe API with the Stripe part off: %d, want 404", res.status)
	}
	index := call(t, http.MethodGet, pproOnly+"/sandbox/", nil)
	wantStatus(t, index, http.StatusOK)
	wantBody(t, index, "The Stripe part is off", "Magic amounts")
	r := call(t, http.MethodGet, pproOnly+"/sandbox/ppro/v1/payment-agreements/agr_aaaaaaaaaaaaaaaaaaaaa", pproHeaders())
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("PPRO API: Content-Type %q, want application/json", ct)
	}
	var answer map[string]any
	if err := json.Unmarshal([]byte(r.body), &answer); err != nil {
		t.Fatalf("PPRO API: answer is not a JSON object: %v\n%s", err, r.body)
	}
	if r.status != http.StatusNotFound || answer == nil {
		t.Errorf("PPRO API with only PPRO on: %d %s", r.status, r.body)
	}

	stripeOnly := serve(t, sandbox.Config{Stripe: sandbox.StripeConfig{SecretKey: testKey}})
	if res := call(t, http.MethodGet, stripeOnly+"/sandbox/ppro/v1/payment-charges/charge_x", nil); res.status != http.StatusNotFound {
		t.Errorf("PPRO API with the PPRO part off: %d, want 404", res.status)
	}
	wantBody(t, call(t, http.MethodGet, stripeOnly+"/sandbox/", nil), "The PPRO part is off")

	_, err := sandbox.New(context.Background(), sandbox.Config{
		DBPath: filepath.Join(t.TempDir(), "s.db"), PublicURL: "http://localhost/sandbox", MerchantName: "M",
	})
	if err == nil || !strings.Contains(err.Error(), "nothing to simulate") {
		t.Errorf("New with no part: %v", err)
	}
}

// The provider packages' tests have a full test environment each; this
// package's one test needs only a served sandbox and plain requests.

const (
	testKey          = "sk_test_sandbox_0123456789abcdefghij"
	testPPROToken    = "key_sandbox_0123456789abcdefghijk"
	testPPROMerchant = "merch_SandboxMerchant000001"
)

// serve runs a sandbox on cfg (with a database, a public URL and a
// merchant added) on a server of its own, and returns the server's URL.
func serve(t *testing.T, cfg sandbox.Config) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	cfg.DBPath = filepath.Join(t.TempDir(), "sandbox.db")
	cfg.PublicURL = base + "/sandbox"
	cfg.MerchantName = "Acme Coffee Club"
	sb, err := sandbox.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv.Config.Handler = sb
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		if err := sb.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return base
}

// pproHeaders are the headers the app's PPRO client sends.
func pproHeaders() http.Header {
	return http.Header{
		"Authorization": {"Bearer " + testPPROToken},
		"Merchant-Id":   {testPPROMerchant},
		"Accept":        {"application/json"},
	}
}

// response is an answer, page or API.
type response struct {
	status int
	header http.Header
	body   string
}

// call makes one request without following redirects.
func call(t *testing.T, method, url string, header http.Header) response {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return response{status: res.StatusCode, header: res.Header, body: string(b)}
}

func wantStatus(t *testing.T, res response, want int) {
	t.Helper()
	if res.status != want {
		t.Fatalf("status %d, want %d; body:\n%s", res.status, want, res.body)
	}
}

func wantBody(t *testing.T, res response, substrings ...string) {
	t.Helper()
	for _, s := range substrings {
		if !strings.Contains(res.body, s) {
			t.Errorf("body lacks %q; body:\n%s", s, res.body)
		}
	}
}

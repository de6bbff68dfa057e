package sandbox_test

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"example.com/storefront/internal/pagetest"
	"example.com/storefront/sandbox"
	"example.com/storefront/sandbox/sandboxtest"
)

// Each provider's part runs only when configured: a storefront with real
// Stripe keys still gets PPRO's sandbox, and the other way round.
func TestEachPartIsOptional(t *testing.T) {
	pproOnly := sandboxtest.New(t, func(c *sandbox.Config) {
		c.Stripe = sandbox.StripeConfig{}
		c.PPRO = sandbox.PPROConfig{APIToken: testPPROToken, MerchantID: testPPROMerchant}
	})
	if res := pproOnly.Do(http.MethodPost, "/sandbox/stripe/v1/customers", nil, nil); res.Status != http.StatusNotFound {
		t.Errorf("Stripe API with the Stripe part off: %d, want 404", res.Status)
	}
	index := pproOnly.Get("/sandbox/").Expect(http.StatusOK)
	wantBody(t, index, "The Stripe part is off", "Magic amounts")
	r := pproOnly.Do(http.MethodGet, "/sandbox/ppro/v1/payment-agreements/agr_aaaaaaaaaaaaaaaaaaaaa", nil, pproHeaders())
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("PPRO API: Content-Type %q, want application/json", ct)
	}
	var answer map[string]any
	if err := json.Unmarshal([]byte(r.Body), &answer); err != nil {
		t.Fatalf("PPRO API: answer is not a JSON object: %v\n%s", err, r.Body)
	}
	if r.Status != http.StatusNotFound || answer == nil {
		t.Errorf("PPRO API with only PPRO on: %d %s", r.Status, r.Body)
	}

	stripeOnly := sandboxtest.New(t)
	if res := stripeOnly.Get("/sandbox/ppro/v1/payment-charges/charge_x"); res.Status != http.StatusNotFound {
		t.Errorf("PPRO API with the PPRO part off: %d, want 404", res.Status)
	}
	wantBody(t, stripeOnly.Get("/sandbox/"), "The PPRO part is off")

	_, err := sandbox.New(context.Background(), sandbox.Config{
		DBPath: filepath.Join(t.TempDir(), "s.db"), PublicURL: "http://localhost/sandbox", MerchantName: "M",
	})
	if err == nil || !strings.Contains(err.Error(), "nothing to simulate") {
		t.Errorf("New with no part: %v", err)
	}
}

const (
	testPPROToken    = "key_sandbox_0123456789abcdefghijk"
	testPPROMerchant = "merch_SandboxMerchant000001"
)

// pproHeaders are the headers the app's PPRO client sends.
func pproHeaders() http.Header {
	return http.Header{
		"Authorization": {"Bearer " + testPPROToken},
		"Merchant-Id":   {testPPROMerchant},
		"Accept":        {"application/json"},
	}
}

func wantBody(t *testing.T, res *pagetest.Page, substrings ...string) {
	t.Helper()
	for _, s := range substrings {
		if !strings.Contains(res.Body, s) {
			t.Errorf("body lacks %q; body:\n%s", s, res.Body)
		}
	}
}

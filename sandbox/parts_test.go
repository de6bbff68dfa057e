package sandbox_test

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"example.com/storefront/sandbox"
)

// Each provider's part runs only when configured: a storefront with real
// Stripe keys still gets PPRO's sandbox, and the other way round.
func TestEachPartIsOptional(t *testing.T) {
	pproOnly := newPPROEnv(t, func(c *sandbox.Config) { c.Stripe = sandbox.StripeConfig{} })
	if res := pproOnly.do(http.MethodPost, "/sandbox/stripe/v1/customers", nil, nil); res.status != http.StatusNotFound {
		t.Errorf("Stripe API with the Stripe part off: %d, want 404", res.status)
	}
	index := pproOnly.get("/sandbox/")
	wantStatus(t, index, http.StatusOK)
	wantBody(t, index, "The Stripe part is off", "Magic amounts")
	if r := pproOnly.pproGet("/v1/payment-agreements/agr_aaaaaaaaaaaaaaaaaaaaa"); r.status != http.StatusNotFound || r.body == nil {
		t.Errorf("PPRO API with only PPRO on: %d %s", r.status, r.raw)
	}

	stripeOnly := newEnv(t)
	if res := stripeOnly.do(http.MethodGet, "/sandbox/ppro/v1/payment-charges/charge_x", nil, nil); res.status != http.StatusNotFound {
		t.Errorf("PPRO API with the PPRO part off: %d, want 404", res.status)
	}
	wantBody(t, stripeOnly.get("/sandbox/"), "The PPRO part is off")

	_, err := sandbox.New(context.Background(), sandbox.Config{
		DBPath: filepath.Join(t.TempDir(), "s.db"), PublicURL: "http://localhost/sandbox", MerchantName: "M",
	})
	if err == nil || !strings.Contains(err.Error(), "nothing to simulate") {
		t.Errorf("New with no part: %v", err)
	}
}

package service_test

import (
	"context"
	"testing"

	"example.com/storefront/payments"
)

// A plain charge on each provider is taken once, and the provider holds
// exactly that payment.
func TestChargeNowPlain(t *testing.T) {
	h := newHarness(t)
	for _, provider := range []string{"stripe", "ppro"} {
		t.Run(provider, func(t *testing.T) {
			m := h.active(provider)
			c, err := h.Service.ChargeNow(context.Background(), m, payments.Money{Amount: 1500, Currency: "USD"}, "")
			if err != nil {
				t.Fatalf("charge now: %v", err)
			}
			if c.Status != payments.ChargeSucceeded || c.ProviderRef == "" {
				t.Fatalf("charge %+v, want succeeded with the provider's id", c)
			}
			if n := h.payments(m, c.IdempotencyKey); n != 1 {
				t.Fatalf("the provider holds %d payments for %s, want 1", n, c.IdempotencyKey)
			}
		})
	}
}

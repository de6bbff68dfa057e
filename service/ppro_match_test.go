package service_test

import (
	"context"
	"encoding/json"
	"example.com/storefront/internal/dbtest"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"example.com/storefront/internal/apptest"
	"example.com/storefront/payments"
	"example.com/storefront/store"
)

// withoutEcho forwards the app's PPRO calls and takes our reference out
// of every authorization PPRO answers: the OpenAPI marks
// authorizations[].merchantPaymentChargeReference optional and the Amazon
// Pay guide's example has none. With lose set, a charge request reaches
// PPRO (the payment is made) but its answer never reaches the app.
func withoutEcho(h *harness, lose *atomic.Bool) func(w http.ResponseWriter, r *http.Request) bool {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasPrefix(r.URL.Path, "/sandbox/ppro/") {
			return false
		}
		rec := httptest.NewRecorder()
		h.Forward(rec, r)
		if lose.Load() && apptest.IsCharge(r) {
			apptest.Drop(w)
			return true
		}
		body := rec.Body.Bytes()
		var v any
		if json.Unmarshal(body, &v) == nil {
			dropEcho(v)
			body, _ = json.Marshal(v)
		}
		for k, vs := range rec.Header() {
			if k != "Content-Length" {
				w.Header()[k] = vs
			}
		}
		w.WriteHeader(rec.Code)
		w.Write(body)
		return true
	}
}

// dropEcho deletes merchantPaymentChargeReference from every
// authorization in v.
func dropEcho(v any) {
	switch v := v.(type) {
	case map[string]any:
		if auths, ok := v["authorizations"].([]any); ok {
			for _, a := range auths {
				if a, ok := a.(map[string]any); ok {
					delete(a, "merchantPaymentChargeReference")
				}
			}
		}
		for _, x := range v {
			dropEcho(x)
		}
	case []any:
		for _, x := range v {
			dropEcho(x)
		}
	}
}

// TestPPROChargeWithoutEcho: a PPRO charge whose answer was lost is found
// through PPRO's own search, filtered by our reference and the agreement,
// and through the agreement when a webhook names it, though PPRO echoes
// our reference nowhere. Taking it for a charge never made would send the
// period's next attempt: a second payment.
func TestPPROChargeWithoutEcho(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		cases := []struct {
			name string
			// how the app learns of the payment: "look-up" (billing's next pass
			// after the key's life) or "webhook" (PPRO's event names it)
			by string
		}{
			{name: "found by search after the key's life", by: "look-up"},
			{name: "matched when a webhook names it", by: "webhook"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				h := newHarness(t, apptest.On(db))
				ctx := context.Background()
				m := h.ActivePPRO(false)
				var lose atomic.Bool
				lose.Store(true)
				h.Intercept(withoutEcho(h, &lose))
				h.Pass() // period 1: PPRO makes it; the answer is lost
				lose.Store(false)
				cs := h.Charges(m.ID)
				if len(cs) != 1 || cs[0].Status != payments.ChargePending || cs[0].ProviderRef != "" {
					t.Fatalf("charges %+v, want one pending without PPRO's id", cs)
				}
				c := cs[0]
				var made string
				h.SandboxRow(`SELECT id FROM ppro_charges WHERE merchant_reference = ?`, c.IdempotencyKey).Scan(t, &made)

				switch tc.by {
				case "look-up":
					h.Time.Advance(time.Hour)
					h.Clock.Advance(47 * time.Hour) // past the key's life by the provider's clock
					for range 3 {
						h.Pass()
					}
				case "webhook":
					ev := store.WebhookEvent{Provider: "ppro", Event: payments.Event{ID: "evt_" + made, Type: "PAYMENT_CHARGE_CAPTURED", ChargeRef: made}}
					if out := h.Service.ProcessEvent(ctx, h.Providers[1], ev, h.Clock.Now()); out.Err != nil || out.Status != store.EventProcessed {
						t.Fatalf("event: %s %s %v", out.Status, out.Detail, out.Err)
					}
					h.Time.Advance(time.Hour) // past the billing's backoff
					h.Pass()
				}
				h.Intercept(nil)
				c = h.Charge(c.ID)
				if c.ProviderRef != made || c.Status != payments.ChargeSucceeded {
					t.Fatalf("charge %s %q %q (%s), want succeeded as PPRO's %s", c.Status, c.ProviderRef, c.FailureCode, c.ProviderStatus, made)
				}
				var n int
				h.SandboxRow(`SELECT count(*) FROM ppro_charges WHERE agreement_id = ?`, m.PaymentMethodID).Scan(t, &n)
				if n != 1 || len(h.Charges(m.ID)) != 1 {
					t.Fatalf("PPRO holds %d charges on the agreement and the app %d, want 1 and 1", n, len(h.Charges(m.ID)))
				}
				if b := h.Billing(m.ID); b.NextPeriod != 2 || b.Failures != 0 {
					t.Fatalf("billing %+v, want period 2 paid", b)
				}
			})
		}
	})
}

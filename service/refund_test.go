package service_test

import (
	"context"
	"example.com/storefront/internal/dbtest"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"example.com/storefront/internal/apptest"
	"example.com/storefront/payments"
	"example.com/storefront/payments/ppro"
	"example.com/storefront/store"
)

// The refund rules, one row each, run on each provider named: what happens
// between the merchant's refund and the provider (step), then what our
// records and the provider's own records say. A charge of the plan's
// 12.00 USD is refunded 5.00 USD (or the row's amount).
var refundCases = []struct {
	name      string
	providers []string
	amount    int64 // minor units; 0 means 500
	// webhooks: the sandbox delivers its events to the app.
	webhooks bool
	// step runs after the charge is paid; it makes the refund and does
	// whatever the case needs before the records are read.
	step func(t *testing.T, h *harness, m store.Mandate, c store.Charge, amount int64)

	refund   payments.RefundState
	charge   payments.ChargeState
	refunded int64 // what the charge counts as refunded
	// atProvider is how many refunds of the charge the provider holds,
	// and paidBack how much of them succeeded there.
	atProvider int
	paidBack   int64
}{
	{
		name: "a pending refund is not counted (Stripe's amount_refunded counts it)", providers: []string{"stripe", "ppro"},
		step: func(t *testing.T, h *harness, m store.Mandate, c store.Charge, amount int64) {
			refundNow(t, h, m, c, amount)
		},
		refund: payments.RefundPending, charge: payments.ChargeSucceeded, refunded: 0, atProvider: 1, paidBack: 0,
	},
	{
		name: "a refund is counted once it succeeded", providers: []string{"stripe", "ppro"},
		step: func(t *testing.T, h *harness, m store.Mandate, c store.Charge, amount int64) {
			refundNow(t, h, m, c, amount)
			h.Time.Advance(3 * time.Minute) // past store.InFlightFor: the worker leaves a refund sent just now alone
			h.Pass()
		},
		refund: payments.RefundSucceeded, charge: payments.ChargePartiallyRefunded, refunded: 500, atProvider: 1, paidBack: 500,
	},
	{
		name: "a refund ending in 05 fails: found by reconciliation, its amount back", providers: []string{"stripe", "ppro"},
		amount: 405,
		step: func(t *testing.T, h *harness, m store.Mandate, c store.Charge, amount int64) {
			refundNow(t, h, m, c, amount)
			h.Time.Advance(3 * time.Minute) // past store.InFlightFor: the worker leaves a refund sent just now alone
			h.Pass()
		},
		refund: payments.RefundFailed, charge: payments.ChargeSucceeded, refunded: 0, atProvider: 1, paidBack: 0,
	},
	{
		name: "a refund ending in 05 fails: told by webhook, its amount back", providers: []string{"stripe", "ppro"},
		amount: 405, webhooks: true,
		step: func(t *testing.T, h *harness, m store.Mandate, c store.Charge, amount int64) {
			r := refundNow(t, h, m, c, amount)
			h.Clock.Advance(time.Minute)
			h.providerRefunds(m, c) // the provider moves on (and tells the app) when anything reads it
			h.waitRefund(r.ID, payments.RefundFailed)
		},
		refund: payments.RefundFailed, charge: payments.ChargeSucceeded, refunded: 0, atProvider: 1, paidBack: 0,
	},
	{
		name: "a refund ending in 06 succeeds, then fails: told by webhook, its amount back", providers: []string{"stripe", "ppro"},
		amount: 306, webhooks: true,
		step: func(t *testing.T, h *harness, m store.Mandate, c store.Charge, amount int64) {
			h.settleAfter(time.Hour) // each step when the test moves the clock, not on a timer
			r := refundNow(t, h, m, c, amount)
			h.Clock.Advance(time.Hour + time.Minute)
			h.providerRefunds(m, c)
			h.waitRefund(r.ID, payments.RefundSucceeded)
			if got := h.Charge(c.ID); got.Status != payments.ChargePartiallyRefunded || got.Refunded != amount {
				t.Fatalf("charge %s with %d refunded while the refund stood, want partially_refunded with %d", got.Status, got.Refunded, amount)
			}
			h.Clock.Advance(time.Hour)
			h.providerRefunds(m, c)
			h.waitRefund(r.ID, payments.RefundFailed)
		},
		refund: payments.RefundFailed, charge: payments.ChargeSucceeded, refunded: 0, atProvider: 1, paidBack: 0,
	},
	{
		name: "refused by the provider (a refund made elsewhere left less): failed with its reason", providers: []string{"stripe", "ppro"},
		step: func(t *testing.T, h *harness, m store.Mandate, c store.Charge, amount int64) {
			h.settleAfter(time.Hour)
			h.refundElsewhere(m, c, c.Amount.Amount-100)
			r, err := h.Service.Refund(context.Background(), m, c.ID, amount, "", "", "")
			if err != nil || r.Status != payments.RefundFailed || r.FailureReason == "" {
				t.Fatalf("refund beyond what the provider has left: %+v, %v; want failed with the provider's reason", r, err)
			}
		},
		refund: payments.RefundFailed, charge: payments.ChargeSucceeded, refunded: 0, atProvider: 1, paidBack: 0,
	},
	{
		name: "an answer lost and 25 real hours later: looked up, never sent again", providers: []string{"stripe", "ppro"},
		step: func(t *testing.T, h *harness, m store.Mandate, c store.Charge, amount int64) {
			refundAnswerLost(t, h, m, c, amount, true)
			h.Time.Advance(25 * time.Hour) // the process was down for a day; the demo clock moves with real time
			h.Pass()
		},
		refund: payments.RefundSucceeded, charge: payments.ChargePartiallyRefunded, refunded: 500, atProvider: 1, paidBack: 500,
	},
	{
		name: "an answer lost and the demo clock 25 hours on: looked up, never sent again", providers: []string{"stripe", "ppro"},
		step: func(t *testing.T, h *harness, m store.Mandate, c store.Charge, amount int64) {
			refundAnswerLost(t, h, m, c, amount, true)
			h.Clock.Advance(25 * time.Hour) // the sandbox forgets keys on its (demo) clock
			h.Time.Advance(3 * time.Minute) // and real time passes a little: the refund is no longer in flight
			h.Pass()
		},
		refund: payments.RefundSucceeded, charge: payments.ChargePartiallyRefunded, refunded: 500, atProvider: 1, paidBack: 500,
	},
	{
		name: "an answer lost, then the provider's webhooks: matched by our reference", providers: []string{"stripe", "ppro"},
		webhooks: true,
		step: func(t *testing.T, h *harness, m store.Mandate, c store.Charge, amount int64) {
			h.settleAfter(time.Hour)
			refundAnswerLost(t, h, m, c, amount, true)
			h.Clock.Advance(time.Hour + time.Minute)
			h.providerRefunds(m, c)
			refunds, err := h.Store.Refunds(context.Background(), m.ID)
			if err != nil || len(refunds) != 1 {
				t.Fatalf("refunds %+v, %v", refunds, err)
			}
			h.waitRefund(refunds[0].ID, payments.RefundSucceeded)
		},
		refund: payments.RefundSucceeded, charge: payments.ChargePartiallyRefunded, refunded: 500, atProvider: 1, paidBack: 500,
	},
	{
		name: "a refund that never reached the provider, 25 hours later: failed as not made, its amount back", providers: []string{"stripe", "ppro"},
		step: func(t *testing.T, h *harness, m store.Mandate, c store.Charge, amount int64) {
			refundAnswerLost(t, h, m, c, amount, false)
			h.Time.Advance(25 * time.Hour)
			h.Pass()
		},
		refund: payments.RefundFailed, charge: payments.ChargeSucceeded, refunded: 0, atProvider: 0, paidBack: 0,
	},
	{
		name: "a refund that never reached the provider, minutes later: sent again with its key", providers: []string{"stripe", "ppro"},
		step: func(t *testing.T, h *harness, m store.Mandate, c store.Charge, amount int64) {
			refundAnswerLost(t, h, m, c, amount, false)
			h.Time.Advance(3 * time.Minute) // past store.InFlightFor: sent again
			h.Pass()
			h.Time.Advance(3 * time.Minute) // past store.InFlightFor: the worker leaves a refund sent just now alone
			h.Pass()
		},
		refund: payments.RefundSucceeded, charge: payments.ChargePartiallyRefunded, refunded: 500, atProvider: 1, paidBack: 500,
	},
	{
		name: "PPRO's 409 for a duplicate key: the refund is looked up, not left pending", providers: []string{"ppro"},
		step: func(t *testing.T, h *harness, m store.Mandate, c store.Charge, amount int64) {
			h.Intercept(answerConflict(h, `{"status":409,"failureMessage":"Duplicate request received with the same idempotency key."}`))
			defer h.Intercept(nil)
			r, err := h.Service.Refund(context.Background(), m, c.ID, amount, "", "", "")
			if err != nil || r.ProviderRef == "" {
				t.Fatalf("refund after a 409: %+v, %v; want it found by our reference", r, err)
			}
			h.Time.Advance(3 * time.Minute) // past store.InFlightFor: the worker leaves a refund sent just now alone
			h.Pass()
		},
		refund: payments.RefundSucceeded, charge: payments.ChargePartiallyRefunded, refunded: 500, atProvider: 1, paidBack: 500,
	},
	{
		name: "Stripe's 409 idempotency_key_in_use: in flight, never a failed refund", providers: []string{"stripe"},
		step: func(t *testing.T, h *harness, m store.Mandate, c store.Charge, amount int64) {
			h.Intercept(answerConflict(h, `{"error":{"type":"idempotency_error","code":"idempotency_key_in_use",`+
				`"message":"There is currently another in-progress request using this Stripe-Idempotency-Key. Please try again later."}}`))
			r, err := h.Service.Refund(context.Background(), m, c.ID, amount, "", "", "")
			h.Intercept(nil)
			// The first request made the refund: it is looked up by our
			// reference at once, and is pending as Stripe's refunds are.
			if err != nil || r.Status != payments.RefundPending || r.ProviderRef == "" {
				t.Fatalf("refund after a 409: %+v, %v; want it found pending, never failed", r, err)
			}
			h.Time.Advance(3 * time.Minute) // past store.InFlightFor: the worker leaves a refund sent just now alone
			h.Pass()
		},
		refund: payments.RefundSucceeded, charge: payments.ChargePartiallyRefunded, refunded: 500, atProvider: 1, paidBack: 500,
	},
}

func TestRefundRules(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		for _, tc := range refundCases {
			for _, provider := range tc.providers {
				t.Run(provider+"/"+tc.name, func(t *testing.T) {
					opts := []apptest.Option{apptest.On(db)}
					if tc.webhooks {
						opts = append(opts, apptest.WithWebhooks)
					}
					h := newHarness(t, opts...)
					m := h.Active(provider)
					// The plan's price: PPRO's EXACT agreements take no other.
					c, err := h.Service.ChargeNow(context.Background(), m, m.Plan.Price, "", "")
					if err != nil || c.Status != payments.ChargeSucceeded {
						t.Fatalf("charge: %+v, %v", c, err)
					}
					h.Clock.Advance(time.Minute) // the refund comes later than the payment's own events
					amount := tc.amount
					if amount == 0 {
						amount = 500
					}
					tc.step(t, h, m, c, amount)

					refunds, err := h.Store.Refunds(context.Background(), m.ID)
					if err != nil || len(refunds) != 1 {
						t.Fatalf("refunds %+v, %v; want one", refunds, err)
					}
					r, after := refunds[0], h.Charge(c.ID)
					if r.Status != tc.refund {
						t.Errorf("refund %s (%s: %s), want %s", r.Status, r.ProviderStatus, r.FailureReason, tc.refund)
					}
					if after.Status != tc.charge || after.Refunded != tc.refunded {
						t.Errorf("charge %s with %d refunded, want %s with %d", after.Status, after.Refunded, tc.charge, tc.refunded)
					}
					if left := after.Refundable(); left != c.Amount.Amount-tc.refunded {
						t.Errorf("%d left to refund, want %d", left, c.Amount.Amount-tc.refunded)
					}
					if n, paid := h.providerRefunds(m, after); n != tc.atProvider || paid != tc.paidBack {
						t.Errorf("the provider holds %d refunds, %d paid back; want %d, %d", n, paid, tc.atProvider, tc.paidBack)
					}
				})
			}
		}
	})
}

// refundNow refunds amount of c through the service, as the dashboard does.
func refundNow(t *testing.T, h *harness, m store.Mandate, c store.Charge, amount int64) store.Refund {
	t.Helper()
	r, err := h.Service.Refund(context.Background(), m, c.ID, amount, "", "", "")
	if err != nil {
		t.Fatalf("refund: %v", err)
	}
	return r
}

// waitRefund waits for the app to record a refund in state as the
// provider's webhooks arrive and are processed (Stripe's as they arrive,
// PPRO's after they are stored, by processEvents); no worker pass runs
// meanwhile, so only a webhook can have told it.
func (h *harness) waitRefund(id int64, state payments.RefundState) {
	h.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		r, err := h.Store.RefundByID(context.Background(), id)
		if err != nil {
			h.t.Fatal(err)
		}
		if r.Status == state {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("refund %d is %s (%s), want %s", id, r.Status, r.ProviderStatus, state)
		}
		time.Sleep(20 * time.Millisecond)
		h.Time.Advance(3 * time.Second) // past the app's limit of one fetch per object every two seconds
		h.processEvents()
	}
}

// refundAnswerLost refunds amount of c while the app hears nothing back:
// the request reaches the provider (arrives) or not, and the connection
// is dropped either way.
func refundAnswerLost(t *testing.T, h *harness, m store.Mandate, c store.Charge, amount int64, arrives bool) {
	t.Helper()
	h.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if !isRefund(r) {
			return false
		}
		if arrives {
			h.Forward(httptest.NewRecorder(), r)
		}
		apptest.Drop(w)
		return true
	})
	defer h.Intercept(nil)
	r, err := h.Service.Refund(context.Background(), m, c.ID, amount, "", "", "")
	if err == nil || r.Status != payments.RefundPending || r.ProviderRef != "" {
		t.Fatalf("refund without an answer: %+v, %v; want pending without the provider's id", r, err)
	}
}

// answerConflict makes the provider take the refund request and then
// answer 409 with body, as when a first request with the same key is still
// running.
func answerConflict(h *harness, body string) func(w http.ResponseWriter, r *http.Request) bool {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if !isRefund(r) {
			return false
		}
		h.Forward(httptest.NewRecorder(), r)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusConflict)
		w.Write([]byte(body))
		return true
	}
}

// processEvents processes the stored webhook events that are due, as
// the worker's pass begins (without the rest of the pass: no reconciling).
func (h *harness) processEvents() {
	h.t.Helper()
	ctx := context.Background()
	events, err := h.Store.ClaimWebhookEvents(ctx, time.Minute, 100)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, e := range events {
		out := h.Service.ProcessEvent(ctx, h.Providers[providerIndex(e.Provider)], e, h.Clock.Now())
		if out.Status == store.EventPending {
			err = h.Store.RetryWebhookEvent(ctx, e.ID, out.Detail, out.RetryAt)
		} else {
			err = h.Store.FinishWebhookEvent(ctx, e.ID, out.Status, out.Detail, out.MandateID)
		}
		if err != nil {
			h.t.Fatal(err)
		}
	}
}

// refundElsewhere refunds amount of c at the provider directly, as the
// merchant might in the provider's own dashboard.
func (h *harness) refundElsewhere(m store.Mandate, c store.Charge, amount int64) {
	h.t.Helper()
	var err error
	if m.Provider == "stripe" {
		_, err = h.Stripe.Refunds.New(&stripe.RefundParams{PaymentIntent: stripe.String(c.ProviderRef), Amount: stripe.Int64(amount)})
	} else {
		_, err = h.PPRO.RefundCharge(context.Background(), c.ProviderRef, ppro.RefundRequest{Amount: amount}, "elsewhere/"+c.ProviderRef)
	}
	if err != nil {
		h.t.Fatalf("refund at the provider: %v", err)
	}
}

// settleAfter sets the sandbox's settle delay on both providers.
func (h *harness) settleAfter(d time.Duration) {
	st := h.Sandbox.StripeSim().Settings()
	st.SettleAfter = d
	h.Sandbox.StripeSim().SetSettings(st)
	pt := h.Sandbox.PPROSim().Settings()
	pt.SettleAfter = d
	h.Sandbox.PPROSim().SetSettings(pt)
}

// inFlight keeps each of the provider's idempotent API requests in flight
// for d before it answers: another request with its key meanwhile is
// answered 409 (Stripe's InFlight, PPRO's Processing).
func (h *harness) inFlight(provider string, d time.Duration) {
	if provider == "stripe" {
		s := h.Sandbox.StripeSim().Settings()
		s.InFlight = d
		h.Sandbox.StripeSim().SetSettings(s)
		return
	}
	s := h.Sandbox.PPROSim().Settings()
	s.Processing = d
	h.Sandbox.PPROSim().SetSettings(s)
}

// isRefund reports whether r is the app asking for a refund.
func isRefund(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/refunds")
}

// providerRefunds is what the provider itself holds for a charge: how many
// refunds, and how much of them succeeded (Stripe: succeeded; PPRO:
// REFUNDED), bringing the sandbox up to date first by reading the charge.
func (h *harness) providerRefunds(m store.Mandate, c store.Charge) (n int, paid int64) {
	h.t.Helper()
	if _, err := h.Providers[providerIndex(m.Provider)].ChargeStatus(context.Background(), c.ProviderRef); err != nil {
		h.t.Fatalf("read %s: %v", c.ProviderRef, err)
	}
	if m.Provider == "stripe" {
		h.SandboxRow(`SELECT count(*), coalesce(sum(CASE WHEN status = 'succeeded' THEN amount END), 0)
			FROM stripe_refunds WHERE payment_intent_id = ?`, c.ProviderRef).Scan(h.t, &n, &paid)
		return n, paid
	}
	h.SandboxRow(`SELECT count(*), coalesce(sum(CASE WHEN status = 'REFUNDED' THEN amount END), 0)
		FROM ppro_refunds WHERE charge_id = ?`, c.ProviderRef).Scan(h.t, &n, &paid)
	return n, paid
}

func providerIndex(name string) int {
	if name == "stripe" {
		return 0
	}
	return 1
}

// TestRefundInFlight: while a refund's first request is still running at
// the provider, the same refund sent again with its key (the worker, a
// second process) is answered 409 (Stripe's idempotency_key_in_use, PPRO's
// duplicate request): it stays pending, never failed (PPRO's is looked up
// by our reference at once, and is in flight while the provider has not
// made it yet). The first request's answer settles it, and the provider
// holds one refund.
func TestRefundInFlight(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		for _, provider := range []string{"stripe", "ppro"} {
			t.Run(provider, func(t *testing.T) {
				h := newHarness(t, apptest.On(db))
				ctx := context.Background()
				m := h.Active(provider)
				c, err := h.Service.ChargeNow(ctx, m, m.Plan.Price, "", "")
				if err != nil || c.Status != payments.ChargeSucceeded {
					t.Fatalf("charge: %+v, %v", c, err)
				}
				const hold = 600 * time.Millisecond
				h.inFlight(provider, hold)
				first := make(chan error, 1)
				go func() {
					_, err := h.Service.Refund(ctx, m, c.ID, 500, "", "", "")
					first <- err
				}()
				var r store.Refund
				for deadline := time.Now().Add(5 * time.Second); r.ID == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
					if rs, _ := h.Store.Refunds(ctx, m.ID); len(rs) > 0 {
						r = rs[0]
					}
				}
				if r.ID == 0 {
					t.Fatal("no refund written")
				}
				time.Sleep(hold / 3) // the first request is running at the provider
				again, err := h.Service.FinishRefund(ctx, r, h.Clock.Now())
				if again.Status == payments.RefundFailed {
					t.Fatalf("sent again while in flight: %+v, %v; a refund in flight is never failed", again, err)
				}
				if pe, ok := payments.AsError(err); err != nil && (!ok || pe.Kind != payments.ErrInFlight) {
					t.Fatalf("sent again while in flight: %+v, %v; want in flight or found", again, err)
				}
				if err := <-first; err != nil {
					t.Fatalf("the first request: %v", err)
				}
				h.Time.Advance(3 * time.Minute) // past store.InFlightFor: the worker leaves a refund sent just now alone
				h.Pass()
				got, _ := h.Store.RefundByID(ctx, r.ID)
				if got.Status != payments.RefundSucceeded || got.ProviderRef == "" || got.LastError != "" {
					t.Errorf("refund %+v, want succeeded with the provider's id and no problem noted", got)
				}
				if n, paid := h.providerRefunds(m, h.Charge(c.ID)); n != 1 || paid != 500 {
					t.Errorf("the provider holds %d refunds, %d paid back; want 1, 500", n, paid)
				}
			})
		}
	})
}

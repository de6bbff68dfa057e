package service_test

import (
	"context"
	"encoding/json"
	"errors"
	"example.com/storefront/internal/dbtest"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"example.com/storefront/internal/apptest"
	"example.com/storefront/payments"
	"example.com/storefront/payments/ppro"
	"example.com/storefront/service"
	"example.com/storefront/store"
	"example.com/storefront/worker"
)

// answer makes the provider's API answer a charge request itself, in the
// provider's own error format: Stripe's {"error":{…}}, PPRO's
// {"status","failureMessage"}.
func answer(status int, stripeType, code, message string) func(w http.ResponseWriter, r *http.Request) bool {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if !apptest.IsCharge(r) {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		if strings.Contains(r.URL.Path, "/stripe/") {
			json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"type": stripeType, "code": code, "message": message, "param": "amount"}})
		} else {
			json.NewEncoder(w).Encode(map[string]any{"status": status, "failureMessage": message})
		}
		return true
	}
}

// dropCharges closes the connection on every charge request: the provider
// never receives it.
func dropCharges(w http.ResponseWriter, r *http.Request) bool {
	if !apptest.IsCharge(r) {
		return false
	}
	apptest.Drop(w)
	return true
}

// TestChargeAnswers: what the merchant's "charge now" records for each
// kind of answer the provider's API can give. A refusal of the request is
// a failed charge with the provider's code and reason (no payment exists;
// sending it again would be refused again); an outage, a 429 or a 409
// (the key's first request is still running) leaves it pending, noted,
// and never failed, and finishing it later with the same key takes the
// payment once.
func TestChargeAnswers(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		const tooLarge = "Amount must be no more than $999,999.99"
		cases := []struct {
			name     string
			provider string // "" both
			api      func(w http.ResponseWriter, r *http.Request) bool
			status   payments.ChargeState // recorded at once
			code     [2]string            // its failure code at Stripe, at PPRO (whose errors carry none)
			reason   string               // in its failure reason
			noted    bool                 // a problem noted on a pending charge
		}{
			{name: "paid", status: payments.ChargeSucceeded},
			{name: "400 refused", api: answer(400, "invalid_request_error", "amount_too_large", tooLarge),
				status: payments.ChargeFailed, code: [2]string{"amount_too_large", "refused"}, reason: tooLarge},
			{name: "422 refused", provider: "ppro", api: answer(422, "", "", "amount exceeds the agreement"),
				status: payments.ChargeFailed, code: [2]string{"", "refused"}, reason: "amount exceeds the agreement"},
			{name: "404 refused", api: answer(404, "invalid_request_error", "resource_missing", "No such payment_method"),
				status: payments.ChargeFailed, code: [2]string{"resource_missing", "refused"}, reason: "No such payment_method"},
			{name: "409 in flight", api: answer(409, "idempotency_error", "idempotency_key_in_use", "There is currently another in-progress request using this idempotent key"),
				status: payments.ChargePending, noted: true},
			{name: "400 key used with other parameters", provider: "stripe", // the key's first request decides: looked up
				api:    answer(400, "idempotency_error", "", "Keys for idempotent requests can only be used with the same parameters they were first used with."),
				status: payments.ChargePending, noted: true},
			{name: "429 busy", api: answer(429, "invalid_request_error", "rate_limit", "Too many requests"),
				status: payments.ChargePending, noted: true},
			{name: "500 outage", api: answer(500, "api_error", "", "Internal error"),
				status: payments.ChargePending, noted: true},
			{name: "no answer", api: dropCharges, status: payments.ChargePending, noted: true},
		}
		for _, provider := range []string{"stripe", "ppro"} {
			t.Run(provider, func(t *testing.T) {
				h := newHarness(t, apptest.On(db))
				ctx := context.Background()
				for _, tc := range cases {
					if tc.provider != "" && tc.provider != provider {
						continue
					}
					t.Run(tc.name, func(t *testing.T) {
						m := h.Active(provider)
						h.Intercept(tc.api)
						c, err := h.Service.ChargeNow(ctx, m, m.Plan.Price, "", "") // the agreed amount: PPRO's agreements are EXACT
						h.Intercept(nil)
						if tc.noted != (err != nil) {
							t.Fatalf("charge now: error %v, want one: %v", err, tc.noted)
						}
						c = h.Charge(c.ID)
						code := tc.code[0]
						if provider == "ppro" {
							code = tc.code[1]
						}
						if c.Status != tc.status || c.FailureCode != code || !strings.Contains(c.FailureReason, tc.reason) {
							t.Fatalf("charge %s %q %q, want %s %q with %q", c.Status, c.FailureCode, c.FailureReason, tc.status, code, tc.reason)
						}
						if tc.noted != (c.LastError != "") {
							t.Fatalf("problem noted %q, want one: %v", c.LastError, tc.noted)
						}
						if c.Status == payments.ChargeFailed && service.Transient(err) {
							t.Fatalf("a refusal reported as an outage: %v", err)
						}
						if c.Status != payments.ChargePending {
							return
						}
						// Finished later (the worker's sweep), with the same key: one payment.
						h.Time.Advance(time.Minute)
						if c, err = h.Service.FinishCharge(ctx, c, h.Clock.Now()); err != nil {
							t.Fatalf("finish: %v", err)
						}
						if c.Status != payments.ChargeSucceeded {
							t.Fatalf("finished %s %q, want succeeded", c.Status, c.FailureReason)
						}
						if n := h.Payments(m, c.IdempotencyKey); n != 1 {
							t.Fatalf("the provider holds %d payments for %s, want 1", n, c.IdempotencyKey)
						}
					})
				}
			})
		}
	})
}

// TestPendingScheduledCharge: a period's charge left pending without an
// answer is finished by billing's next pass, by the life of its key at the
// provider (24 hours, by real time and by the provider's own clock, which
// in the sandbox is the demo clock). While the key is alive it is sent
// again with it; once not, it is looked up, and one the provider never
// made is not a decline: the period is paid by a new attempt that uses no
// retry, and billing never goes past due.
func TestPendingScheduledCharge(t *testing.T) {
	cases := []struct {
		name string
		// lost is how the period's first attempt went unanswered: "dropped"
		// (sent, never received), "unsent" (the row written, the process
		// killed before the call).
		lost string
		// later moves real time and the demo clock before the next pass.
		real, demo time.Duration
		// resent: the first attempt is sent again with its key (and paid);
		// otherwise it is looked up, recorded as never made, and a second
		// attempt pays the period.
		resent bool
	}{
		{name: "key alive", lost: "dropped", real: time.Hour, demo: time.Hour, resent: true},
		{name: "key expired by real time", lost: "dropped", real: 24 * time.Hour, demo: time.Hour},
		{name: "key expired by the demo clock", lost: "dropped", real: time.Hour, demo: 20 * 24 * time.Hour},
		{name: "unsent, row young", lost: "unsent", real: time.Hour, demo: time.Hour, resent: true},
		{name: "unsent, 20 demo days on", lost: "unsent", real: time.Minute, demo: 20 * 24 * time.Hour},
	}
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		for _, provider := range []string{"stripe", "ppro"} {
			t.Run(provider, func(t *testing.T) {
				for _, tc := range cases {
					t.Run(tc.name, func(t *testing.T) {
						pendingScheduledCharge(t, db, provider, tc.lost, tc.real, tc.demo, tc.resent)
					})
				}
			})
		}
	})
}

func pendingScheduledCharge(t *testing.T, db dbtest.Kind, provider, lost string, real, demo time.Duration, resent bool) {
	h := newHarness(t, apptest.On(db))
	ctx := context.Background()
	// The presenter had moved the demo clock a month on: it can then also
	// be moved back (a reset), and run behind real time's hours.
	h.Clock.Set(31 * 24 * time.Hour)
	m := h.Active(provider)
	b := h.Billing(m.ID)
	if b.NextPeriod != 1 {
		t.Fatalf("billing at period %d, want 1", b.NextPeriod)
	}
	var first store.Charge
	switch lost {
	case "dropped":
		h.Intercept(dropCharges)
		h.Pass()
		h.Intercept(nil)
		first = h.Charges(m.ID)[0]
	case "unsent":
		var err error
		first, _, err = h.Store.CreateCharge(ctx, store.NewCharge{MandateID: m.ID, Kind: store.KindScheduled,
			InitiatedBy: store.BySchedule, Period: 1, Attempt: 1, Amount: m.Plan.Price})
		if err != nil {
			t.Fatal(err)
		}
	}
	if first.Status != payments.ChargePending || first.Period != 1 || first.Attempt != 1 {
		t.Fatalf("first attempt %+v, want period 1 attempt 1 pending", first)
	}
	if n := h.Payments(m, first.IdempotencyKey); n != 0 {
		t.Fatalf("the provider holds %d payments before the pass, want 0", n)
	}

	// Count what the app asks of the provider from here on.
	var sends atomic.Int32
	h.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if apptest.IsCharge(r) {
			sends.Add(1)
		}
		return false
	})
	h.Time.Advance(real)
	h.Clock.Advance(demo - real) // the demo clock moves with real time, and by the rest (back: a reset)
	for range 3 {
		h.Pass()
		if b = h.Billing(m.ID); b.State == store.BillingPastDue || b.Failures != 0 {
			t.Fatalf("billing %s with %d failures (%s) after a payment that was never asked of the shopper", b.State, b.Failures, b.LastError)
		}
	}
	h.Intercept(nil)

	cs := h.Charges(m.ID)
	first = h.Charge(first.ID)
	if b.NextPeriod < 2 {
		t.Fatalf("period 1 not paid: billing %s at period %d (%s); charges %+v", b.State, b.NextPeriod, b.LastError, cs)
	}
	if resent {
		if first.Status != payments.ChargeSucceeded || len(apptest.InPeriod(cs, 1)) != 1 {
			t.Fatalf("first attempt %s, %d attempts: want it sent again with its key and paid", first.Status, len(apptest.InPeriod(cs, 1)))
		}
		return
	}
	if first.Status != payments.ChargeFailed || first.FailureCode != service.NotMade {
		t.Fatalf("first attempt %s %q, want failed %q (looked up, not sent again)", first.Status, first.FailureCode, service.NotMade)
	}
	if service.Declined(first) {
		t.Fatal("a payment never made counts as a decline")
	}
	if n := h.Payments(m, first.IdempotencyKey); n != 0 {
		t.Fatalf("the first attempt's key was sent again after its life: %d payments at the provider", n)
	}
	attempts := apptest.InPeriod(cs, 1)
	if len(attempts) != 2 || attempts[1].Attempt != 2 || attempts[1].Status != payments.ChargeSucceeded {
		t.Fatalf("period 1's attempts %+v, want a second, paid", attempts)
	}
	if n := sends.Load(); n != 1 {
		t.Fatalf("%d charge requests, want 1 (the new attempt's)", n)
	}
	if n := h.Payments(m, attempts[1].IdempotencyKey); n != 1 {
		t.Fatalf("the provider holds %d payments for the new attempt, want 1", n)
	}
	if m.Provider == "ppro" {
		// No retry used at PPRO either: the new attempt is the period's
		// first payment asked of the shopper, not a retry of a decline.
		var schedule string
		h.SandboxRow(`SELECT schedule_type FROM ppro_charges WHERE merchant_reference = ?`, attempts[1].IdempotencyKey).Scan(t, &schedule)
		if schedule != ppro.ScheduleScheduled {
			t.Fatalf("the new attempt went to PPRO as %s, want %s", schedule, ppro.ScheduleScheduled)
		}
	}
}

// TestHarness: the harness's options reach what they configure (the plan,
// the clock, webhooks, the worker), so that tests built on it test what
// they say.
func TestHarness(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		start := time.Date(2027, time.July, 31, 12, 0, 0, 0, time.UTC)
		weekly := payments.Plan{Name: "Tea Club", Price: payments.Money{Amount: 2500, Currency: "USD"}, Interval: payments.Week}
		batch := 0
		h := newHarness(t, apptest.On(db), apptest.WithWebhooks, apptest.WithPlan(weekly), apptest.StartingAt(start), apptest.WithWorker(func(c *worker.Config) { batch = c.Batch; c.Batch = 7 }))
		if batch != 0 {
			t.Fatalf("the worker's configuration was adjusted before the harness made it: batch %d", batch)
		}
		for _, provider := range []string{"stripe", "ppro"} {
			m := h.Active(provider)
			if m.Plan != weekly || !m.CreatedAt.Equal(start) {
				t.Fatalf("%s mandate on %v made %s, want %v made %s", provider, m.Plan, m.CreatedAt, weekly, start)
			}
			// The sandbox delivers its webhooks in the background, a moment
			// after the call that caused them.
			var events int
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				h.AppRow(`SELECT count(*) FROM webhook_events WHERE provider = ?`, provider).Scan(t, &events)
				if events > 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no %s webhook reached the app within 10 s", provider)
				}
			}
			page := h.AdminBrowser().Get(h.URL + "/admin/mandates/" + m.ID).Expect(http.StatusOK)
			if !strings.Contains(page.Text(), "Tea Club") {
				t.Fatalf("the dashboard's page of %s does not name the plan: %s", m.ID, page.Text())
			}
		}
	})
}

// TestChargeAmounts: an amount is checked against the provider's limits
// for its currency, and against the agreed amount where the mandate fixes
// it (PPRO's EXACT agreements), before any call: refused with words the
// merchant can act on, with no charge written and nothing sent.
func TestChargeAmounts(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		cases := []struct {
			provider string
			amount   int64  // USD cents
			refused  string // in the refusal; "" when it is charged
		}{
			{"stripe", 50, ""},
			{"stripe", 49, "at least 0.50 USD"},
			{"stripe", 100_000_000, "at most 999999.99 USD"}, // Stripe's amount_too_large
			{"stripe", 0, "greater than zero"},
			{"ppro", 1200, ""}, // the agreement's EXACT amount
			{"ppro", 1500, "exactly 12.00 USD each time"},
			{"ppro", 1199, "exactly 12.00 USD each time"},
			{"ppro", 49, "from 0.50 to 20,000.00 USD"},
			{"ppro", 2_000_001, "from 0.50 to 20,000.00 USD"},
		}
		h := newHarness(t, apptest.On(db))
		ctx := context.Background()
		var sent atomic.Int32
		h.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
			if apptest.IsCharge(r) {
				sent.Add(1)
			}
			return false
		})
		mandates := map[string]store.Mandate{"stripe": h.Active("stripe"), "ppro": h.Active("ppro")}
		for _, tc := range cases {
			m := mandates[tc.provider]
			before, rows := sent.Load(), len(h.Charges(m.ID))
			c, err := h.Service.ChargeNow(ctx, m, payments.Money{Amount: tc.amount, Currency: "USD"}, "", "a test of the amount checks")
			if tc.refused == "" {
				if err != nil || c.Status != payments.ChargeSucceeded {
					t.Errorf("%s %d: %s, %v; want charged", tc.provider, tc.amount, c.Status, err)
				}
				continue
			}
			var bad *service.ErrBadAmount
			if !errors.As(err, &bad) || !strings.Contains(bad.Reason, tc.refused) {
				t.Errorf("%s %d: %v, want refused with %q", tc.provider, tc.amount, err, tc.refused)
			}
			if sent.Load() != before || len(h.Charges(m.ID)) != rows {
				t.Errorf("%s %d: refused after a charge was written or sent", tc.provider, tc.amount)
			}
		}
	})
}

// TestNeedsShopper: a payment that needs the shopper (magic amount 03:
// Stripe refuses it as error_on_requires_action asks, PPRO leaves it
// AUTHENTICATION_PENDING and then fails it) is a decline that needs the
// shopper, by charge now and by billing alike: never a payment left
// pending for ever, and billing's dunning counts it.
func TestNeedsShopper(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		cases := []struct {
			provider string
			by       string // "charge now" or "billing"
			code     string
		}{
			{"stripe", "charge now", payments.CodeAuthenticationRequired},
			{"stripe", "billing", payments.CodeAuthenticationRequired},
			{"ppro", "charge now", payments.CodeAuthenticationFailed},
			{"ppro", "billing", payments.CodeAuthenticationFailed},
		}
		for _, tc := range cases {
			t.Run(tc.provider+" "+tc.by, func(t *testing.T) {
				plan := apptest.Monthly
				plan.Price.Amount = 1203
				h := newHarness(t, apptest.On(db), apptest.WithPlan(plan))
				ctx := context.Background()
				m := h.Active(tc.provider)
				var c store.Charge
				switch tc.by {
				case "charge now":
					var err error
					if c, err = h.Service.ChargeNow(ctx, m, plan.Price, "", ""); err != nil {
						t.Fatalf("charge now: %v", err)
					}
				case "billing":
					h.Pass()
					c = h.Charges(m.ID)[0]
				}
				// PPRO decides later (its settle delay, or at once once the
				// sandbox clock has passed it); Stripe has answered already.
				for i := 0; c.Status == payments.ChargePending && i < 3; i++ {
					h.Time.Advance(time.Minute)
					h.Pass()
					var err error
					if c, err = h.Service.FinishCharge(ctx, h.Charge(c.ID), h.Clock.Now()); err != nil {
						t.Fatalf("finish: %v", err)
					}
				}
				if c.Status != payments.ChargeFailed || c.FailureCode != tc.code || !payments.NeedsShopper(c.FailureCode) || !service.Declined(c) {
					t.Fatalf("charge %s %q %q, want a decline %q that needs the shopper", c.Status, c.FailureCode, c.FailureReason, tc.code)
				}
				if tc.provider == "stripe" {
					// Refused as error_on_requires_action asks: Stripe's
					// PaymentIntent is not left waiting for the shopper.
					n := 0
					for it := h.Stripe.PaymentIntents.List(&stripe.PaymentIntentListParams{}); it.Next(); n++ {
						if pi := it.PaymentIntent(); pi.Status != stripe.PaymentIntentStatusRequiresPaymentMethod {
							t.Errorf("Stripe's PaymentIntent %s is %s, want requires_payment_method (refused with error_on_requires_action)", pi.ID, pi.Status)
						}
					}
					if n != 1 {
						t.Errorf("Stripe holds %d PaymentIntents, want 1", n)
					}
				}
				if tc.by == "billing" {
					if b := h.Billing(m.ID); b.State != store.BillingPastDue || b.Failures != 1 {
						t.Fatalf("billing %s with %d failures, want past due after one decline", b.State, b.Failures)
					}
				}
			})
		}
	})
}

// TestChargeInFlight: while a charge's first request is still running at
// the provider, the same charge sent again with its key (the worker's
// sweep, a second process) is answered 409 (Stripe's
// idempotency_key_in_use, PPRO's duplicate request): the charge is in
// flight, neither refused nor failed, and the first request's answer
// settles it; one payment.
func TestChargeInFlight(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		for _, provider := range []string{"stripe", "ppro"} {
			t.Run(provider, func(t *testing.T) {
				h := newHarness(t, apptest.On(db))
				ctx := context.Background()
				m := h.Active(provider)
				const hold = 600 * time.Millisecond
				h.inFlight(provider, hold)
				type result struct {
					c   store.Charge
					err error
				}
				first := make(chan result, 1)
				go func() {
					c, err := h.Service.ChargeNow(ctx, m, m.Plan.Price, "", "")
					first <- result{c, err}
				}()
				var c store.Charge
				for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
					if cs := h.Charges(m.ID); len(cs) > 0 {
						c = cs[len(cs)-1]
						break
					}
				}
				if c.ID == 0 {
					t.Fatal("no charge written")
				}
				time.Sleep(hold / 3) // the first request is running at the provider
				again, err := h.Service.SendCharge(ctx, m, c)
				pe, ok := payments.AsError(err)
				if !ok || pe.Kind != payments.ErrInFlight || pe.StatusCode != http.StatusConflict {
					t.Fatalf("sent again while in flight: %+v, %v; want in flight (409)", again, err)
				}
				if again = h.Charge(c.ID); again.Status == payments.ChargeFailed {
					t.Fatalf("a charge in flight recorded as failed: %+v", again)
				}
				res := <-first
				if res.err != nil || res.c.Status != payments.ChargeSucceeded {
					t.Fatalf("the first request: %+v, %v", res.c, res.err)
				}
				if c = h.Charge(c.ID); c.Status != payments.ChargeSucceeded || c.LastError != "" {
					t.Fatalf("charge %s (%q), want succeeded with no problem noted", c.Status, c.LastError)
				}
				if n := h.Payments(m, c.IdempotencyKey); n != 1 {
					t.Fatalf("the provider holds %d payments, want 1", n)
				}
			})
		}
	})
}

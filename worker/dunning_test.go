package worker_test

import (
	"context"
	"example.com/storefront/internal/dbtest"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"example.com/storefront/internal/apptest"
	"example.com/storefront/mandate"
	"example.com/storefront/payments"
	"example.com/storefront/payments/ppro"
	"example.com/storefront/store"
)

// stripeDecline answers a charge as Stripe answers a declined off-session
// payment: HTTP 402 with a card_error and its decline code.
func stripeDecline(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Request-Id", "req_declined_by_test")
	w.WriteHeader(http.StatusPaymentRequired)
	fmt.Fprint(w, `{"error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds",`+
		`"message":"The payment was declined: insufficient funds."}}`)
}

// keyLog records the idempotency key of every charge call the app makes,
// in order.
type keyLog struct {
	mu   sync.Mutex
	keys []string
}

func (k *keyLog) add(r *http.Request) {
	k.mu.Lock()
	defer k.mu.Unlock()
	key := r.Header.Get("Idempotency-Key") // Stripe
	if key == "" {
		key = r.Header.Get("Request-Idempotency-Key") // PPRO
	}
	k.keys = append(k.keys, key)
}

func (k *keyLog) all() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.keys...)
}

// periodRow is a period's row on a mandate's page.
var periodRow = regexp.MustCompile(`data-testid="period" data-n="(\d+)" data-status="([a-z_]+)"`)

// mandatePage is the mandate's page on the merchant's dashboard.
func (h *harness) mandatePage(m store.Mandate) (state string, periods map[string]string) {
	h.t.Helper()
	b := h.AdminBrowser()
	page := b.Get(h.URL + "/admin/mandates/" + m.ID).Expect(http.StatusOK)
	state = page.TestIDAttr("billing-state", "class")
	periods = map[string]string{}
	for _, m := range periodRow.FindAllStringSubmatch(page.Body, -1) {
		periods[m[1]] = m[2]
	}
	return state, periods
}

// A declined scheduled payment is retried 1 and 3 days after its due date
// (billing past due meanwhile, as the dashboard shows); when a retry
// succeeds, billing is active again and the next period is on the
// original schedule. The first two charges are declined at the wire, in
// Stripe's own format, the way Stripe declines them; the third reaches the
// sandbox and succeeds.
func TestDeclineThenRecoveredOnRetry(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		anchor := at(2027, time.January, 31, 10)
		h := newHarness(t, apptest.On(db), apptest.StartingAt(anchor))
		m := h.ActiveStripe()

		var keys keyLog
		var declines int
		h.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
			if !apptest.IsCharge(r) {
				return false
			}
			keys.add(r)
			if declines < 2 {
				declines++
				stripeDecline(w)
				return true
			}
			return false
		})

		h.Pass()
		b := h.expectBilling(m, store.BillingPastDue, 1, anchor.Add(24*time.Hour))
		if b.Failures != 1 {
			t.Errorf("failures %d after the first decline", b.Failures)
		}
		if cs := apptest.InPeriod(h.Charges(m.ID), 1); len(cs) != 1 || cs[0].Status != payments.ChargeFailed || cs[0].FailureCode != "insufficient_funds" {
			t.Fatalf("period 1 charges %+v, want one declined", cs)
		}
		if state, periods := h.mandatePage(m); !strings.Contains(state, "pill-past_due") || periods["1"] != "retrying" {
			t.Errorf("dashboard shows billing %q, periods %v; want past due, period 1 retrying", state, periods)
		}

		// Not retried before the first retry's time.
		h.Time.Set(anchor.Add(24*time.Hour - time.Second))
		h.Pass()
		if n := len(h.Charges(m.ID)); n != 1 {
			t.Fatalf("%d charges before the first retry was due", n)
		}

		// Retry 1, a day after the due date: declined again.
		h.Time.Set(anchor.Add(24 * time.Hour))
		h.Pass()
		b = h.expectBilling(m, store.BillingPastDue, 1, anchor.Add(72*time.Hour))
		if b.Failures != 2 {
			t.Errorf("failures %d after the second decline", b.Failures)
		}

		// Retry 2, three days after: paid.
		h.Time.Set(anchor.Add(72 * time.Hour))
		h.Pass()
		h.expectBilling(m, store.BillingActive, 2, at(2027, time.February, 28, 10))
		cs := apptest.InPeriod(h.Charges(m.ID), 1)
		if len(cs) != 3 || cs[2].Status != payments.ChargeSucceeded || cs[2].Attempt != 3 {
			t.Fatalf("period 1 charges %+v, want two declined and the third paid", cs)
		}
		want := []string{
			"mandate/" + m.ID + "/period/1/attempt/1",
			"mandate/" + m.ID + "/period/1/attempt/2",
			"mandate/" + m.ID + "/period/1/attempt/3",
		}
		if got := keys.all(); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("idempotency keys sent %q, want %q", got, want)
		}
		if n := h.StripePayments(want[2]); n != 1 {
			t.Errorf("the sandbox holds %d payments for the paid attempt", n)
		}
		if state, periods := h.mandatePage(m); !strings.Contains(state, "pill-active") || periods["1"] != "paid" || periods["2"] != "upcoming" {
			t.Errorf("dashboard shows billing %q, periods %v; want active, period 1 paid, 2 upcoming", state, periods)
		}
		events, _ := h.Store.BillingEvents(context.Background(), m.ID)
		var path []string
		for _, e := range events {
			path = append(path, e.To)
		}
		// Each decline is in the history, the retry's too (past due again).
		if got := strings.Join(path, " "); got != "active past_due past_due active" {
			t.Errorf("billing history %q, want active past_due past_due active", got)
		}

		// Period 2 on its original date.
		h.Time.Set(at(2027, time.February, 28, 10))
		h.Pass()
		h.paidOnce(m, 2)
	})
}

// Every attempt declines (12.01: the sandbox's magic decline): the
// payment is retried 1, 3 and 5 days after its due date, then billing
// ends for non-payment and the mandate is revoked at the provider, by the
// merchant. Nothing is charged after that. For both providers, and for
// PPRO with the first payment (declined too) as period 1's first attempt.
func TestEveryRetryDeclinedEndsForNonPayment(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		for _, tc := range []struct {
			name     string
			provider string
			payNow   bool
		}{{"stripe", "stripe", false}, {"ppro", "ppro", false}, {"ppro first payment", "ppro", true}} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				anchor := at(2027, time.October, 31, 18)
				h := newHarness(t, apptest.On(db), apptest.WithPlan(plan(1201, payments.Month)), apptest.StartingAt(anchor))
				var m store.Mandate
				if tc.provider == "stripe" {
					m = h.ActiveStripe()
				} else {
					m = h.ActivePPRO(tc.payNow)
				}
				for i, retry := range []time.Duration{0, 24 * time.Hour, 72 * time.Hour} {
					h.Time.Set(anchor.Add(retry))
					h.Pass()
					h.expectBilling(m, store.BillingPastDue, 1, anchor.Add([]time.Duration{24, 72, 120}[i]*time.Hour))
					mustActive(t, h.Mandate(m.ID))
				}
				if state, periods := h.mandatePage(m); !strings.Contains(state, "pill-past_due") || periods["1"] != "retrying" {
					t.Errorf("dashboard shows billing %q, periods %v; want past due, period 1 retrying", state, periods)
				}
				h.Time.Set(anchor.Add(120 * time.Hour))
				h.Pass()

				b := h.Billing(m.ID)
				if b.State != store.BillingEnded || b.Failures != 4 {
					t.Fatalf("billing %s with %d failures, want ended after 4", b.State, b.Failures)
				}
				after := h.Mandate(m.ID)
				if after.Status != mandate.Revoked || after.RevokedBy != payments.RevokedByMerchant {
					t.Fatalf("mandate %s revoked by %q, want revoked by merchant", after.Status, after.RevokedBy)
				}
				cs := apptest.InPeriod(h.Charges(m.ID), 1)
				if len(cs) != 4 {
					t.Fatalf("%d attempts for period 1, want 4 (the payment and 3 retries)", len(cs))
				}
				for i, c := range cs {
					if c.Status != payments.ChargeFailed || c.Attempt != i+1 {
						t.Errorf("attempt %d: %+v", i+1, c)
					}
					payments := h.StripePayments
					if m.Provider == "ppro" {
						payments = h.PPROPayments
					}
					if n := payments(c.IdempotencyKey); n != 1 {
						t.Errorf("attempt %d: the provider holds %d payments for it", i+1, n)
					}
				}
				if tc.payNow && cs[0].Kind != store.KindInitial {
					t.Errorf("attempt 1 is %s, want the first payment", cs[0].Kind)
				}
				// Each decline is a row of the billing history, its code said once.
				events, err := h.Store.BillingEvents(context.Background(), m.ID)
				if err != nil {
					t.Fatal(err)
				}
				declines := 0
				for _, e := range events {
					if e.To != store.BillingPastDue && e.To != store.BillingEnded {
						continue
					}
					declines++
					if code := cs[0].FailureCode; code == "" || strings.Count(e.Detail, code) != 1 || !strings.Contains(e.Detail, cs[0].Decline()) {
						t.Errorf("billing history says %q; want the decline %q, its code once", e.Detail, cs[0].Decline())
					}
				}
				if declines != 4 {
					t.Errorf("%d declines in the billing history, want 4", declines)
				}
				// The activity says why the mandate was revoked (its newest
				// status change), not "revoked by the merchant".
				log, err := h.Store.MandateActivity(context.Background(), m.ID)
				if err != nil {
					t.Fatal(err)
				}
				for _, a := range log {
					if a.Kind == store.ActStatus {
						if !strings.HasPrefix(a.What, "Ended for non-payment") || a.By != store.BySchedule {
							t.Errorf("the activity says %q by %s, want the end for non-payment", a.What, a.By)
						}
						break
					}
				}

				// Revoked at the provider, not only here.
				ctx := context.Background()
				switch m.Provider {
				case "stripe":
					pm, err := h.Stripe.PaymentMethods.Get(m.PaymentMethodID, nil)
					if err != nil || pm.Customer != nil {
						t.Errorf("the payment method is still attached at Stripe: %+v, %v", pm, err)
					}
				case "ppro":
					agr, err := h.PPRO.GetAgreement(ctx, m.PaymentMethodID)
					if err != nil || agr.Status != ppro.AgreementRevokedByMerchant {
						t.Errorf("the agreement at PPRO is %s, %v; want revoked by merchant", agr.Status, err)
					}
				}
				if state, periods := h.mandatePage(m); !strings.Contains(state, "pill-ended") || periods["1"] != "failed" {
					t.Errorf("dashboard shows billing %q, periods %v; want ended, period 1 failed", state, periods)
				}

				// Nothing more is charged, whatever the clock says.
				for _, d := range []time.Duration{121 * time.Hour, 31 * 24 * time.Hour, 62 * 24 * time.Hour} {
					h.Time.Set(anchor.Add(d))
					h.Pass()
				}
				if n := len(h.Charges(m.ID)); n != 4 {
					t.Errorf("%d charges after billing ended, want 4", n)
				}
			})
		}
	})
}

// A provider that cannot be reached is not a decline: the same attempt is
// tried again, with the same idempotency key, after a backoff, and no retry
// of the schedule is used up. Here every charge declines (12.01) and the
// provider is unreachable through the first retry's three tries: still
// exactly four attempts before billing ends.
func TestUnreachableProviderUsesNoRetry(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		for _, provider := range []string{"stripe", "ppro"} {
			t.Run(provider, func(t *testing.T) {
				t.Parallel()
				anchor := at(2027, time.April, 30, 7)
				h := newHarness(t, apptest.On(db), apptest.WithPlan(plan(1201, payments.Month)), apptest.StartingAt(anchor))
				var m store.Mandate
				if provider == "stripe" {
					m = h.ActiveStripe()
				} else {
					m = h.ActivePPRO(false)
				}
				h.Pass()
				h.expectBilling(m, store.BillingPastDue, 1, anchor.Add(24*time.Hour))

				var keys keyLog
				var down bool
				var mu sync.Mutex
				h.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
					if !apptest.IsCharge(r) {
						return false
					}
					keys.add(r)
					mu.Lock()
					defer mu.Unlock()
					if down {
						apptest.Drop(w)
						return true
					}
					return false
				})
				mu.Lock()
				down = true
				mu.Unlock()

				retry1 := anchor.Add(24 * time.Hour)
				h.Time.Set(retry1)
				for i, wait := range []time.Duration{0, time.Minute, 10 * time.Minute} {
					h.Time.Set(retry1.Add(wait))
					h.Pass()
					b := h.Billing(m.ID)
					if b.State != store.BillingPastDue || b.Failures != 1 || b.Transient != i+1 || b.LastError == "" {
						t.Fatalf("outage pass %d: billing %+v, want past due, 1 failure, %d unreachable", i+1, b, i+1)
					}
					cs := apptest.InPeriod(h.Charges(m.ID), 1)
					if len(cs) != 2 || cs[1].Status != payments.ChargePending || cs[1].LastError == "" {
						t.Fatalf("outage pass %d: charges %+v, want attempt 2 pending with the problem noted", i+1, cs)
					}
				}
				// The backoff is respected: a pass right after the last
				// failure does not call the provider.
				before := len(keys.all())
				h.Pass()
				if got := len(keys.all()); got != before {
					t.Errorf("a pass within the backoff called the provider")
				}

				mu.Lock()
				down = false
				mu.Unlock()
				h.Time.Set(retry1.Add(time.Hour))
				h.Pass()
				b := h.expectBilling(m, store.BillingPastDue, 1, anchor.Add(72*time.Hour))
				if b.Failures != 2 || b.Transient != 0 {
					t.Fatalf("after the outage: %d failures, %d unreachable; want 2 and 0", b.Failures, b.Transient)
				}
				// At least one call per pass (Go's transport may send a POST
				// with an Idempotency-Key again by itself after a dropped
				// connection), every one with the same key.
				keysSent := keys.all()
				if len(keysSent) < 4 {
					t.Fatalf("%d charge calls for retry 1, want 3 during the outage and 1 after: %q", len(keysSent), keysSent)
				}
				for _, k := range keysSent[1:] {
					if k != keysSent[0] || k == "" {
						t.Fatalf("retry 1 was sent with different idempotency keys: %q", keysSent)
					}
				}

				for _, d := range []time.Duration{72 * time.Hour, 120 * time.Hour} {
					h.Time.Set(anchor.Add(d))
					h.Pass()
				}
				b = h.Billing(m.ID)
				cs := apptest.InPeriod(h.Charges(m.ID), 1)
				if b.State != store.BillingEnded || len(cs) != 4 {
					t.Fatalf("billing %s after %d attempts; want ended after 4: the outage used up no retry", b.State, len(cs))
				}
				payments := h.StripePayments
				if provider == "ppro" {
					payments = h.PPROPayments
				}
				for _, c := range cs {
					if n := payments(c.IdempotencyKey); n != 1 {
						t.Errorf("attempt %d: the provider holds %d payments", c.Attempt, n)
					}
				}
			})
		}
	})
}

// The provider made the payment but its answer was lost (the connection
// dropped after the sandbox recorded it): the next pass asks again with
// the same key, the provider answers with the payment it made, and there
// is still exactly one payment.
func TestLostAnswerIsNotASecondPayment(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		for _, provider := range []string{"stripe", "ppro"} {
			t.Run(provider, func(t *testing.T) {
				t.Parallel()
				anchor := at(2027, time.June, 15, 12)
				h := newHarness(t, apptest.On(db), apptest.StartingAt(anchor))
				var m store.Mandate
				if provider == "stripe" {
					m = h.ActiveStripe()
				} else {
					m = h.ActivePPRO(false)
				}
				// Every answer of the first pass is lost: Go's transport sends
				// a POST with an Idempotency-Key once more on a new connection
				// by itself, and that answer is lost too.
				var keys keyLog
				var mu sync.Mutex
				losing := true
				h.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
					if !apptest.IsCharge(r) {
						return false
					}
					keys.add(r)
					mu.Lock()
					defer mu.Unlock()
					if losing {
						h.Forward(httptest.NewRecorder(), r) // the provider does the work…
						apptest.Drop(w)                      // …and the answer never arrives
						return true
					}
					return false
				})
				h.Pass()
				mu.Lock()
				losing = false
				mu.Unlock()
				key := "mandate/" + m.ID + "/period/1/attempt/1"
				payments := h.StripePayments
				if provider == "ppro" {
					payments = h.PPROPayments
				}
				if n := payments(key); n != 1 {
					t.Fatalf("the provider holds %d payments after the lost answer, want 1", n)
				}
				if cs := h.Charges(m.ID); len(cs) != 1 || cs[0].Status != "pending" {
					t.Fatalf("charges %+v, want one pending", cs)
				}
				h.expectBilling(m, store.BillingActive, 1, anchor)

				h.Time.Set(anchor.Add(time.Minute))
				h.Pass()
				h.paidOnce(m, 1)
				h.expectBilling(m, store.BillingActive, 2, at(2027, time.July, 15, 12))
				got := keys.all()
				if len(got) < 2 {
					t.Errorf("keys sent %q, want the charge sent again after the lost answer", got)
				}
				for _, k := range got {
					if k != got[0] || k == "" {
						t.Errorf("keys sent %q, want the same key every time", got)
						break
					}
				}
			})
		}
	})
}

// Billing ends for non-payment while the provider cannot be reached to be
// told: billing is ended and the mandate still active at first; once the
// provider is back, the worker's reconciliation revokes it there.
func TestRevocationAfterNonPaymentIsRetried(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		for _, provider := range []string{"stripe", "ppro"} {
			t.Run(provider, func(t *testing.T) {
				t.Parallel()
				anchor := at(2027, time.July, 31, 5)
				h := newHarness(t, apptest.On(db), apptest.WithPlan(plan(1202, payments.Month)), apptest.StartingAt(anchor))
				var m store.Mandate
				if provider == "stripe" {
					m = h.ActiveStripe()
				} else {
					m = h.ActivePPRO(false)
				}
				var down sync.Mutex
				var revokes int
				revoking := true
				h.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
					down.Lock()
					defer down.Unlock()
					if r.Method == http.MethodPost && (strings.HasSuffix(r.URL.Path, "/detach") || strings.HasSuffix(r.URL.Path, "/revocations")) {
						revokes++
						if revoking {
							apptest.Drop(w)
							return true
						}
					}
					return false
				})
				for _, d := range []time.Duration{0, 24 * time.Hour, 72 * time.Hour, 120 * time.Hour} {
					h.Time.Set(anchor.Add(d))
					h.Pass()
				}
				if b := h.Billing(m.ID); b.State != store.BillingEnded {
					t.Fatalf("billing %s after four declines, want ended", b.State)
				}
				mustActive(t, h.Mandate(m.ID)) // not revoked yet: the provider was not told
				down.Lock()
				revoking = false
				tried := revokes
				down.Unlock()
				if tried == 0 {
					t.Fatal("the provider was never asked to revoke")
				}

				h.Time.Set(anchor.Add(121 * time.Hour))
				h.Pass()
				after := h.Mandate(m.ID)
				if after.Status != mandate.Revoked || after.RevokedBy != payments.RevokedByMerchant {
					t.Fatalf("mandate %s by %q after reconciliation, want revoked by merchant", after.Status, after.RevokedBy)
				}
				if e := h.lastChange(after); e.Source != mandate.SourceWorker {
					t.Errorf("revoked by %s, want the worker", e.Source)
				}
				if b := h.Billing(m.ID); b.State != store.BillingEnded {
					t.Errorf("billing %s after the revocation, want still ended", b.State)
				}
			})
		}
	})
}

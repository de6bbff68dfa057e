package handlers_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"example.com/storefront/payments"
	"example.com/storefront/payments/ppro"
	"example.com/storefront/payments/stripeprovider"
	"example.com/storefront/service"
	"example.com/storefront/store"
	"example.com/storefront/worker"
)

// A crash between writing a charge and recording the provider's answer
// leaves a pending charge; after a restart the worker's reconciliation
// finishes it with the same idempotency key, and the provider holds exactly
// one payment with its reference (or none, when it was never sent and the
// provider has long forgotten the key).
func TestAdminChargeCrashIsFinishedAfterRestart(t *testing.T) {
	t.Parallel()
	for _, provider := range merchantProviders {
		for _, tc := range []struct {
			name string
			// sent: the request reached the provider, whose answer was lost;
			// otherwise the process died before sending it.
			sent bool
			// later is how long after the crash the app runs again.
			later time.Duration
			want  payments.ChargeState
			held  int // payments the provider holds with the charge's reference
		}{
			{"written, never sent", false, 2 * time.Minute, payments.ChargeSucceeded, 1},
			{"sent, answer lost", true, 2 * time.Minute, payments.ChargeSucceeded, 1},
			{"sent, answer lost, key forgotten", true, 25 * time.Hour, payments.ChargeSucceeded, 1},
			{"written, never sent, key forgotten", false, 25 * time.Hour, payments.ChargeFailed, 0},
		} {
			t.Run(provider+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t)
				m, _ := e.activeMandate(provider)
				ctx := context.Background()
				var c store.Charge
				if tc.sent {
					// The provider makes the payment; its answer never arrives.
					e.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
						if !isPaymentCreate(r.Method + " " + r.URL.Path) {
							return false
						}
						e.Forward(httptest.NewRecorder(), r)
						conn, _, err := w.(http.Hijacker).Hijack()
						if err == nil {
							conn.Close()
						}
						return true
					})
					admin := e.adminBrowser()
					after := e.send(admin, chargeForm(e.adminPage(admin, m.ID), "12.00"))
					e.Intercept(nil)
					charges := e.merchantCharges(m.ID)
					if len(charges) != 1 {
						t.Fatalf("%d charges", len(charges))
					}
					c = charges[0]
					if c.Status != payments.ChargePending || c.LastError == "" || c.ProviderRef != "" {
						t.Fatalf("charge after a lost answer = %+v", c)
					}
					if flash, _ := after.TestID("flash"); !strings.Contains(flash, "could not be reached") ||
						!strings.Contains(flash, "never charged twice") {
						t.Errorf("flash %q", flash)
					}
					if got := e.providerPayments(m, c.IdempotencyKey); len(got) != 1 {
						t.Fatalf("the provider holds %+v", got)
					}
				} else {
					var err error
					c, _, err = e.Store.CreateCharge(ctx, store.NewCharge{MandateID: m.ID, Kind: store.KindMerchant,
						InitiatedBy: store.ByMerchant, Amount: payments.Money{Amount: 1200, Currency: "USD"}})
					if err != nil {
						t.Fatal(err)
					}
				}

				// The process is gone; a new one starts on the same database
				// file, later, and its worker reconciles.
				e.Clock.Set(e.Clock.Offset() + tc.later)
				w := e.restart()
				if _, err := w.Pass(ctx); err != nil {
					t.Fatal(err)
				}
				after, err := e.Store.Charge(ctx, c.ID)
				if err != nil {
					t.Fatal(err)
				}
				if after.Status != tc.want || after.LastError != "" {
					t.Fatalf("after the restart the charge is %+v", after)
				}
				held := e.providerPayments(m, c.IdempotencyKey)
				if len(held) != tc.held {
					t.Fatalf("the provider holds %d payments with %s, want %d: %+v", len(held), c.IdempotencyKey, tc.held, held)
				}
				if tc.held == 1 && (after.ProviderRef != held[0].ID || held[0].Amount != 1200) {
					t.Errorf("charge %s, the provider's %+v", after.ProviderRef, held[0])
				}
				if tc.want == payments.ChargeFailed && after.FailureCode != "not_made" {
					t.Errorf("a payment never made: %+v", after)
				}
				// Another pass changes nothing.
				if _, err := w.Pass(ctx); err != nil {
					t.Fatal(err)
				}
				if again := e.providerPayments(m, c.IdempotencyKey); len(again) != tc.held {
					t.Errorf("a second pass: %+v", again)
				}
				if got := e.merchantCharges(m.ID); len(got) != 1 {
					t.Errorf("%d merchant charges", len(got))
				}
			})
		}
	}
}

// restart is a new process on the env's database file: its own store,
// providers (straight to the sandbox), service and worker, on the env's
// clock. Nothing of the old process's memory comes along. It starts a few
// minutes of real time later: what the old process had in flight then is
// no longer (store.InFlightFor), and is looked up or sent again.
func (e *env) restart() *worker.Worker {
	e.t.Helper()
	e.Real.Advance(store.InFlightFor + time.Minute)
	st, err := store.Open(context.Background(), e.DBFile, e.Clock.Now, store.LeaseClock(e.Real.Now))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { st.Close() })
	sp, err := stripeprovider.New(stripeprovider.Config{SecretKey: sandboxKey, APIURL: e.URL + "/sandbox/stripe", Sandbox: true})
	if err != nil {
		e.t.Fatal(err)
	}
	pc, err := ppro.NewClient(ppro.Config{BaseURL: e.URL + "/sandbox/ppro", Token: pproToken, MerchantID: pproMerchant, MaxRetries: -1})
	if err != nil {
		e.t.Fatal(err)
	}
	providers := []payments.Provider{sp, ppro.NewProvider(pc, payments.ModeSandbox, "")}
	svc, err := service.New(service.Config{Store: st, Providers: providers, Logger: e.Log})
	if err != nil {
		e.t.Fatal(err)
	}
	return worker.New(worker.Config{Store: st, Service: svc, Providers: providers, Now: e.Clock.Now, Logger: e.Log})
}

// A refund whose answer is lost (the process died, or the connection did)
// stays pending without the provider's id; the worker of the next process
// finishes it with the same idempotency key, and the provider holds exactly
// one refund of that amount: the money goes back once.
func TestAdminRefundAnswerLostIsFinishedAfterRestart(t *testing.T) {
	t.Parallel()
	for _, provider := range merchantProviders {
		t.Run(provider, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			m, _ := e.activeMandate(provider)
			ctx := context.Background()
			admin := e.adminBrowser()
			e.send(admin, chargeForm(e.adminPage(admin, m.ID), "12.00"))
			c := e.merchantCharges(m.ID)[0]
			if c.Status != payments.ChargeSucceeded {
				t.Fatalf("charge %+v", c)
			}

			// The provider makes the refund; its answer never arrives.
			e.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
				if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/refunds") {
					return false
				}
				e.Forward(httptest.NewRecorder(), r)
				if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
					conn.Close()
				}
				return true
			})
			e.send(admin, refundForm(e.adminPage(admin, m.ID), c.ID, "5.00"))
			e.Intercept(nil)
			refunds, err := e.Store.Refunds(ctx, m.ID)
			if err != nil || len(refunds) != 1 || refunds[0].Status != payments.RefundPending || refunds[0].ProviderRef != "" {
				t.Fatalf("refunds after a lost answer: %+v (%v)", refunds, err)
			}
			if got := e.providerRefunded(m, c); got != 500 {
				t.Fatalf("the provider refunded %d, want 500", got)
			}

			// A new process on the same database, a little later.
			e.Clock.Set(e.Clock.Offset() + 2*time.Minute)
			w := e.restart()
			for range 2 { // Stripe's refunds settle a moment after they are made
				if _, err := w.Pass(ctx); err != nil {
					t.Fatal(err)
				}
				e.Clock.Set(e.Clock.Offset() + 2*time.Minute)
				e.Real.Advance(store.InFlightFor + time.Minute) // the refund sent again is no longer in flight
			}
			refunds, _ = e.Store.Refunds(ctx, m.ID)
			after, _ := e.Store.Charge(ctx, c.ID)
			if len(refunds) != 1 || refunds[0].Status != payments.RefundSucceeded || refunds[0].ProviderRef == "" ||
				after.Status != payments.ChargePartiallyRefunded || after.Refunded != 500 {
				t.Fatalf("after the restart: refunds %+v, charge %+v", refunds, after)
			}
			if got := e.providerRefunded(m, c); got != 500 {
				t.Errorf("the provider refunded %d, want 500 once", got)
			}
		})
	}
}

// providerRefunded is how much of a charge the provider itself has
// refunded: Stripe's amount_refunded on the PaymentIntent's charge, the sum
// of PPRO's refunds of the payment charge.
func (e *env) providerRefunded(m store.Mandate, c store.Charge) int64 {
	e.t.Helper()
	switch m.Provider {
	case "stripe":
		p := &stripe.PaymentIntentParams{}
		p.AddExpand("latest_charge")
		pi, err := e.Stripe.PaymentIntents.Get(c.ProviderRef, p)
		if err != nil || pi.LatestCharge == nil {
			e.t.Fatalf("get %s: %v", c.ProviderRef, err)
		}
		return pi.LatestCharge.AmountRefunded
	case "ppro":
		var res struct{ Data []struct{ Amount int64 } }
		e.pproGet("/v1/payment-charges/"+c.ProviderRef+"/refunds", &res)
		var sum int64
		for _, r := range res.Data {
			sum += r.Amount
		}
		return sum
	}
	e.t.Fatalf("no provider %s", m.Provider)
	return 0
}

package worker_test

import (
	"context"
	"example.com/storefront/internal/dbtest"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"example.com/storefront/billing"
	"example.com/storefront/internal/apptest"
	"example.com/storefront/payments"
	"example.com/storefront/store"
	"example.com/storefront/worker"
)

// Two app processes on one database (two stores on the same file, each
// with its own providers, service and worker) pass concurrently, in
// small batches, over six months of due periods for many mandates of both
// providers: every (mandate, period) is paid by exactly one charge, and
// the providers hold exactly one payment per period.
func TestTwoProcessesChargeEachPeriodOnce(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		anchor := at(2027, time.January, 31, 6)
		small := func(c *worker.Config) { c.Batch = 3 }
		h := newHarness(t, apptest.On(db), apptest.StartingAt(anchor), apptest.WithWorker(small))
		var mandates []store.Mandate
		for range 10 {
			mandates = append(mandates, h.ActiveStripe())
		}
		for i := range 6 {
			mandates = append(mandates, h.ActivePPRO(i%2 == 0)) // half with the first payment as period 1
		}
		other := h.secondProcess(small).Worker
		workers := []*worker.Worker{h.Worker, other}

		const months = 6
		var charged [2]atomic.Int64
		for k := range months {
			now := billing.Due(anchor, payments.Month, k+1)
			h.Time.Set(now)
			done := func() bool {
				for _, m := range mandates {
					if h.Billing(m.ID).NextPeriod != k+2 {
						return false
					}
				}
				return true
			}
			var wg sync.WaitGroup
			for i, w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range 50 {
						r, err := w.Pass(context.Background())
						if err != nil {
							t.Errorf("worker %d: %v", i, err)
							return
						}
						charged[i].Add(int64(r.Charged))
						if r.Charged == 0 && done() {
							return
						}
					}
				}()
			}
			wg.Wait()
			if !done() {
				t.Fatalf("month %d: not every period %d was charged", k+1, k+1)
			}
		}

		stripeMandates, pproMandates := 0, 0
		for _, m := range mandates {
			if m.Provider == "stripe" {
				stripeMandates++
			} else {
				pproMandates++
			}
			for n := 1; n <= months; n++ {
				h.paidOnce(m, n)
			}
			if got := len(h.Charges(m.ID)); got != months {
				t.Errorf("mandate %s has %d charges for %d periods", m.ID, got, months)
			}
		}
		if got := h.SandboxCount(`SELECT count(*) FROM stripe_payment_intents`); got != stripeMandates*months {
			t.Errorf("Stripe holds %d PaymentIntents, want %d", got, stripeMandates*months)
		}
		if got := h.SandboxCount(`SELECT count(*) FROM ppro_charges`); got != pproMandates*months {
			t.Errorf("PPRO holds %d charges, want %d", got, pproMandates*months)
		}
		if charged[0].Load() == 0 || charged[1].Load() == 0 {
			t.Errorf("charges made by each process: %d and %d; want both to have worked", charged[0].Load(), charged[1].Load())
		}
		t.Logf("charges made by each process: %d and %d", charged[0].Load(), charged[1].Load())
	})
}

// A worker that stops answering while its charge is on its way (a process
// that hangs or dies) loses its claim when the lease expires; another
// process takes the period over, finishes the same attempt with the same
// idempotency key, and the provider makes one payment. When the first
// worker's call finally completes, it gets the same payment back and
// changes nothing.
func TestExpiredLeaseIsTakenOverWithoutASecondPayment(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		anchor := at(2027, time.March, 1, 6)
		h := newHarness(t, apptest.On(db), apptest.StartingAt(anchor))
		m := h.ActiveStripe()
		other := h.secondProcess(nil).Worker

		var keys keyLog
		release := make(chan struct{})
		var releaseOnce sync.Once
		let := func() { releaseOnce.Do(func() { close(release) }) }
		held := make(chan struct{})
		var calls atomic.Int32
		h.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
			if !apptest.IsCharge(r) {
				return false
			}
			keys.add(r)
			if calls.Add(1) == 1 {
				close(held)
				<-release // the first worker's call hangs…
			}
			return false // …then goes on to the sandbox
		})
		firstDone := make(chan error, 1)
		go func() {
			_, err := h.Worker.Pass(context.Background())
			firstDone <- err
		}()
		t.Cleanup(func() { // even when the test fails early: let the first worker finish
			let()
			select {
			case <-firstDone:
			case <-time.After(10 * time.Second):
			}
		})
		<-held
		if cs := h.Charges(m.ID); len(cs) != 1 || cs[0].Status != payments.ChargePending {
			t.Fatalf("charges while the first worker's call hangs: %+v", cs)
		}

		// Within the lease nobody else touches it.
		h.Time.Set(anchor.Add(time.Minute))
		if r, err := other.Pass(context.Background()); err != nil || r.Charged != 0 || calls.Load() != 1 {
			t.Fatalf("the second process acted within the lease: %+v, %v, %d calls", r, err, calls.Load())
		}
		// After it, the second process finishes the same attempt.
		h.Time.Set(anchor.Add(3 * time.Minute))
		if r, err := other.Pass(context.Background()); err != nil || r.Charged != 0 {
			t.Fatalf("second process: %+v, %v; want the pending attempt finished, no new one", r, err)
		}
		c := h.paidOnce(m, 1)
		h.expectBilling(m, store.BillingActive, 2, at(2027, time.April, 1, 6))

		let()
		if err := <-firstDone; err != nil {
			t.Fatalf("the first worker's pass: %v", err)
		}
		if again := h.paidOnce(m, 1); again != c {
			t.Errorf("the first worker's late answer changed the charge: %+v, was %+v", again, c)
		}
		h.expectBilling(m, store.BillingActive, 2, at(2027, time.April, 1, 6))
		want := fmt.Sprintf("mandate/%s/period/1/attempt/1", m.ID)
		if got := keys.all(); len(got) != 2 || got[0] != want || got[1] != want {
			t.Errorf("keys sent %q, want %s twice", got, want)
		}
	})
}

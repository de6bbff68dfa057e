package worker_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"example.com/storefront/internal/apptest"
	"example.com/storefront/internal/dbtest"
	"example.com/storefront/payments"
	"example.com/storefront/store"
	"example.com/storefront/worker"
)

// chargeFor is the mandate a charge call is for, from its idempotency key.
func chargeFor(r *http.Request, ms []store.Mandate) (store.Mandate, bool) {
	key := r.Header.Get("Idempotency-Key")
	for _, m := range ms {
		if strings.HasPrefix(key, "mandate/"+m.ID+"/") {
			return m, true
		}
	}
	return store.Mandate{}, false
}

// One pass charges a batch of due periods together. Of the batch, one
// call gets no answer (the connection dropped), one a 409 (the key's
// first request still running), one a 503, one a decline: the others are
// paid and settled in that same pass all the same; the three without an
// answer are tried again after the backoff with the same keys and paid
// once; the decline is past due, its retry on the schedule.
func TestBatchOneChargesTroubleHoldsBackNoOther(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		anchor := at(2027, time.May, 3, 8)
		h := newHarness(t, apptest.On(db), apptest.StartingAt(anchor), apptest.WithWorker(func(c *worker.Config) { c.InFlight = 3 }))
		var ms []store.Mandate
		for range 8 {
			ms = append(ms, h.ActiveStripe())
		}
		dropped, conflict, unavailable, declined := ms[1], ms[3], ms[4], ms[6]
		var keys keyLog
		var mu sync.Mutex
		trouble := true
		h.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
			if !apptest.IsCharge(r) {
				return false
			}
			keys.add(r)
			mu.Lock()
			on := trouble
			mu.Unlock()
			m, _ := chargeFor(r, ms)
			switch {
			case !on:
				return false
			case m.ID == dropped.ID:
				apptest.Drop(w)
			case m.ID == conflict.ID:
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusConflict)
				fmt.Fprint(w, `{"error":{"type":"idempotency_error","message":"Another request with this key is still running."}}`)
			case m.ID == unavailable.ID:
				w.WriteHeader(http.StatusServiceUnavailable)
			case m.ID == declined.ID:
				stripeDecline(w)
			default:
				return false
			}
			return true
		})
		r := h.Pass()
		if r.Charged != len(ms) {
			t.Errorf("the pass made %d charges, want %d", r.Charged, len(ms))
		}
		for _, m := range ms {
			switch m.ID {
			case dropped.ID, conflict.ID, unavailable.ID:
				b := h.Billing(m.ID)
				cs := h.Charges(m.ID)
				if b.NextPeriod != 1 || b.Transient != 1 || len(cs) != 1 || cs[0].Status != payments.ChargePending || cs[0].LastError == "" {
					t.Errorf("without an answer: billing %+v, charges %+v; want period 1 postponed, its charge pending with the problem noted", b, cs)
				}
			case declined.ID:
				if b := h.expectBilling(m, store.BillingPastDue, 1, anchor.Add(24*time.Hour)); b.Failures != 1 {
					t.Errorf("declined: %d failures, want 1", b.Failures)
				}
			default:
				h.paidOnce(m, 1)
				h.expectBilling(m, store.BillingActive, 2, at(2027, time.June, 3, 8))
			}
		}

		mu.Lock()
		trouble = false
		mu.Unlock()
		h.Time.Set(anchor.Add(time.Hour)) // past every backoff
		if r := h.Pass(); r.Charged != 0 {
			t.Errorf("the second pass made %d new charges, want none: the same attempts are finished", r.Charged)
		}
		for _, m := range []store.Mandate{dropped, conflict, unavailable} {
			h.paidOnce(m, 1)
			h.expectBilling(m, store.BillingActive, 2, at(2027, time.June, 3, 8))
			want := fmt.Sprintf("mandate/%s/period/1/attempt/1", m.ID)
			n := 0
			for _, k := range keys.all() {
				if strings.HasPrefix(k, "mandate/"+m.ID+"/") {
					if k != want {
						t.Errorf("%s sent with key %s, want %s", m.ID, k, want)
					}
					n++
				}
			}
			if n < 2 {
				t.Errorf("%s: %d calls, want the first and the one after the backoff", m.ID, n)
			}
		}
	})
}

// A batch writes every charge row, marked sent, before its first call,
// and has at most InFlight calls at the provider at once (and that many:
// the calls do run together).
func TestBatchWritesEveryRowFirstAndBoundsTheCalls(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		const inFlight, n = 3, 8
		anchor := at(2027, time.May, 3, 8)
		h := newHarness(t, apptest.On(db), apptest.StartingAt(anchor), apptest.WithWorker(func(c *worker.Config) { c.InFlight = inFlight }))
		var ms []store.Mandate
		for range n {
			ms = append(ms, h.ActiveStripe())
		}
		var mu sync.Mutex
		arrived, now, most := 0, 0, 0
		rowsAtFirstCall := -1
		full := make(chan struct{}) // closed once inFlight calls were in at once
		// A worker that never makes them fails the test rather than hang it.
		giveUp := make(chan struct{})
		defer time.AfterFunc(10*time.Second, func() { close(giveUp) }).Stop()
		h.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
			if !apptest.IsCharge(r) {
				return false
			}
			mu.Lock()
			arrived++
			if arrived == 1 {
				rowsAtFirstCall = h.AppCount(`SELECT count(*) FROM charges WHERE kind = 'scheduled' AND status = 'pending'
					AND first_sent_at IS NOT NULL AND last_sent_real_at IS NOT NULL`)
			}
			now++
			most = max(most, now)
			if now == inFlight {
				select {
				case <-full:
				default:
					close(full)
				}
			}
			mu.Unlock()
			// The first calls wait for each other: only a worker that
			// makes inFlight calls at once gets past this.
			select {
			case <-full:
			case <-giveUp:
			}
			h.Forward(w, r)
			mu.Lock()
			now--
			mu.Unlock()
			return true
		})
		if r := h.Pass(); r.Charged != n {
			t.Errorf("the pass made %d charges, want %d", r.Charged, n)
		}
		mu.Lock()
		defer mu.Unlock()
		if rowsAtFirstCall != n {
			t.Errorf("%d charge rows written and marked sent at the first call, want %d", rowsAtFirstCall, n)
		}
		if most != inFlight {
			t.Errorf("at most %d calls at once, want %d", most, inFlight)
		}
		for _, m := range ms {
			h.paidOnce(m, 1)
			h.expectBilling(m, store.BillingActive, 2, at(2027, time.June, 3, 8))
		}
	})
}

// A pass cut short in the middle of its batch (the process stopping)
// leaves the rest of the batch's rows pending, written with their keys
// before any call: once its lease has expired, another process finishes
// each of them with its own key, and the provider makes one payment per
// period.
func TestBatchCutShortIsFinishedWithTheSameKeys(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		anchor := at(2027, time.May, 3, 8)
		one := func(c *worker.Config) { c.InFlight = 1 }
		h := newHarness(t, apptest.On(db), apptest.StartingAt(anchor), apptest.WithWorker(one))
		var ms []store.Mandate
		for range 4 {
			ms = append(ms, h.ActiveStripe())
		}
		ctx, stop := context.WithCancel(context.Background())
		defer stop()
		var keys keyLog
		h.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
			if !apptest.IsCharge(r) {
				return false
			}
			keys.add(r)
			h.Forward(w, r)
			stop() // the process stops as the provider answers its first call
			return true
		})
		h.Worker.Pass(ctx)
		if got := len(keys.all()); got != 1 {
			t.Fatalf("%d calls after the stop, want the first alone", got)
		}
		if got := h.AppCount(`SELECT count(*) FROM charges WHERE status = 'pending'`); got < len(ms)-1 {
			t.Fatalf("%d charges pending after the stop, want every row of the batch but the first", got)
		}

		other := h.secondProcess(nil).Worker
		h.Time.Set(anchor.Add(time.Minute))
		if r, err := other.Pass(context.Background()); err != nil || r.Charged != 0 {
			t.Fatalf("within the lease: %+v, %v; want nothing done", r, err)
		}
		h.Time.Set(anchor.Add(3 * time.Minute))
		if r, err := other.Pass(context.Background()); err != nil || r.Charged != 0 {
			t.Fatalf("after the lease: %+v, %v; want the pending attempts finished, no new one", r, err)
		}
		for _, m := range ms {
			h.paidOnce(m, 1)
			h.expectBilling(m, store.BillingActive, 2, at(2027, time.June, 3, 8))
		}
	})
}

// A pass whose batch comes back full leaves more work due: the worker goes
// on at once, not WORKER_INTERVAL later. Eleven payments due, in batches
// of three with passes an hour apart and each pass claiming once
// (BillFor), are all made within moments, each once.
func TestRunGoesOnWhileBatchesComeBackFull(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		const n = 11
		h := newHarness(t, apptest.On(db), apptest.StartingAt(at(2027, time.May, 3, 8)),
			apptest.WithWorker(func(c *worker.Config) { c.Batch, c.InFlight, c.Interval, c.BillFor = 3, 2, time.Hour, time.Nanosecond }))
		var ms []store.Mandate
		for range n {
			ms = append(ms, h.ActiveStripe())
		}
		runCtx, stop := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			h.Worker.Run(runCtx)
		}()
		defer func() {
			stop()
			<-done
		}()
		deadline := time.Now().Add(30 * time.Second)
		for {
			paid := 0
			for _, m := range ms {
				if h.Billing(m.ID).NextPeriod == 2 {
					paid++
				}
			}
			if paid == n {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("after 30 s, with passes an hour apart: %d of %d periods paid", paid, n)
			}
			time.Sleep(20 * time.Millisecond)
		}
		for _, m := range ms {
			h.paidOnce(m, 1)
		}
	})
}

// While its claims come back full, a pass claims batch after batch, the
// batches sharing InFlight calls: eleven payments due in batches of three
// are made in one pass, never more than two calls at once, each once.
func TestPassClaimsBatchAfterBatchSharingTheCalls(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		const n, inFlight = 11, 2
		h := newHarness(t, apptest.On(db), apptest.StartingAt(at(2027, time.May, 3, 8)),
			apptest.WithWorker(func(c *worker.Config) { c.Batch, c.InFlight, c.BillFor = 3, inFlight, time.Hour }))
		var ms []store.Mandate
		for range n {
			ms = append(ms, h.ActiveStripe())
		}
		var mu sync.Mutex
		now, most := 0, 0
		h.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
			if !apptest.IsCharge(r) {
				return false
			}
			mu.Lock()
			now++
			most = max(most, now)
			mu.Unlock()
			time.Sleep(5 * time.Millisecond) // long enough for the calls to overlap
			h.Forward(w, r)
			mu.Lock()
			now--
			mu.Unlock()
			return true
		})
		if r := h.Pass(); r.Charged != n || r.More {
			t.Errorf("the pass made %d charges (more: %v), want %d and no more", r.Charged, r.More, n)
		}
		mu.Lock()
		defer mu.Unlock()
		if most > inFlight {
			t.Errorf("%d calls at once, want at most %d", most, inFlight)
		}
		for _, m := range ms {
			h.paidOnce(m, 1)
		}
	})
}

package worker_test

import (
	"context"
	"example.com/storefront/internal/dbtest"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"example.com/storefront/clock"
	"example.com/storefront/internal/apptest"
	"example.com/storefront/internal/pagetest"
	"example.com/storefront/mandate"
	"example.com/storefront/payments"
	"example.com/storefront/worker"
)

func (h *harness) processWithOwnClock() *process {
	h.t.Helper()
	c := clock.New(h.Time.Now)
	return h.newProcess(c, c.Real, nil)
}

// Two processes on one database agree on the demo clock: a move made on
// one is seen by the other (which follows the stored offset as main runs
// it), and a press on a process that has not seen the other's move yet
// still moves the clock once more, never writes its older reading back.
func TestDemoClockIsSharedByProcesses(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		h := newHarness(t, apptest.On(db))
		a, b := h.processWithOwnClock(), h.processWithOwnClock()
		ctx := context.Background()
		const month = 30 * 24 * time.Hour

		// b has not read the database since it started: a presses, then b.
		if _, err := a.Demo.Advance(ctx, month); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Demo.Advance(ctx, month); err != nil {
			t.Fatal(err)
		}
		if off, err := h.Store.DemoClockOffset(ctx); err != nil || off != 2*month {
			t.Fatalf("after a press on each process the stored offset is %v (%v), want two moves, %v", off, err, 2*month)
		}
		if b.Clock.Offset() != 2*month {
			t.Errorf("the process that pressed last reads %v, want %v", b.Clock.Offset(), 2*month)
		}

		// a follows the database: b's move shows within a few follow periods.
		followCtx, stop := context.WithCancel(ctx)
		var followers sync.WaitGroup
		followers.Add(1)
		go func() { defer followers.Done(); a.Demo.Follow(followCtx, worker.DemoFollowEvery, testLogger()) }()
		t.Cleanup(func() { stop(); followers.Wait() })
		start := time.Now()
		for a.Clock.Offset() != 2*month {
			if time.Since(start) > 10*time.Second {
				t.Fatalf("10 s after the other process's press this one reads %v, want %v", a.Clock.Offset(), 2*month)
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Logf("the other process's move was seen after %v", time.Since(start).Round(time.Millisecond))

		// Presses at the same moment on both are two moves.
		var presses sync.WaitGroup
		for _, p := range []*process{a, b} {
			presses.Add(1)
			go func() {
				defer presses.Done()
				if _, err := p.Demo.Advance(ctx, 24*time.Hour); err != nil {
					t.Error(err)
				}
			}()
		}
		presses.Wait()
		if off, _ := h.Store.DemoClockOffset(ctx); off != 2*month+48*time.Hour {
			t.Errorf("after two simultaneous presses of a day the stored offset is %v, want %v", off, 2*month+48*time.Hour)
		}

		// A reset on one is seen by the other.
		if err := b.Demo.Reset(ctx); err != nil {
			t.Fatal(err)
		}
		start = time.Now()
		for a.Clock.Offset() != 0 {
			if time.Since(start) > 10*time.Second {
				t.Fatalf("10 s after the other process's reset this one reads %v", a.Clock.Offset())
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// Leases are measured in real time: a process whose demo clock runs a
// month ahead (one that has not yet seen a reset, say) does not take over
// a billing or a webhook event another process holds; once the lease has
// run out in real time, it does.
func TestLeasesAreRealTime(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		h := newHarness(t, apptest.On(db), apptest.StartingAt(at(2027, time.March, 1, 6)))
		m := h.ActiveStripe() // period 1 is due
		ahead := h.processWithOwnClock()
		ahead.Clock.Set(31 * 24 * time.Hour)
		ctx := context.Background()
		const lease = 2 * time.Minute

		held, err := h.Store.ClaimDueBilling(ctx, "first", h.Clock.Now(), lease, 10)
		if err != nil || len(held) != 1 || held[0].MandateID != m.ID {
			t.Fatalf("the first process's claim: %+v, %v", held, err)
		}
		ev, _, err := h.Store.StoreWebhookEvent(ctx, "stripe", payments.Event{ID: "evt_lease", Type: "mandate.updated"})
		if err != nil {
			t.Fatal(err)
		}
		if events, err := h.Store.ClaimWebhookEvents(ctx, time.Minute, 10); err != nil || len(events) != 1 {
			t.Fatalf("the first process's claim of the event: %+v, %v", events, err)
		}

		// Within the leases, in real time, the process ahead takes nothing.
		h.Time.Advance(50 * time.Second)
		if got, err := ahead.Store.ClaimDueBilling(ctx, "ahead", ahead.Clock.Now(), lease, 10); err != nil || len(got) != 0 {
			t.Errorf("the process a month ahead took a held billing: %+v, %v", got, err)
		}
		if got, err := ahead.Store.ClaimWebhookEvents(ctx, time.Minute, 10); err != nil || len(got) != 0 {
			t.Errorf("the process a month ahead took a held webhook event: %+v, %v", got, err)
		}
		if ok, err := ahead.Store.ClaimWebhookEvent(ctx, ev.ID, time.Minute); err != nil || ok {
			t.Errorf("the process a month ahead took a held webhook event as it arrived again: %v, %v", ok, err)
		}
		if got := h.Billing(m.ID).LeaseOwner; got != "first" {
			t.Errorf("the billing's lease is %q's, want the first process's", got)
		}

		// After the leases, in real time, it takes the work over.
		h.Time.Advance(2 * time.Minute)
		if got, err := ahead.Store.ClaimDueBilling(ctx, "ahead", ahead.Clock.Now(), lease, 10); err != nil || len(got) != 1 {
			t.Errorf("after the lease ran out the process ahead claimed %+v, %v; want the billing", got, err)
		}
		if got, err := ahead.Store.ClaimWebhookEvents(ctx, time.Minute, 10); err != nil || len(got) != 1 {
			t.Errorf("after the lease ran out the process ahead claimed %+v, %v; want the event", got, err)
		}
	})
}

// A postponed billing (the provider could not be reached) waits its
// backoff in real time: a process whose demo clock runs ahead does not try
// it again at once.
func TestPostponementIsRealTime(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		h := newHarness(t, apptest.On(db), apptest.StartingAt(at(2027, time.March, 1, 6)))
		m := h.ActiveStripe()
		ahead := h.processWithOwnClock()
		ahead.Clock.Set(31 * 24 * time.Hour)
		ctx := context.Background()
		if _, err := h.Store.ClaimDueBilling(ctx, "first", h.Clock.Now(), 2*time.Minute, 10); err != nil {
			t.Fatal(err)
		}
		if err := h.Store.PostponeBilling(ctx, m.ID, "first", h.Clock.Now().Add(time.Minute), "unreachable", h.Clock.Now()); err != nil {
			t.Fatal(err)
		}
		if got, err := ahead.Store.ClaimDueBilling(ctx, "ahead", ahead.Clock.Now(), 2*time.Minute, 10); err != nil || len(got) != 0 {
			t.Errorf("a process a month ahead retried a postponed billing before its backoff: %+v, %v", got, err)
		}
		h.Time.Advance(61 * time.Second)
		if got, err := ahead.Store.ClaimDueBilling(ctx, "ahead", ahead.Clock.Now(), 2*time.Minute, 10); err != nil || len(got) != 1 {
			t.Errorf("after its backoff the postponed billing was not claimed: %+v, %v", got, err)
		}
	})
}

// The shopper's page lists each period's payment once, by the period's due
// date, even when the payment was taken late: here the clock moved a month
// on before the worker came round, so period 1 (due 6 December) was taken
// on 6 January with period 2. The page used to date both by when they were
// taken: "6 January 2027" twice and no December.
func TestShopperPageListsEachPeriodByItsDueDate(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		h := newHarness(t, apptest.On(db), apptest.StartingAt(at(2026, time.December, 6, 10)))
		b := pagetest.NewBrowser(t)
		m, approval := h.StripeApproval(b)
		m = h.Approve(b, m, approval)
		h.Clock.Advance(31 * 24 * time.Hour) // to 6 January, no pass in between
		h.Pass()
		h.Pass()
		h.paidOnce(m, 1)
		h.paidOnce(m, 2)

		list, ok := b.Get(h.URL + "/mandates/" + m.ID).Expect(http.StatusOK).TestID("shopper-payments")
		if !ok {
			t.Fatal("the shopper's page lists no payments")
		}
		var dates []string
		for _, d := range regexp.MustCompile(`(\d{1,2} [A-Z][a-z]+ \d{4}): `).FindAllStringSubmatch(list, -1) {
			dates = append(dates, d[1])
		}
		if want := []string{"6 December 2026", "6 January 2027"}; !slices.Equal(dates, want) {
			t.Errorf("the shopper's page lists payments dated %q, want %q (each period once, by its due date): %s", dates, want, list)
		}
		if !strings.Contains(list, "paid on 6 January 2027") {
			t.Errorf("period 1's late payment does not say when it was taken: %s", list)
		}
	})
}

// Billing starts when the mandate does, however it became active: here
// reconciliation activates it (the shopper never came back, no webhook),
// in a pass that has already billed; the worker is woken with the
// activation and charges period 1 at once, not a WORKER_INTERVAL later.
func TestReconciliationActivationChargesPeriodOneAtOnce(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		start := at(2027, time.February, 1, 9)
		h := newHarness(t, apptest.On(db), apptest.StartingAt(start), apptest.WithWorker(func(c *worker.Config) {
			c.ReconcileAfter, c.Interval = 15*time.Minute, time.Hour
		}))
		b := pagetest.NewBrowser(t)
		m, approval := h.StripeApproval(b)
		b.Do(approval.Submit("decision", "approve", nil)).Expect(http.StatusSeeOther) // the tab is closed
		h.Time.Set(start.Add(16 * time.Minute))

		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); h.Worker.Run(ctx) }() // its first pass reconciles at once
		t.Cleanup(func() { cancel(); <-done })
		deadline := time.Now().Add(10 * time.Second)
		for {
			cs := apptest.InPeriod(h.Charges(m.ID), 1)
			if len(cs) == 1 && cs[0].Status == payments.ChargeSucceeded {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("period 1 not charged 10 s after reconciliation activated the mandate (%s): %+v", h.Mandate(m.ID).Status, cs)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if e := h.lastChange(h.Mandate(m.ID)); e.Source != mandate.SourceWorker {
			t.Errorf("activated by %s, want reconciliation (the worker)", e.Source)
		}
	})
}

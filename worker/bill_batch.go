package worker

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"example.com/storefront/mandate"
	"example.com/storefront/payments"
	"example.com/storefront/service"
	"example.com/storefront/store"
)

// A pass's scheduled payments are made together, with the guarantees of
// billOne's: every charge row of the batch is written (and marked sent) in
// one transaction before any call; the calls run InFlight at a time, each
// with its own row's idempotency key; the answers are recorded as they come
// back, those that have come back in one transaction each time, with their
// billings settled in the same one. Only the calls run concurrently, so the
// batch holds one database connection at a time. A crash anywhere leaves
// rows that billOne finishes, after the lease, with their keys.

// dueCharge is a claimed billing whose due period takes a new attempt.
type dueCharge struct {
	b     store.Billing
	m     store.Mandate
	n     store.NewCharge
	retry bool         // an earlier attempt of the period was declined
	c     store.Charge // the row written for it
}

// nextAttempt returns what billOne's first round would charge for b,
// given what its due period needs (due, nil when it could not be read): a
// new attempt of the period, at the period's price. It returns nil when
// billOne has something else to do first (an attempt pending or paid, a
// decline to account for, a mandate no longer active, a cancellation at
// the period's end, a price that ends the agreement).
func nextAttempt(b store.Billing, due *store.BillingDue) *dueCharge {
	if due == nil || !b.CancelRequestedAt.IsZero() || due.Mandate.Status != mandate.Active || due.Price.EndsAgreement {
		return nil
	}
	failed := 0
	for _, c := range due.Attempts {
		switch {
		case c.Status.Paid(), c.Status == payments.ChargePending:
			return nil
		case service.Declined(c):
			failed++
		}
	}
	if failed > b.Failures {
		return nil
	}
	m := due.Mandate
	return &dueCharge{b: b, m: m, retry: service.IsRetry(due.Attempts), n: store.NewCharge{MandateID: m.ID, Kind: store.KindScheduled,
		InitiatedBy: store.BySchedule, Period: b.NextPeriod, Attempt: len(due.Attempts) + 1, Amount: due.Price.Money}}
}

// answer is a provider's answer to one charge of a batch.
type answer struct {
	d       *dueCharge
	res     payments.ChargeResult
	err     error // no answer (an outage, a 409): noted on the charge; the billing is postponed
	skipped bool  // not sent: the pass ended, or the lease is running out

	// Set by record.
	recorded bool
	c        store.Charge
	settled  bool
}

// chargeBatch charges ds, claimed at claimedAt, together, taking a slot
// of slots for each call. It closes started once four rounds of calls are
// left to start (a batch larger than the slots), or when it returns, and
// returns the charges made (rows sent, as billOne
// counts them) and the billings whose answer was not a payment, for
// billOne to account for (a decline, a payment the provider is still
// deciding).
func (w *Worker) chargeBatch(ctx context.Context, ds []*dueCharge, claimedAt time.Time, slots chan struct{}, started chan<- struct{}) (charged int, later []store.Billing) {
	allStarted := sync.OnceFunc(func() { close(started) })
	defer allStarted()
	if len(ds) == 0 {
		return 0, nil
	}
	ns := make([]store.NewCharge, len(ds))
	for i, d := range ds {
		ns[i] = d.n
	}
	cs, errs, err := w.cfg.Store.CreateScheduledCharges(ctx, ns)
	if err != nil {
		// Nothing was written: each is charged on its own, as it would
		// have been.
		w.log.Warn("billing: the batch's charges could not be written; charging one at a time", "error", err)
		for _, d := range ds {
			later = append(later, d.b)
		}
		return 0, later
	}
	markedAt := time.Now()
	var send []*dueCharge
	for i, d := range ds {
		switch {
		case errors.Is(errs[i], store.ErrMandateInactive):
			// Revoked meanwhile: billing stopped with it.
		case errs[i] != nil:
			w.log.Error("billing", "mandate_id", d.b.MandateID, "period", d.b.NextPeriod, "error", errs[i])
		case cs[i].Status != payments.ChargePending:
			later = append(later, d.b) // another process finished this attempt meanwhile
		default:
			d.c = cs[i]
			send = append(send, d)
		}
	}
	answers := make(chan answer, len(send))
	go w.send(ctx, send, claimedAt, markedAt, slots, answers, allStarted)
	// The answers are recorded in groups, one transaction each: a group
	// is recorded once it is large enough, once every answer is in, or
	// once its first answer has waited recordWithin (a slow call holds
	// back no other's).
	var group []answer
	var wait <-chan time.Time
	for left := len(send); left > 0; {
		select {
		case a := <-answers:
			group = append(group, a)
			left--
			if len(group) == 1 {
				wait = time.After(recordWithin)
			}
			if len(group) < recordGroup && left > 0 {
				continue
			}
		case <-wait:
		}
		later = append(later, w.record(ctx, group)...)
		group, wait = nil, nil
	}
	return len(send), later
}

// recordGroup and recordWithin bound a group of answers recorded in one
// transaction: fewer commits make a payment cheaper; a group's first
// answer is recorded within recordWithin (of the provider's answer) all
// the same.
const (
	recordGroup  = 32
	recordWithin = 200 * time.Millisecond
)

// send calls the provider for each of ds, a call for each slot it takes
// (slots has room for InFlight), and answers each on out (which has room
// for all); it calls started once four rounds of calls are left, if ds
// is larger than slots. A call is not
// started once ctx is done or half the lease has gone: its row stays
// pending, and is finished with its key once the lease has expired. A row
// marked sent a while ago (a slow provider) is marked again before its
// call, so that reconciliation never looks it up while it may still be in
// flight.
func (w *Worker) send(ctx context.Context, ds []*dueCharge, claimedAt, markedAt time.Time, slots chan struct{}, out chan<- answer, started func()) {
	var wg sync.WaitGroup
	defer wg.Wait()
	for i, d := range ds {
		if len(ds) > cap(slots) && len(ds)-i <= 4*cap(slots) {
			// Four rounds of calls to go: time enough for the next batch
			// to be claimed, read and written before the slots run dry. A
			// batch that fits in the slots does not keep them full, so
			// the next waits for it to end (chargeBatch), as a small
			// WORKER_BATCH among several instances means: each claims no
			// more than it can send.
			started()
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			out <- answer{d: d, skipped: true}
			continue
		}
		if ctx.Err() != nil || time.Since(claimedAt) > w.cfg.Lease/2 {
			<-slots
			out <- answer{d: d, skipped: true}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			a := answer{d: d}
			if time.Since(markedAt) > store.InFlightFor/4 {
				a.err = w.cfg.Store.MarkChargeSent(ctx, d.c.ID)
			}
			if a.err == nil {
				a.res, a.err = w.cfg.Service.CallCharge(ctx, d.m, d.c, d.retry)
			}
			out <- a
		}()
	}
}

// record records a group of answers in one transaction, settling the
// billings they paid, and returns the billings billOne accounts for. If
// the transaction fails, each answer is recorded in one of its own, so
// that one charge's trouble does not hold back the others'.
func (w *Worker) record(ctx context.Context, group []answer) (later []store.Billing) {
	if ctx.Err() != nil {
		return nil // stopping: the rows stay pending, and are finished after the lease
	}
	// Payments first, then declines: on PostgreSQL the money view's
	// triggers lock a row per day and kind, and transactions that lock
	// them in one order never deadlock.
	slices.SortFunc(group, func(a, b answer) int {
		return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a.d.c.ID, b.d.c.ID))
	})
	err := w.recordIn(ctx, group)
	if err != nil && len(group) > 1 {
		w.log.Warn("billing: recording the batch's answers one at a time", "error", err)
		for i := range group {
			if err := w.recordIn(ctx, group[i:i+1]); err != nil {
				w.log.Error("billing", "mandate_id", group[i].d.b.MandateID, "period", group[i].d.b.NextPeriod, "error", err)
			}
		}
	} else if err != nil {
		w.log.Error("billing", "mandate_id", group[0].d.b.MandateID, "period", group[0].d.b.NextPeriod, "error", err)
	}
	for _, a := range group {
		d := a.d
		switch {
		case a.skipped:
			// Pending, and leased until the lease expires.
		case !a.recorded:
			// Left pending (the error is logged); finished after the lease.
		case a.err != nil:
			if err := w.unsent(ctx, d.m, d.b, a.err); err != nil {
				w.log.Error("billing", "mandate_id", d.b.MandateID, "period", d.b.NextPeriod, "error", err)
			}
		case a.settled:
			w.log.Info("scheduled charge", "mandate_id", d.m.ID, "period", d.b.NextPeriod, "attempt", a.c.Attempt)
			if d.b.State != store.BillingActive {
				o := paidOutcome(d.b, d.m, a.c)
				w.log.Info("billing", "mandate_id", d.m.ID, "from", d.b.State, "to", o.To, "detail", o.Detail)
			}
		case a.c.Status.Paid():
			// Paid, and another worker holds the billing now: it settles it.
		default:
			w.log.Info("scheduled charge", "mandate_id", d.m.ID, "period", d.b.NextPeriod, "attempt", a.c.Attempt)
			later = append(later, d.b) // declined, or still pending at the provider
		}
	}
	return later
}

// rank orders a group's answers: payments, then other answers, then none.
func rank(a answer) int {
	switch {
	case a.skipped || a.err != nil:
		return 2
	case a.res.State.Paid():
		return 0
	}
	return 1
}

// recordIn records answers in one transaction; on error nothing of it is
// recorded.
func (w *Worker) recordIn(ctx context.Context, answers []answer) error {
	done := make([]answer, len(answers))
	err := w.cfg.Store.InBillingTx(ctx, func(tx *store.BillingTx) error {
		for i, a := range answers {
			switch {
			case a.skipped:
				done[i] = a
				continue
			case a.err != nil:
				if err := tx.NoteChargeError(ctx, a.d.c.ID, a.err.Error()); err != nil {
					return err
				}
				a.recorded = true
				done[i] = a
				continue
			}
			c, _, err := tx.ApplyCharge(ctx, a.d.c.ID, a.res)
			if errors.Is(err, store.ErrOtherPayment) {
				a.err, a.recorded = err, true // as billOne: not taken; the billing is postponed
				done[i] = a
				continue
			}
			if err != nil {
				return err
			}
			a.c, a.recorded = c, true
			if c.Status.Paid() {
				err := tx.SettleBilling(ctx, a.d.m.ID, w.owner, paidOutcome(a.d.b, a.d.m, c), w.cfg.Now())
				switch {
				case errors.Is(err, store.ErrLeaseLost):
				case err != nil:
					return err
				default:
					a.settled = true
				}
			}
			done[i] = a
		}
		return nil
	})
	if err == nil {
		copy(answers, done)
	}
	return err
}

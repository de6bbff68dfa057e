package worker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"example.com/storefront/billing"
	"example.com/storefront/mandate"
	"example.com/storefront/payments"
	"example.com/storefront/service"
	"example.com/storefront/store"
)

// bill charges the billing periods that are due: the claimed billings
// whose next step is a new attempt are charged together (chargeBatch);
// every other one (an attempt left pending, a decline to account for, a
// cancellation, a price that ends the agreement) and every answer other
// than a payment is settled by billOne, one at a time.
//
// It claims Batch billings at a time, and while each claim comes back
// full it claims the next once the last has four rounds of calls left to
// start (chargeBatch's started), for up to BillFor: the provider is kept
// busy while a batch's last answers come back and are recorded, rather
// than idle while the next is claimed, read and written. The batches share
// the InFlight calls, and at most two claims are open at once (a batch
// smaller than four rounds would otherwise let a pass claim everything
// due). more says that the last claim was full: more may be due, for the
// next pass to take at once.
func (w *Worker) bill(ctx context.Context) (charged int, more bool, err error) {
	start := time.Now()
	slots := make(chan struct{}, w.cfg.InFlight) // calls in flight
	open := make(chan struct{}, 2)               // batches claimed and not yet done
	var wg sync.WaitGroup
	var mu sync.Mutex // guards charged and rest while batches run
	var rest []store.Billing
	for {
		open <- struct{}{}
		claimed, cerr := w.cfg.Store.ClaimDueBilling(ctx, w.owner, w.cfg.Now(), w.cfg.Lease, w.cfg.Batch)
		if cerr != nil {
			// What the earlier claims left for billOne is still settled
			// below, not left leased.
			err, more = cerr, false
			break
		}
		claimedAt := time.Now()
		more = len(claimed) == w.cfg.Batch
		parts := slices.Collect(slices.Chunk(claimed, store.MaxBillingBatch))
		if len(parts) == 0 {
			<-open
		}
		for i, part := range parts {
			batch, others := w.newAttempts(ctx, part)
			mu.Lock()
			rest = append(rest, others...)
			mu.Unlock()
			started := make(chan struct{})
			last := i == len(parts)-1
			wg.Go(func() {
				if last {
					defer func() { <-open }()
				}
				n, later := w.chargeBatch(ctx, batch, claimedAt, slots, started)
				mu.Lock()
				charged += n
				rest = append(rest, later...)
				mu.Unlock()
			})
			<-started
		}
		if !more || ctx.Err() != nil || time.Since(start) >= w.cfg.BillFor {
			break
		}
	}
	wg.Wait()
	for _, b := range rest {
		if ctx.Err() != nil {
			break // the lease expires; the next pass takes it up
		}
		n, err := w.billOne(ctx, b)
		charged += n
		if err != nil {
			w.log.Error("billing", "mandate_id", b.MandateID, "period", b.NextPeriod, "error", err)
		}
	}
	return charged, more, err
}

// newAttempts reads what the claimed billings of part need and returns
// those whose next step is a new attempt, to charge together, and the
// others, for billOne.
func (w *Worker) newAttempts(ctx context.Context, part []store.Billing) (batch []*dueCharge, others []store.Billing) {
	dues, err := w.cfg.Store.BillingDues(ctx, part)
	if err != nil {
		w.log.Warn("billing: could not read the batch; charging one at a time", "error", err)
	}
	for _, b := range part {
		if d := nextAttempt(b, dues[b.MandateID]); d != nil {
			batch = append(batch, d)
		} else {
			others = append(others, b)
		}
	}
	return batch, others
}

// billOne settles a claimed billing's due period. Everything it decides it
// derives from the period's charge rows, which are written before the
// provider is called: an attempt left pending (by a crash, a lost answer)
// is finished with its own idempotency key before anything else is tried,
// so a period is paid at most once, whatever happened before.
func (w *Worker) billOne(ctx context.Context, b store.Billing) (charged int, err error) {
	m, err := w.cfg.Store.Mandate(ctx, b.MandateID)
	if err != nil {
		return 0, err
	}
	period := b.NextPeriod
	due := billing.Due(b.AnchorAt, m.Plan.Interval, period)
	now := w.cfg.Now()
	for range 4 { // at most: finish a pending attempt, then account, then one new attempt
		attempts, err := w.attempts(ctx, m.ID, period)
		if err != nil {
			return charged, err
		}
		var failed int
		var last *store.Charge
		for i := range attempts {
			c := &attempts[i]
			switch {
			case c.Status.Paid():
				return charged, w.settle(ctx, m, b, paidOutcome(b, m, *c))
			case service.Declined(*c):
				failed++ // a payment never made (service.NotMade) is no decline: the next attempt uses no retry
			}
			last = c
		}
		switch {
		case last != nil && last.Status == payments.ChargePending:
			c, err := w.cfg.Service.FinishCharge(ctx, *last, now)
			if err != nil {
				return charged, w.unsent(ctx, m, b, err)
			}
			if c.Status == payments.ChargePending {
				// The provider is still working on it (CAPTURE_PENDING, a
				// processing PaymentIntent): look again on a later pass.
				return charged, w.postpone(ctx, b, errStillPending)
			}
			continue
		case failed > b.Failures:
			return charged, w.declined(ctx, m, b, due, failed, last)
		case m.Status != mandate.Active:
			return charged, nil // revoked meanwhile: billing stopped with it
		}
		if !b.CancelRequestedAt.IsZero() {
			// The merchant cancelled at the end of the paid period: it has
			// ended, and this period is not charged.
			return charged, w.cancelAtPeriodEnd(ctx, m, b)
		}
		// The period's price is the one in effect on its due date, so a
		// retry after a price change still charges the period's own price.
		price, err := w.cfg.Store.PriceFor(ctx, m, due)
		if err != nil {
			return charged, err
		}
		if price.EndsAgreement {
			return charged, w.endAgreement(ctx, m, b, price)
		}
		// Due, or due for a retry: a new attempt, written before it is sent.
		c, _, err := w.cfg.Store.CreateCharge(ctx, store.NewCharge{MandateID: m.ID, Kind: store.KindScheduled,
			InitiatedBy: store.BySchedule, Period: period, Attempt: len(attempts) + 1, Amount: price.Money})
		if errors.Is(err, store.ErrMandateInactive) {
			return charged, nil
		}
		if err != nil {
			return charged, err
		}
		charged++
		if _, err := w.cfg.Service.SendCharge(ctx, m, c); err != nil {
			return charged, w.unsent(ctx, m, b, err)
		}
		w.log.Info("scheduled charge", "mandate_id", m.ID, "period", period, "attempt", c.Attempt)
	}
	return charged, fmt.Errorf("period %d of %s did not settle", period, m.ID)
}

// paidOutcome is a billing's outcome once c paid its due period: the next
// period is due, by the billing's anchor.
func paidOutcome(b store.Billing, m store.Mandate, c store.Charge) store.BillingOutcome {
	return store.BillingOutcome{To: store.BillingActive, Period: b.NextPeriod + 1,
		NextDueAt: billing.Due(b.AnchorAt, m.Plan.Interval, b.NextPeriod+1),
		Detail:    fmt.Sprintf("period %d paid (%s, %s)", b.NextPeriod, c.Amount, c.ProviderRef)}
}

// cancelAtPeriodEnd revokes, by the merchant, a mandate whose paid period
// ended after the merchant asked to cancel then. If the provider cannot be
// told, nothing is charged meanwhile: the same revocation is tried again
// after a backoff.
func (w *Worker) cancelAtPeriodEnd(ctx context.Context, m store.Mandate, b store.Billing) error {
	if m.Status != mandate.Active {
		return nil
	}
	if _, err := w.cfg.Service.Revoke(ctx, m, payments.RevokedByMerchant, mandate.SourceMerchant); err != nil {
		if service.Transient(err) || refused(err) {
			return w.postpone(ctx, b, err)
		}
		return fmt.Errorf("revoke %s at the end of its paid period: %w", m.ID, err)
	}
	w.log.Info("mandate revoked at the end of its paid period", "mandate_id", m.ID, "period", b.NextPeriod)
	return nil
}

// RetryNow makes the next scheduled attempt of a past-due period now, at
// the merchant's request: the same dunning (a decline counts as that
// retry, and the next one keeps its date), the same idempotency keys. It
// claims the billing as the worker does, and only while it has failures
// declines, so a retry the worker is making, or made meanwhile, is not
// made again (store.ErrNothingToRetry). It returns the attempt made.
func (w *Worker) RetryNow(ctx context.Context, mandateID string, failures int) (store.Charge, error) {
	b, err := w.cfg.Store.ClaimBillingNow(ctx, mandateID, w.owner, failures, w.cfg.Lease)
	if err != nil {
		return store.Charge{}, err
	}
	if _, err := w.billOne(ctx, b); err != nil {
		return store.Charge{}, fmt.Errorf("retry %s now: %w", mandateID, err)
	}
	attempts, err := w.attempts(ctx, mandateID, b.NextPeriod)
	if err != nil || len(attempts) == 0 {
		return store.Charge{}, err
	}
	return attempts[len(attempts)-1], nil
}

// attempts are a period's charges, oldest attempt first.
func (w *Worker) attempts(ctx context.Context, mandateID string, period int) ([]store.Charge, error) {
	all, err := w.cfg.Store.Charges(ctx, mandateID)
	if err != nil {
		return nil, err
	}
	var out []store.Charge
	for _, c := range all {
		if c.Period == period {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b store.Charge) int { return a.Attempt - b.Attempt })
	return out, nil
}

// declined accounts for a period's failures-th decline: past due until the
// next retry of the schedule, or, after the last one, ended for
// non-payment, and the mandate revoked at the provider.
func (w *Worker) declined(ctx context.Context, m store.Mandate, b store.Billing, due time.Time, failures int, last *store.Charge) error {
	if w.revokedElsewhere(ctx, m) {
		return nil // not a decline to retry: there is no mandate to charge
	}
	reason := ""
	if last != nil {
		reason = last.Decline()
	}
	next, ended := billing.Retry(due, failures, w.cfg.Retries)
	if !ended {
		return w.settle(ctx, m, b, store.BillingOutcome{To: store.BillingPastDue, Period: b.NextPeriod, NextDueAt: next,
			Failures: failures, Declined: last, Detail: fmt.Sprintf("payment %d of period %d declined (%s); retry on %s",
				failures, b.NextPeriod, reason, next.Format("2 Jan 2006"))})
	}
	if err := w.settle(ctx, m, b, store.BillingOutcome{To: store.BillingEnded, Period: b.NextPeriod, NextDueAt: due,
		Failures: failures, Declined: last, Detail: fmt.Sprintf("ended for non-payment: %d declined (%s)", failures, reason)}); err != nil {
		return err
	}
	return w.revokeEnded(ctx, m)
}

// endAgreement ends the billing of a mandate whose agreement states its
// amount exactly (PPRO's amountType EXACT, which no call can change) when
// its next period is due at a new price: that period is not charged, and
// the agreement is revoked at the provider, as after non-payment. The
// shopper was told so in the price change's notice, and subscribes again
// at the new price through the checkout (a new agreement they approve).
func (w *Worker) endAgreement(ctx context.Context, m store.Mandate, b store.Billing, price store.Price) error {
	if err := w.settle(ctx, m, b, store.BillingOutcome{To: store.BillingEnded, Period: b.NextPeriod, NextDueAt: b.NextDueAt,
		Failures: b.Failures, EndedBy: &price, Detail: fmt.Sprintf("%s: the agreement states %s exactly; the price changed to %s from period %d",
			store.EndedByPriceChange, m.Plan.Price, price.Money, b.NextPeriod)}); err != nil {
		return err
	}
	return w.revokeEnded(ctx, m)
}

// revokeEnded tells the provider that a mandate whose billing ended will
// not be charged again. If the provider cannot be reached, reconciliation
// tries again.
func (w *Worker) revokeEnded(ctx context.Context, m store.Mandate) error {
	if m.Status != mandate.Active {
		return nil
	}
	if _, err := w.cfg.Service.Revoke(ctx, m, payments.RevokedByMerchant, mandate.SourceWorker); err != nil {
		return fmt.Errorf("revoke %s, whose billing ended: %w", m.ID, err)
	}
	w.log.Info("mandate revoked: its billing ended", "mandate_id", m.ID)
	return nil
}

func (w *Worker) settle(ctx context.Context, m store.Mandate, b store.Billing, o store.BillingOutcome) error {
	err := w.cfg.Store.SettleBilling(ctx, m.ID, w.owner, o, w.cfg.Now())
	if errors.Is(err, store.ErrLeaseLost) {
		return nil // another worker took it over; it decides
	}
	if err == nil && o.To != b.State {
		w.log.Info("billing", "mandate_id", m.ID, "from", b.State, "to", o.To, "detail", o.Detail)
	}
	return err
}

// revokedElsewhere asks the provider whether m still stands, after a
// payment it declined or refused: most often because the mandate was
// withdrawn outside the app (the shopper in their Amazon account, Amazon
// Pay, the merchant at the provider) and the news was lost. A revocation
// found is recorded, which stops billing in the same transaction. If the
// provider cannot say, the payment counts as it is.
func (w *Worker) revokedElsewhere(ctx context.Context, m store.Mandate) bool {
	after, err := w.cfg.Service.CheckStanding(ctx, m, mandate.SourceWorker)
	if err != nil {
		w.log.Warn("could not check the mandate's standing", "mandate_id", m.ID, "error", err)
		return false
	}
	if after.Status != mandate.Revoked {
		return false
	}
	w.log.Info("mandate revoked outside the app; billing stops", "mandate_id", m.ID, "revoked_by", after.RevokedBy)
	return true
}

// unsent handles a payment the provider did not take. Unreachable: the
// same attempt again after a backoff. Refused (a 4xx, not a decline):
// unless the refusal is a mandate revoked elsewhere (billing then stops),
// the same attempt again after a backoff too, rather than at every pass.
func (w *Worker) unsent(ctx context.Context, m store.Mandate, b store.Billing, cause error) error {
	if refused(cause) && w.revokedElsewhere(ctx, m) {
		return nil
	}
	return w.postpone(ctx, b, cause)
}

// refused reports a provider's refusal of a request (as opposed to an
// outage or a decline).
func refused(err error) bool {
	pe, ok := payments.AsError(err)
	return ok && pe.Kind == payments.ErrRejected
}

// errStillPending: the provider has not decided a payment yet.
var errStillPending = errors.New("the payment is still pending at the provider")

// postpone releases a billing whose provider could not be reached (or has
// not decided yet, or refused the call for a reason it did not explain), to
// try the same attempt again (same idempotency key) after a backoff; no
// retry of the schedule is used up by an outage.
func (w *Worker) postpone(ctx context.Context, b store.Billing, cause error) error {
	if !service.Transient(cause) && !errors.Is(cause, errStillPending) && !refused(cause) {
		return cause
	}
	wait := service.Backoff(b.Transient + 1)
	w.log.Warn("payment not taken; trying the same payment again later", "mandate_id", b.MandateID,
		"period", b.NextPeriod, "in", wait, "error", cause)
	if err := w.cfg.Store.PostponeBilling(ctx, b.MandateID, w.owner, w.cfg.Now().Add(wait), cause.Error(), w.cfg.Now()); err != nil &&
		!errors.Is(err, store.ErrLeaseLost) {
		return err
	}
	return nil
}

package worker

import (
	"context"
	"errors"
	"time"

	"example.com/storefront/mandate"
	"example.com/storefront/payments"
	"example.com/storefront/store"
)

// reconcile settles with the providers what was left pending: setups whose
// shopper and webhook never came, charges and refunds whose answer was
// lost, and revocations owed after non-payment. After a crash at any point
// a restart converges on the providers' truth through here. Without
// aged, only the revocations owed are looked for: the rest goes by age.
func (w *Worker) reconcile(ctx context.Context, aged bool) (int, error) {
	now := w.cfg.Now()
	var settled int
	var errs []error
	if aged {
		settled, errs = w.reconcileAged(ctx, now)
	}

	ended, err := w.cfg.Store.EndedButActive(ctx, w.cfg.Batch)
	errs = append(errs, err)
	for _, id := range ended {
		m, err := w.cfg.Store.Mandate(ctx, id)
		if err == nil {
			err = w.revokeEnded(ctx, m)
		}
		errs = append(errs, ignoreTransient(err))
	}
	return settled, errors.Join(errs...)
}

// reconcileAged settles setups, charges and refunds left pending a while.
func (w *Worker) reconcileAged(ctx context.Context, now time.Time) (int, []error) {
	var settled int
	var errs []error
	mandates, err := w.cfg.Store.PendingMandates(ctx, now.Add(-w.cfg.ReconcileAfter), w.cfg.Batch)
	errs = append(errs, err)
	for _, m := range mandates {
		changed, err := w.reconcileSetup(ctx, m, now)
		if changed {
			settled++
		}
		errs = append(errs, err)
	}

	charges, err := w.cfg.Store.PendingCharges(ctx, now.Add(-time.Minute), w.cfg.Batch)
	errs = append(errs, err)
	for _, c := range charges {
		after, err := w.cfg.Service.FinishCharge(ctx, c, now)
		if err == nil && after.Status != payments.ChargePending {
			settled++
		}
		errs = append(errs, ignoreTransient(err))
	}

	refunds, err := w.cfg.Store.PendingRefunds(ctx, now.Add(-time.Minute), w.cfg.Batch)
	errs = append(errs, err)
	for _, r := range refunds {
		after, err := w.cfg.Service.FinishRefund(ctx, r, now)
		if err == nil && after.Status != payments.RefundPending {
			settled++
		}
		errs = append(errs, ignoreTransient(err))
	}
	return settled, errs
}

// reconcileSetup asks the provider about a setup still pending after a
// while, and applies what it says. One the provider leaves pending past
// its lifetime is ended: a Stripe Checkout Session is expired (it has an
// explicit expires_at, so Stripe would expire it too); a PPRO agreement,
// for which PPRO documents no timeout, is closed as abandoned only after a
// further grace period, recording that the provider never said so.
func (w *Worker) reconcileSetup(ctx context.Context, m store.Mandate, now time.Time) (bool, error) {
	after, err := w.cfg.Service.Verify(ctx, m, mandate.SourceWorker)
	if err != nil {
		return false, ignoreTransient(w.touch(ctx, m, err))
	}
	if after.Status != mandate.Pending {
		return true, nil
	}
	age := now.Sub(m.CreatedAt)
	switch {
	case age > w.cfg.SetupLifetime+w.cfg.AbandonAfter:
		_, _, err := w.cfg.Store.Transition(ctx, m.ID, mandate.Canceled, store.Change{Source: mandate.SourceWorker,
			Code: "abandoned", Reason: "Still pending " + age.Round(time.Minute).String() +
				" after it started; the provider never reported an outcome, so it was closed here as abandoned."})
		return err == nil, err
	case age > w.cfg.SetupLifetime:
		p, err := w.cfg.Service.Provider(m)
		if err != nil {
			return false, err
		}
		res, err := p.CancelSetup(ctx, m.ProviderRef, "mandate/"+m.ID+"/expire")
		if err != nil {
			return false, ignoreTransient(w.touch(ctx, m, err))
		}
		if _, err := w.cfg.Service.ApplySetup(ctx, after, res, mandate.SourceWorker); err != nil {
			return false, err
		}
		return res.State != payments.SetupPending, w.cfg.Store.TouchMandate(ctx, m.ID)
	}
	return false, w.cfg.Store.TouchMandate(ctx, m.ID)
}

// touch records that a setup could not be checked, and when.
func (w *Worker) touch(ctx context.Context, m store.Mandate, cause error) error {
	if err := w.cfg.Store.NoteError(ctx, m.ID, "could not verify: "+cause.Error()); err != nil {
		return err
	}
	return cause
}

// ignoreTransient drops an outage: the next pass tries again.
func ignoreTransient(err error) error {
	if err != nil && isTransient(err) {
		return nil
	}
	return err
}

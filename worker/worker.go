// Package worker is the storefront's background worker, run by main in the
// same process: each pass it processes stored webhook events, charges the
// billing periods that are due (with retries on a schedule), and
// reconciles what was left pending (setups, charges, refunds) with the
// providers' APIs, so that nothing stays pending for ever.
//
// Every piece of work is claimed in a write transaction with an expiring
// lease before it is done, so two processes on one database never do the
// same work at once, and the work of a process that died is taken up again
// once its lease expires. Exactly-once payments do not rest on the claim,
// though: they rest on the charge row written before the provider is called
// and the idempotency key derived from it.
package worker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"example.com/storefront/billing"
	"example.com/storefront/clock"
	"example.com/storefront/payments"
	"example.com/storefront/service"
	"example.com/storefront/store"
)

// Config is what a Worker needs.
type Config struct {
	Store     *store.Store
	Service   *service.Service
	Providers []payments.Provider
	// Now is the billing clock (the demo clock in an all-sandbox demo).
	Now func() time.Time
	// Interval is the longest time between passes; Batch bounds the work
	// of each kind claimed at a time. A pass whose batch came back full is
	// followed at once by the next.
	Interval time.Duration
	Batch    int
	// InFlight bounds the scheduled payments sent at once (default 8):
	// the calls run concurrently, a batch's database work does not (it
	// holds one connection).
	InFlight int
	// BillFor is how long a pass keeps claiming due payments while each
	// claim comes back full (default 1 s): the pass's other work waits no
	// longer, and the next pass goes on with the payments.
	BillFor time.Duration
	// Lease is how long a claim on a mandate's billing lasts: far longer
	// than one charge takes, short enough that the periods of a worker
	// that died (a process killed, an instance gone) are taken up by
	// another soon. Default 2 minutes.
	Lease time.Duration
	// WebhookRetention is how long processed webhook events are kept.
	WebhookRetention time.Duration
	// Retries are the waits, from a period's due time, before each retry
	// of a declined scheduled payment; after the last, billing ends.
	Retries []time.Duration
	// ReconcileAfter is how long a setup may stay pending before the worker
	// asks its provider (and then again every ReconcileAfter).
	ReconcileAfter time.Duration
	// SetupLifetime is how long a setup may stay open (Stripe's explicit
	// expires_at); AbandonAfter the further grace before one its provider
	// still calls pending is closed here as abandoned.
	SetupLifetime time.Duration
	AbandonAfter  time.Duration
	Logger        *slog.Logger
}

// Worker runs passes until its context ends.
type Worker struct {
	cfg       Config
	providers map[string]payments.Provider
	owner     string // this process's name on its leases
	log       *slog.Logger
	nudge     chan struct{}
	pass      sync.Mutex // one pass at a time (the loop, a nudge, the demo clock)
	lastPrune time.Time
	lastAged  time.Time // real time the loop last looked for aged work (see agedEvery)
}

// agedEvery is how often, at most, a nudged pass of the loop also looks for
// setups, payments and refunds left pending a while: those lookups go by
// age (a minute, ReconcileAfter), so under a stream of nudges (every new
// mandate, every deferred webhook event) once a second loses nothing, and
// spares four queries a nudge.
const agedEvery = time.Second

// New returns a Worker with defaults filled in.
func New(cfg Config) *Worker {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 30 * time.Second
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 50
	}
	if cfg.InFlight <= 0 {
		cfg.InFlight = 8
	}
	if cfg.BillFor <= 0 {
		cfg.BillFor = time.Second
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 2 * time.Minute
	}
	if cfg.WebhookRetention <= 0 {
		cfg.WebhookRetention = 30 * 24 * time.Hour
	}
	if len(cfg.Retries) == 0 {
		cfg.Retries = billing.DefaultRetries
	}
	if cfg.ReconcileAfter <= 0 {
		cfg.ReconcileAfter = 10 * time.Minute
	}
	if cfg.SetupLifetime <= 0 {
		cfg.SetupLifetime = time.Hour
	}
	if cfg.AbandonAfter <= 0 {
		cfg.AbandonAfter = time.Hour
	}
	w := &Worker{cfg: cfg, providers: map[string]payments.Provider{}, log: cfg.Logger, nudge: make(chan struct{}, 1)}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	for _, p := range cfg.Providers {
		w.providers[p.Name()] = p
	}
	b := make([]byte, 6)
	rand.Read(b)
	w.owner = "worker-" + hex.EncodeToString(b)
	return w
}

// Nudge asks for a pass soon (a webhook event just stored); it never
// blocks.
func (w *Worker) Nudge() {
	select {
	case w.nudge <- struct{}{}:
	default:
	}
}

// Run makes a pass every Interval (and when nudged, and when a pending
// webhook event falls due sooner) until ctx is done, then returns once the
// pass in progress has finished.
func (w *Worker) Run(ctx context.Context) {
	t := time.NewTimer(w.cfg.Interval)
	defer t.Stop()
	var backoff time.Duration // while the database does not answer
	nudged, more := false, false
	for {
		aged := (!nudged && !more) || time.Since(w.lastAged) >= agedEvery
		if aged {
			w.lastAged = time.Now()
		}
		r, err := w.run(ctx, aged)
		// A full batch may have left work due (a thousand payments due
		// on the first of the month): the next pass goes on at once. What
		// a batch claimed is leased, so the passes end with the work.
		more = r.More && !store.Unavailable(err) && ctx.Err() == nil
		wait := time.Duration(0)
		if !more {
			wait = w.untilNextPass(ctx)
		}
		switch {
		case err == nil || ctx.Err() != nil:
			backoff = 0
		case store.Unavailable(err):
			// PostgreSQL restarting, or the network to it down: try again
			// soon, then less often, without an error per pass. Work cut
			// short is resumed from its rows (a charge sent is looked up
			// or resent with its key, never made again).
			backoff = min(max(2*backoff, time.Second), w.cfg.Interval)
			wait = backoff
			w.log.Warn("worker pass: the database is unavailable; trying again", "in", backoff, "error", err)
		default:
			backoff = 0
			w.log.Error("worker pass", "error", err)
		}
		t.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			nudged = false
		case <-w.nudge:
			nudged = true
		}
	}
}

// untilNextPass is Interval, or less when a pending webhook event falls due
// before then (one the fetch limit deferred by a second or two, a retry
// after a provider outage), but at least a second.
func (w *Worker) untilNextPass(ctx context.Context) time.Duration {
	wait, ok, err := w.cfg.Store.NextWebhookEventIn(ctx, w.cfg.Now())
	if err != nil || !ok {
		return w.cfg.Interval
	}
	return min(max(wait, time.Second), w.cfg.Interval)
}

// Report counts what a pass did.
type Report struct {
	Events     int  // webhook events processed or ignored
	Charged    int  // scheduled charges made
	Reconciled int  // setups, charges and refunds settled with the provider
	More       bool // a batch came back full: more work may be due now
}

// Pass does one round of every kind of work and reports what it did.
func (w *Worker) Pass(ctx context.Context) (Report, error) {
	return w.run(ctx, true)
}

// run is a pass; without aged, it leaves out reconcile's lookups by age.
func (w *Worker) run(ctx context.Context, aged bool) (Report, error) {
	w.pass.Lock()
	defer w.pass.Unlock()
	var r Report
	var errs []error
	n, more, err := w.processEvents(ctx)
	r.Events += n
	r.More = more
	errs = append(errs, err)
	n, more, err = w.bill(ctx)
	r.Charged += n
	r.More = r.More || more
	errs = append(errs, err)
	n, err = w.reconcile(ctx, aged)
	r.Reconciled += n
	errs = append(errs, err)
	errs = append(errs, w.prune(ctx))
	return r, errors.Join(errs...)
}

// processEvents processes the webhook events that are due; more says
// that it claimed a full batch (more may be due).
func (w *Worker) processEvents(ctx context.Context) (done int, more bool, err error) {
	events, err := w.cfg.Store.ClaimWebhookEvents(ctx, time.Minute, w.cfg.Batch)
	if err != nil {
		return 0, false, err
	}
	more = len(events) == w.cfg.Batch
	for _, e := range events {
		if ctx.Err() != nil {
			break // its lease expires; the next pass takes it up
		}
		p, ok := w.providers[e.Provider]
		if !ok {
			err = errors.Join(err, w.cfg.Store.FinishWebhookEvent(ctx, e.ID, store.EventIgnored, "provider not configured", ""))
			continue
		}
		out := w.cfg.Service.ProcessEvent(ctx, p, e, w.cfg.Now())
		if out.Status == store.EventPending {
			err = errors.Join(err, w.cfg.Store.RetryWebhookEvent(ctx, e.ID, out.Detail, out.RetryAt))
			continue
		}
		done++
		w.log.Info("webhook event processed", "provider", e.Provider, "event_id", e.Event.ID, "event_type", e.Event.Type,
			"status", out.Status, "mandate_id", out.MandateID, "outcome", out.Detail)
		err = errors.Join(err, w.cfg.Store.FinishWebhookEvent(ctx, e.ID, out.Status, out.Detail, out.MandateID))
	}
	return done, more, err
}

// prune forgets old processed webhook events, once an hour.
func (w *Worker) prune(ctx context.Context) error {
	now := w.cfg.Now()
	if now.Sub(w.lastPrune) < time.Hour {
		return nil
	}
	w.lastPrune = now
	n, err := w.cfg.Store.PruneWebhookEvents(ctx, now.Add(-w.cfg.WebhookRetention))
	if n > 0 {
		w.log.Info("webhook events pruned", "count", n)
	}
	return err
}

// Demo moves an all-sandbox demo's clock: the app's billing clock and the
// sandbox's are the same clock, so both see the month pass.
//
// The offset lives in the database (demo_clock), shared by every process
// on it: a move is an increment there, and each process follows the
// stored offset (Follow), so a move made on one is seen by all.
//
// With the sandbox in a process of its own, Remote is that sandbox's
// clock: every offset this process sets is pushed to it, so the provider
// dates a payment as billing does.
type Demo struct {
	Clock  *clock.Clock
	Store  *store.Store
	Worker *Worker
	Remote RemoteClock // nil: the sandbox (if any) runs on Clock itself

	mu     sync.Mutex    // orders this process's reads, moves and pushes of the offset
	pushed time.Duration // the offset Remote last accepted
	synced bool          // whether Remote has accepted one yet
}

// RemoteClock is a sandbox's clock in another process. The offset pushed
// is absolute, so several instances pushing the same one is harmless.
type RemoteClock interface {
	SetOffset(ctx context.Context, offset time.Duration) error
}

func (d *Demo) Now() time.Time        { return d.Clock.Now() }
func (d *Demo) Offset() time.Duration { return d.Clock.Offset() }

// DemoFollowEvery is how often Follow reads the stored offset: often
// enough that another process's move shows within a page's load, and a
// single-row read twice a second costs nothing next to a pass. Now itself
// never reads the database: it is called for every row stamped.
const DemoFollowEvery = 500 * time.Millisecond

// Sync sets the clock to the stored offset, and pushes it to Remote when
// Remote has not accepted it yet (at start, after another process's move,
// after a failed push).
func (d *Demo) Sync(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	off, err := d.Store.DemoClockOffset(ctx)
	if err != nil {
		return err
	}
	return d.set(ctx, off)
}

// set sets the clock to off and pushes it; d.mu is held.
func (d *Demo) set(ctx context.Context, off time.Duration) error {
	d.Clock.Set(off)
	if d.Remote == nil || (d.synced && d.pushed == off) {
		return nil
	}
	if err := d.Remote.SetOffset(ctx, off); err != nil {
		d.synced = false
		return fmt.Errorf("push the demo clock to the sandbox: %w", err)
	}
	d.pushed, d.synced = off, true
	return nil
}

// Follow syncs the clock every `every` until ctx ends; a failed read keeps
// the last offset and is logged.
func (d *Demo) Follow(ctx context.Context, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := d.Sync(ctx); err != nil && ctx.Err() == nil {
			log.Warn("could not sync the demo clock", "error", err)
		}
	}
}

// maxDemoPasses bounds the passes of one Advance.
const maxDemoPasses = 20

// Advance moves the clock forward by by, for every process on the
// database, and runs passes until one charges nothing: what fell due is
// charged before the page comes back. A pass takes one period (or one
// retry) of each mandate, so several periods due are charged in turn, as
// Stripe's test clocks settle everything due.
//
// What is due before the move is charged first, at the time it fell due:
// a mandate that became active a moment ago has period 1 charged on its
// own date, never overtaken by the move.
//
// It reports how many scheduled payments this process made (attempts,
// whatever their outcome) once the clock had moved.
func (d *Demo) Advance(ctx context.Context, by time.Duration) (charged int, err error) {
	if err := d.Sync(ctx); err != nil {
		return 0, err
	}
	// A pass's error (one event that could not be processed, say) does not
	// hold the clock back; it is reported with the move's.
	_, before := d.settle(ctx)
	d.mu.Lock()
	off, err := d.Store.AdvanceDemoClock(ctx, by)
	if err == nil {
		// Pushed before the passes below charge: the sandbox must date
		// those payments on the new day too. When it cannot be told, no
		// pass runs here (Follow keeps pushing).
		err = d.set(ctx, off)
	}
	d.mu.Unlock()
	if err != nil {
		return 0, errors.Join(before, err)
	}
	charged, err = d.settle(ctx)
	return charged, errors.Join(before, err)
}

// maxDemoWait bounds how long an advance waits for other processes'
// charges of what fell due.
const maxDemoWait = 30 * time.Second

// settle runs passes until one charges nothing and no other process on
// the database is still charging a period that is due: with several
// instances, the others (which follow the clock) take their share of the
// due periods, and the press's page comes back once all are charged.
func (d *Demo) settle(ctx context.Context) (charged int, err error) {
	passes, deadline := 0, time.Now().Add(maxDemoWait)
	for passes < maxDemoPasses {
		r, err := d.Worker.Pass(ctx)
		charged += r.Charged
		if err != nil {
			return charged, err
		}
		if r.Charged > 0 {
			passes++
			continue
		}
		busy, err := d.Store.BillingInProgress(ctx, d.Clock.Now())
		if err != nil || busy == 0 || time.Now().After(deadline) {
			return charged, err
		}
		select {
		case <-ctx.Done():
			return charged, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return charged, nil
}

// Reset brings the clock back to real time, for every process.
func (d *Demo) Reset(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.Store.ResetDemoClock(ctx); err != nil {
		return err
	}
	return d.set(ctx, 0)
}

// isTransient reports a provider outage (see service.Transient).
func isTransient(err error) bool { return service.Transient(err) }

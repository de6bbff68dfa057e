package stripesim

import (
	"context"
	"fmt"
	"time"

	"example.com/storefront/sandbox/simkit"
)

// What Stripe does on its own a moment later: a pending charge succeeds,
// a succeeded one is disputed, a pending refund settles (or fails), a
// succeeded one fails. Each is due after the settle delay, on whichever
// clock passes it first:
//   - the wall clock: a timer (later) moves that one object on and sends
//     its events, so that the app hears of it without asking;
//   - the sandbox's clock: every API request, and the index page, first
//     catch up with everything due (stripeCatchUp), so that a moved demo
//     clock, or a restart with no timers left, gives the same outcome.

// dueAt is when something that takes d is due on the sandbox's clock, in
// Unix seconds, rounded up to a whole second: a settle delay shorter than
// a second must still wait for the clock to move.
func dueAt(now time.Time, d time.Duration) int64 {
	return now.Unix() + dueSeconds(d)
}

// dueSeconds is d in whole seconds, rounded up.
func dueSeconds(d time.Duration) int64 {
	return int64((d + time.Second - 1) / time.Second)
}

// later runs fn in a write transaction of its own once d has passed on
// the wall clock. fn checks that its object is still in the state it
// moves on from: a request may have caught up with it first.
func (s *Sim) later(d time.Duration, fn func(ctx context.Context, tx *simkit.WriteTx) error) {
	s.host.After(d, func(ctx context.Context) {
		s.host.Lock()
		defer s.host.Unlock()
		if err := s.host.Write(ctx, func(tx *simkit.WriteTx) error { return fn(ctx, tx) }); err != nil && ctx.Err() == nil {
			s.host.Logger().Error("sandbox stripe: settle", "err", err)
		}
	})
}

// stripeCatchUp does what Stripe would have done by now on the sandbox's
// clock, oldest first, until nothing more is due (a refund that succeeds
// may be due to fail as well).
func (s *Sim) stripeCatchUp(ctx context.Context, tx *simkit.WriteTx) error {
	now := s.host.Now().Unix()
	// Every request asks; nearly always nothing is due, which one
	// statement tells.
	var due bool
	if err := tx.QueryRowContext(ctx, `SELECT
		EXISTS (SELECT 1 FROM stripe_charges WHERE settles_at <= ?1)
		OR EXISTS (SELECT 1 FROM stripe_charges WHERE disputes_at <= ?1)
		OR EXISTS (SELECT 1 FROM stripe_refunds WHERE status = 'pending' AND settles_at <= ?1)
		OR EXISTS (SELECT 1 FROM stripe_refunds WHERE fails_at <= ?1)`, now).Scan(&due); err != nil {
		return fmt.Errorf("look for what is due: %w", err)
	}
	if !due {
		return nil
	}
	for range 100 { // each round moves every due object on; a refund needs two
		n := 0
		for _, step := range []struct {
			what  string
			query string
			do    func(context.Context, *simkit.WriteTx, string) error
		}{
			{"due charges", `SELECT id FROM stripe_charges WHERE settles_at <= ? ORDER BY settles_at, rowid`, s.stripeSettleCharge},
			{"due disputes", `SELECT id FROM stripe_charges WHERE disputes_at <= ? ORDER BY disputes_at, rowid`, s.stripeOpenDispute},
			{"due refunds", `SELECT id FROM stripe_refunds WHERE status = 'pending' AND settles_at <= ? ORDER BY settles_at, rowid`, s.stripeSettleRefund},
			{"refunds due to fail", `SELECT id FROM stripe_refunds WHERE fails_at <= ? ORDER BY fails_at, rowid`, s.stripeFailSucceededRefund},
		} {
			ids, err := queryIDs(ctx, tx, step.query, now)
			if err != nil {
				return fmt.Errorf("list %s: %w", step.what, err)
			}
			for _, id := range ids {
				if err := step.do(ctx, tx, id); err != nil {
					return err
				}
			}
			n += len(ids)
		}
		if n == 0 {
			return nil
		}
	}
	return fmt.Errorf("catch up: still due after 100 rounds")
}

// queryIDs runs a query for a list of ids.
func queryIDs(ctx context.Context, q simkit.Querier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// resumeLater sets the timers again for what a previous run left due
// (a restart has none), at the time each is due on the sandbox's clock, so
// that its webhooks come without anyone asking.
func (s *Sim) resumeLater() {
	s.host.After(0, func(ctx context.Context) {
		s.host.Lock()
		defer s.host.Unlock()
		now := s.host.Now().Unix()
		for _, step := range []struct {
			query string
			do    func(context.Context, *simkit.WriteTx, string) error
		}{
			{`SELECT id, settles_at FROM stripe_charges WHERE settles_at IS NOT NULL`, s.stripeSettleCharge},
			{`SELECT id, disputes_at FROM stripe_charges WHERE disputes_at IS NOT NULL`, s.stripeOpenDispute},
			{`SELECT id, settles_at FROM stripe_refunds WHERE status = 'pending'`, s.stripeSettleRefund},
			{`SELECT id, fails_at FROM stripe_refunds WHERE fails_at IS NOT NULL`, s.stripeFailSucceededRefund},
		} {
			due, err := queryDue(ctx, s.host, step.query)
			if err != nil {
				if ctx.Err() == nil {
					s.host.Logger().Error("sandbox stripe: resume timers", "err", err)
				}
				return
			}
			for id, at := range due {
				do := step.do
				s.later(time.Duration(max(at-now, 0))*time.Second, func(ctx context.Context, tx *simkit.WriteTx) error {
					return do(ctx, tx, id)
				})
			}
		}
	})
}

// queryDue runs a query for ids and the time each is due.
func queryDue(ctx context.Context, host *simkit.Host, query string) (map[string]int64, error) {
	due := map[string]int64{}
	err := host.Write(ctx, func(tx *simkit.WriteTx) error {
		rows, err := tx.QueryContext(ctx, query)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var at int64
			if err := rows.Scan(&id, &at); err != nil {
				return err
			}
			due[id] = at
		}
		return rows.Err()
	})
	return due, err
}

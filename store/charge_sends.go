package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Sent says when a charge's idempotency key was first used at the
// provider, by the app's clock (the demo clock) and by real time. Both are
// zero for a charge never sent.
type Sent struct {
	At     time.Time // the app's clock
	RealAt time.Time // real time
}

// Never reports whether the charge was never sent: its key is unknown to
// the provider.
func (s Sent) Never() bool { return s.At.IsZero() && s.RealAt.IsZero() }

// MarkChargeSent records, before a charge is sent, that its key is about to
// be used, unless an earlier send already did: a key's life at the provider
// starts with its first request. It also records this send (last_sent_real_at),
// which may be in flight for a while. Real time is the store's (LeaseClock),
// as for refunds (MarkRefundSent).
func (s *Store) MarkChargeSent(ctx context.Context, id int64) error {
	real := s.real().UTC().Format(timeLayout)
	_, err := s.db.ExecContext(ctx, `UPDATE charges SET first_sent_at = coalesce(first_sent_at, ?),
		first_sent_real_at = coalesce(first_sent_real_at, ?), last_sent_real_at = ? WHERE id = ?`,
		s.now().UTC().Format(timeLayout), real, real, id)
	if err != nil {
		return fmt.Errorf("mark charge %d sent: %w", id, err)
	}
	return nil
}

// ChargeSent says when a charge was first sent.
func (s *Store) ChargeSent(ctx context.Context, id int64) (Sent, error) {
	var at, realAt sql.NullString
	err := s.db.QueryRowContext(ctx, `SELECT first_sent_at, first_sent_real_at FROM charges WHERE id = ?`, id).Scan(&at, &realAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Sent{}, ErrNotFound
	}
	if err != nil {
		return Sent{}, fmt.Errorf("charge %d sent: %w", id, err)
	}
	var sent Sent
	if at.Valid {
		sent.At = parseTime(at.String)
	}
	if realAt.Valid {
		sent.RealAt = parseTime(realAt.String)
	}
	return sent, nil
}

// MarkRefundSent records, before a refund is sent, when (in real time): the
// request may be in flight for a while, and the worker leaves it alone
// meanwhile (see PendingRefunds).
func (s *Store) MarkRefundSent(ctx context.Context, id int64) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE refunds SET last_sent_real_at = ? WHERE id = ?`,
		s.real().UTC().Format(timeLayout), id); err != nil {
		return fmt.Errorf("mark refund %d sent: %w", id, err)
	}
	return nil
}

// InFlightFor is how long after it was sent (in real time) a request may
// still be in flight: longer than our provider clients wait for an answer
// (30 s), so that a look-up never races the request it looks for.
const InFlightFor = 2 * time.Minute

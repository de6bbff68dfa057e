package store

import (
	"context"
	"fmt"
	"time"
)

// TakeLoginAttempt records an attempt to log in from client (an address,
// or an IPv6 /64) and says whether it may go ahead: at most limit
// attempts in any window, counting every attempt still recorded (failed
// ones, and ones running now). A correct password gives its attempt back
// (ReturnLoginAttempt). When refused, wait is how long until the oldest
// counted attempt leaves the window.
//
// The attempt is written first and counted after, each a statement of
// its own: the k-th attempt written, on any instance, counts at least k
// rows, so no more than limit go ahead however many arrive at once (a
// burst may refuse more than it must: never fewer). Times are real time,
// never the demo clock.
func (s *Store) TakeLoginAttempt(ctx context.Context, client string, limit int, window time.Duration) (id int64, ok bool, wait time.Duration, err error) {
	now := s.real().UTC()
	since := now.Add(-window).Format(timeLayout)
	if _, err := s.db.ExecContext(ctx, `DELETE FROM login_attempts WHERE at < ?`, since); err != nil {
		return 0, false, 0, fmt.Errorf("login attempts: %w", err)
	}
	if err := s.db.QueryRowContext(ctx, `INSERT INTO login_attempts (client, at) VALUES (?, ?) RETURNING id`,
		client, now.Format(timeLayout)).Scan(&id); err != nil {
		return 0, false, 0, fmt.Errorf("login attempts: %w", err)
	}
	var n int
	var oldest string
	if err := s.db.QueryRowContext(ctx, `SELECT count(*), min(at) FROM login_attempts WHERE client = ? AND at >= ?`,
		client, since).Scan(&n, &oldest); err != nil {
		return 0, false, 0, fmt.Errorf("login attempts: %w", err)
	}
	if n <= limit {
		return id, true, 0, nil
	}
	// Refused: it is no attempt at the password, and must not hold the
	// client back any longer.
	if err := s.ReturnLoginAttempt(ctx, id); err != nil {
		return 0, false, 0, err
	}
	return 0, false, max(parseTime(oldest).Add(window).Sub(now), time.Second), nil
}

// ReturnLoginAttempt forgets an attempt: the password was right.
func (s *Store) ReturnLoginAttempt(ctx context.Context, id int64) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM login_attempts WHERE id = ?`, id); err != nil {
		return fmt.Errorf("login attempts: %w", err)
	}
	return nil
}

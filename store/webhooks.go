package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"example.com/storefront/payments"
)

// Webhook event statuses: pending until processed; processed when applied;
// ignored when it concerned nothing of ours or nothing could be done (the
// outcome says why).
const (
	EventPending   = "pending"
	EventProcessed = "processed"
	EventIgnored   = "ignored"
)

// WebhookEvent is a stored webhook delivery: what it is about, and how its
// processing went.
type WebhookEvent struct {
	ID            int64
	Provider      string
	Event         payments.Event
	Status        string
	Attempts      int
	NextAttemptAt time.Time
	Outcome       string
	MandateID     string
	ReceivedAt    time.Time
}

// StoreWebhookEvent records a verified delivery before it is processed.
// A duplicate (the same provider and event id) is not stored again: the
// stored one is returned with isNew false.
func (s *Store) StoreWebhookEvent(ctx context.Context, provider string, ev payments.Event) (WebhookEvent, bool, error) {
	refs, err := json.Marshal(ev)
	if err != nil {
		return WebhookEvent{}, false, fmt.Errorf("store webhook event: %w", err)
	}
	ts := s.now().UTC().Format(timeLayout)
	return s.insertWebhookEvent(ctx, provider, ev.ID, `INSERT INTO webhook_events (provider, event_id, type, refs, status, next_attempt_at, received_at)
		VALUES (?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT (provider, event_id) DO NOTHING RETURNING `+webhookColumns,
		provider, ev.ID, ev.Type, string(refs), ts, ts)
}

// insertWebhookEvent runs an INSERT … ON CONFLICT DO NOTHING RETURNING
// the event: a new one comes back from the insert itself, a duplicate is
// read as stored.
func (s *Store) insertWebhookEvent(ctx context.Context, provider, eventID, insert string, args ...any) (WebhookEvent, bool, error) {
	e, err := scanWebhookEvent(s.db.QueryRowContext(ctx, insert, args...))
	if err == nil {
		return e, true, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return WebhookEvent{}, false, fmt.Errorf("store webhook event: %w", err)
	}
	e, err = s.webhookEvent(ctx, `provider = ? AND event_id = ?`, provider, eventID)
	return e, false, err
}

// StoreWebhookEventClaimed is StoreWebhookEvent for a caller that
// processes the event itself at once: a new event is stored already
// claimed by it for lease (in real time), in the same statement, so that
// the background worker cannot take it in between and the caller answer
// "being processed" for an event nobody else was sent. claimed says the
// caller holds it: true for a new event; a redelivered one must still be
// claimed with ClaimWebhookEvent.
func (s *Store) StoreWebhookEventClaimed(ctx context.Context, provider string, ev payments.Event, lease time.Duration) (e WebhookEvent, claimed bool, err error) {
	refs, err := json.Marshal(ev)
	if err != nil {
		return WebhookEvent{}, false, fmt.Errorf("store webhook event: %w", err)
	}
	ts := s.now().UTC().Format(timeLayout)
	return s.insertWebhookEvent(ctx, provider, ev.ID, `INSERT INTO webhook_events (provider, event_id, type, refs, status, next_attempt_at, received_at,
			attempts, leased_until)
		VALUES (?, ?, ?, ?, 'pending', ?, ?, 1, ?) ON CONFLICT (provider, event_id) DO NOTHING RETURNING `+webhookColumns,
		provider, ev.ID, ev.Type, string(refs), ts, ts, s.real().UTC().Add(lease).Format(timeLayout))
}

const webhookColumns = `id, provider, refs, status, attempts, next_attempt_at, outcome, mandate_id, received_at`

func scanWebhookEvent(sc interface{ Scan(...any) error }) (WebhookEvent, error) {
	var e WebhookEvent
	var refs, next, received string
	var mid sql.NullString
	if err := sc.Scan(&e.ID, &e.Provider, &refs, &e.Status, &e.Attempts, &next, &e.Outcome, &mid, &received); err != nil {
		return WebhookEvent{}, err
	}
	if err := json.Unmarshal([]byte(refs), &e.Event); err != nil {
		return WebhookEvent{}, fmt.Errorf("webhook event %d: refs: %w", e.ID, err)
	}
	e.NextAttemptAt, e.ReceivedAt, e.MandateID = parseTime(next), parseTime(received), mid.String
	return e, nil
}

func (s *Store) webhookEvent(ctx context.Context, where string, args ...any) (WebhookEvent, error) {
	e, err := scanWebhookEvent(s.db.QueryRowContext(ctx, `SELECT `+webhookColumns+` FROM webhook_events WHERE `+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return WebhookEvent{}, ErrNotFound
	}
	if err != nil {
		return WebhookEvent{}, fmt.Errorf("webhook event: %w", err)
	}
	return e, nil
}

// ClaimWebhookEvents takes up to limit pending events that are due and not
// claimed, for lease: another processor (another process on the same
// database) leaves them alone until then, and an event whose processor
// died is taken again afterwards. Due is on the app's clock; the lease is
// in real time (see LeaseClock).
func (s *Store) ClaimWebhookEvents(ctx context.Context, lease time.Duration, limit int) ([]WebhookEvent, error) {
	real := s.real().UTC()
	rows, err := s.db.QueryContext(ctx, `UPDATE webhook_events SET attempts = attempts + 1, leased_until = ?
		WHERE id IN (SELECT id FROM webhook_events WHERE status = 'pending' AND next_attempt_at <= ?
			AND (leased_until IS NULL OR leased_until < ?) ORDER BY next_attempt_at, id LIMIT ?`+s.d.skipLocked+`)
		RETURNING `+webhookColumns, real.Add(lease).Format(timeLayout), s.now().UTC().Format(timeLayout),
		real.Format(timeLayout), limit)
	if err != nil {
		return nil, fmt.Errorf("claim webhook events: %w", err)
	}
	defer rows.Close()
	var out []WebhookEvent
	for rows.Next() {
		e, err := scanWebhookEvent(rows)
		if err != nil {
			return nil, fmt.Errorf("claim webhook events: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// NextWebhookEventIn is how long until the earliest pending event can be
// claimed: until it falls due on the app's clock (now), or its processor's
// lease ends in real time, whichever is later; ok is false when none is
// pending. The two clocks differ by the demo clock's offset, so each is
// compared with its own now.
//
// Times are compared as stored (fixed-width text) and subtracted in Go, so
// the SQL is the same on both databases: the earliest due among events
// nobody holds, then each event held right now (a few: one per event
// being processed).
func (s *Store) NextWebhookEventIn(ctx context.Context, now time.Time) (wait time.Duration, ok bool, err error) {
	real := s.real().UTC()
	realTS := real.Format(timeLayout)
	var due sql.NullString
	if err := s.db.QueryRowContext(ctx, `SELECT min(next_attempt_at) FROM webhook_events
		WHERE status = 'pending' AND (leased_until IS NULL OR leased_until < ?)`, realTS).Scan(&due); err != nil {
		return 0, false, fmt.Errorf("next webhook event: %w", err)
	}
	if due.Valid {
		wait, ok = max(parseTime(due.String).Sub(now), 0), true
	}
	rows, err := s.db.QueryContext(ctx, `SELECT next_attempt_at, leased_until FROM webhook_events
		WHERE status = 'pending' AND leased_until >= ?`, realTS)
	if err != nil {
		return 0, false, fmt.Errorf("next webhook event: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var next, until string
		if err := rows.Scan(&next, &until); err != nil {
			return 0, false, fmt.Errorf("next webhook event: %w", err)
		}
		w := max(parseTime(next).Sub(now), parseTime(until).Sub(real), 0)
		if !ok || w < wait {
			wait, ok = w, true
		}
	}
	if err := rows.Err(); err != nil {
		return 0, false, fmt.Errorf("next webhook event: %w", err)
	}
	return wait, ok, nil
}

// ClaimWebhookEvent takes one pending event for lease, to process it at
// once as it arrives (a provider's redelivery too, whenever our own retry
// is due); false when another processor has it.
func (s *Store) ClaimWebhookEvent(ctx context.Context, id int64, lease time.Duration) (bool, error) {
	now := s.real().UTC() // a lease: real time
	res, err := s.db.ExecContext(ctx, `UPDATE webhook_events SET attempts = attempts + 1, leased_until = ?
		WHERE id = ? AND status = 'pending' AND (leased_until IS NULL OR leased_until < ?)`,
		now.Add(lease).Format(timeLayout), id, now.Format(timeLayout))
	if err != nil {
		return false, fmt.Errorf("claim webhook event %d: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// FinishWebhookEvent records how an event's processing ended: processed or
// ignored, with what happened and the mandate it concerned ("" for none).
func (s *Store) FinishWebhookEvent(ctx context.Context, id int64, status, outcome, mandateID string) error {
	var mid any
	if mandateID != "" {
		mid = mandateID
	}
	_, err := s.db.ExecContext(ctx, `UPDATE webhook_events SET status = ?, outcome = ?, mandate_id = ?, processed_at = ?,
		leased_until = NULL WHERE id = ?`,
		status, truncate(outcome, 500), mid, s.now().UTC().Format(timeLayout), id)
	if err != nil {
		return fmt.Errorf("finish webhook event %d: %w", id, err)
	}
	return nil
}

// RetryWebhookEvent leaves an event pending, to be tried again at next.
func (s *Store) RetryWebhookEvent(ctx context.Context, id int64, problem string, next time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE webhook_events SET outcome = ?, next_attempt_at = ?, leased_until = NULL
		WHERE id = ? AND status = 'pending'`,
		truncate(problem, 500), next.UTC().Format(timeLayout), id)
	if err != nil {
		return fmt.Errorf("retry webhook event %d: %w", id, err)
	}
	return nil
}

// PruneWebhookEvents forgets processed and ignored events received before
// before; pending ones are kept until they are processed.
func (s *Store) PruneWebhookEvents(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM webhook_events WHERE status != 'pending' AND received_at < ?`,
		before.UTC().Format(timeLayout))
	if err != nil {
		return 0, fmt.Errorf("prune webhook events: %w", err)
	}
	return res.RowsAffected()
}

// WebhookEventByID returns a stored event.
func (s *Store) WebhookEventByID(ctx context.Context, id int64) (WebhookEvent, error) {
	return s.webhookEvent(ctx, `id = ?`, id)
}

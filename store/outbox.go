package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Outbox message statuses: pending until delivered; sent once the mail
// server took it; failed when it kept failing (or was refused for good),
// shown to the merchant.
const (
	MessagePending = "pending"
	MessageSent    = "sent"
	MessageFailed  = "failed"
)

// NewMessage is a message to a shopper, about to be written to the outbox.
type NewMessage struct {
	// Key makes the message unique per event ("charge/<id>/receipt"): a
	// second message with a key already written is not written.
	Key       string
	Kind      string
	MandateID string // "" for a message about no mandate
	To        string
	// Data is what the message says, rendered when it is delivered.
	Data any
}

// Message is a message in the outbox.
type Message struct {
	ID            int64
	Key           string
	Kind          string
	MandateID     string
	To            string
	Data          json.RawMessage
	Status        string
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
	CreatedAt     time.Time
	SentAt        time.Time // zero until sent
}

// insertOutbox and outboxRow write outbox rows, pending and due at once
// (key, kind, mandate_id, to_email, data, next_attempt_at in real time,
// created_at): enqueue one, and a price change's notices many at a time.
const (
	insertOutbox = `INSERT INTO outbox (key, kind, mandate_id, to_email, data, status, next_attempt_at, created_at) VALUES `
	outboxRow    = `(?, ?, ?, ?, ?, 'pending', ?, ?)`
)

// enqueue writes m to the outbox inside tx, the transaction of the event
// that causes it, so the message exists exactly when the event does. It
// reports whether m was new.
func (s *Store) enqueue(ctx context.Context, tx *sql.Tx, m NewMessage) (bool, error) {
	if m.Key == "" || m.Kind == "" || m.To == "" {
		return false, fmt.Errorf("outbox: a message needs a key, a kind and a recipient")
	}
	data, err := json.Marshal(m.Data)
	if err != nil {
		return false, fmt.Errorf("outbox %s: %w", m.Key, err)
	}
	var mandateID any
	if m.MandateID != "" {
		mandateID = m.MandateID
	}
	res, err := tx.ExecContext(ctx, insertOutbox+outboxRow+` ON CONFLICT (key) DO NOTHING`,
		m.Key, m.Kind, mandateID, m.To, string(data), s.real().UTC().Format(timeLayout), s.now().UTC().Format(timeLayout))
	if err != nil {
		return false, fmt.Errorf("outbox %s: %w", m.Key, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// EnqueueMessage writes a message that no other change causes (a fresh
// link the shopper asked for) to the outbox, in a transaction of its own.
func (s *Store) EnqueueMessage(ctx context.Context, m NewMessage) (bool, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("outbox %s: %w", m.Key, err)
	}
	defer tx.Rollback()
	isNew, err := s.enqueue(ctx, tx, m)
	if err != nil {
		return false, err
	}
	return isNew, tx.Commit()
}

const messageColumns = `id, key, kind, coalesce(mandate_id, ''), to_email, data, status, attempts, next_attempt_at,
	last_error, created_at, coalesce(sent_at, '')`

func scanMessage(sc interface{ Scan(...any) error }) (Message, error) {
	var m Message
	var data, next, created, sent string
	if err := sc.Scan(&m.ID, &m.Key, &m.Kind, &m.MandateID, &m.To, &data, &m.Status, &m.Attempts, &next,
		&m.LastError, &created, &sent); err != nil {
		return Message{}, err
	}
	m.Data = json.RawMessage(data)
	m.NextAttemptAt, m.CreatedAt = parseTime(next), parseTime(created)
	if sent != "" {
		m.SentAt = parseTime(sent)
	}
	return m, nil
}

// ClaimMessages takes up to limit pending messages that are due and that
// no deliverer holds, for lease (in real time): another process leaves
// them alone until then, and a message whose deliverer died is taken again
// afterwards (the mail server may then get it twice, with the same
// Message-ID; it is never lost).
func (s *Store) ClaimMessages(ctx context.Context, lease time.Duration, limit int) ([]Message, error) {
	real := s.real().UTC()
	out, err := s.queryMessages(ctx, `UPDATE outbox SET attempts = attempts + 1, leased_until = ?
		WHERE id IN (SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= ?
			AND (leased_until IS NULL OR leased_until < ?) ORDER BY next_attempt_at, id LIMIT ?`+s.d.skipLocked+`)
		RETURNING `+messageColumns, real.Add(lease).Format(timeLayout), real.Format(timeLayout), real.Format(timeLayout), limit)
	if err != nil {
		return nil, fmt.Errorf("claim messages: %w", err)
	}
	return out, nil
}

// MessagesDue reports whether a message is due and free to claim: a read
// in the index of pending messages, so that an idle deliverer writes
// nothing.
func (s *Store) MessagesDue(ctx context.Context) (bool, error) {
	real := s.real().UTC().Format(timeLayout)
	var due bool
	if err := s.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM outbox WHERE status = 'pending' AND next_attempt_at <= ?
		AND (leased_until IS NULL OR leased_until < ?))`, real, real).Scan(&due); err != nil {
		return false, fmt.Errorf("messages due: %w", err)
	}
	return due, nil
}

// MessageWasSent records that the mail server took a message.
func (s *Store) MessageWasSent(ctx context.Context, id int64) error {
	_, err := s.db.ExecContext(ctx, `UPDATE outbox SET status = 'sent', sent_at = ?, leased_until = NULL, last_error = ''
		WHERE id = ? AND status = 'pending'`, s.real().UTC().Format(timeLayout), id)
	if err != nil {
		return fmt.Errorf("message %d sent: %w", id, err)
	}
	return nil
}

// RetryMessage leaves a message pending, to be tried again at next (real
// time), with the problem that stopped it.
func (s *Store) RetryMessage(ctx context.Context, id int64, problem string, next time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE outbox SET next_attempt_at = ?, leased_until = NULL, last_error = ?
		WHERE id = ? AND status = 'pending'`, next.UTC().Format(timeLayout), truncate(problem, 500), id)
	if err != nil {
		return fmt.Errorf("retry message %d: %w", id, err)
	}
	return nil
}

// FailMessage gives a message up: it kept failing, or the mail server
// refused it for good. The merchant sees it.
func (s *Store) FailMessage(ctx context.Context, id int64, problem string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE outbox SET status = 'failed', leased_until = NULL, last_error = ?
		WHERE id = ? AND status = 'pending'`, truncate(problem, 500), id)
	if err != nil {
		return fmt.Errorf("fail message %d: %w", id, err)
	}
	return nil
}

// Messages returns a mandate's messages, oldest first.
func (s *Store) Messages(ctx context.Context, mandateID string) ([]Message, error) {
	out, err := s.queryMessages(ctx, `SELECT `+messageColumns+` FROM outbox WHERE mandate_id = ? ORDER BY id`, mandateID)
	if err != nil {
		return nil, fmt.Errorf("messages of %s: %w", mandateID, err)
	}
	return out, nil
}

func (s *Store) queryMessages(ctx context.Context, q string, args ...any) ([]Message, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// MessageByKey returns the message written for an event, or ErrNotFound.
func (s *Store) MessageByKey(ctx context.Context, key string) (Message, error) {
	m, err := scanMessage(s.db.QueryRowContext(ctx, `SELECT `+messageColumns+` FROM outbox WHERE key = ?`, key))
	if errors.Is(err, sql.ErrNoRows) {
		return Message{}, ErrNotFound
	}
	if err != nil {
		return Message{}, fmt.Errorf("message %s: %w", key, err)
	}
	return m, nil
}

// MessageCounts are the outbox's messages that need the merchant's eye.
type MessageCounts struct {
	Pending int // waiting for the mail server (or for SMTP_URL)
	Failed  int // given up
}

// CountMessages counts pending and failed messages, each in its own
// partial index (sent ones, which grow for ever, are never counted).
func (s *Store) CountMessages(ctx context.Context) (MessageCounts, error) {
	var c MessageCounts
	if err := s.db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM outbox WHERE status = 'pending'),
		(SELECT count(*) FROM outbox WHERE status = 'failed')`).Scan(&c.Pending, &c.Failed); err != nil {
		return MessageCounts{}, fmt.Errorf("count messages: %w", err)
	}
	return c, nil
}

// UndeliveredMessages returns up to limit messages in status (pending or
// failed), oldest first, from that status's partial index: what the
// merchant's page of messages waiting or given up shows.
func (s *Store) UndeliveredMessages(ctx context.Context, status string, limit int) ([]Message, error) {
	var q string
	switch status {
	case MessagePending:
		q = `SELECT ` + messageColumns + ` FROM outbox WHERE status = 'pending' ORDER BY next_attempt_at, id LIMIT ?`
	case MessageFailed:
		q = `SELECT ` + messageColumns + ` FROM outbox WHERE status = 'failed' ORDER BY id LIMIT ?`
	default:
		return nil, fmt.Errorf("undelivered messages: no status %q", status)
	}
	out, err := s.queryMessages(ctx, q, limit)
	if err != nil {
		return nil, fmt.Errorf("%s messages: %w", status, err)
	}
	return out, nil
}

// ResendMessage puts a failed message back in the queue, due now with its
// attempts counted afresh: the merchant fixed what stopped it (the mail
// server's settings, the shopper's address at their provider). It reports
// whether the message was failed.
func (s *Store) ResendMessage(ctx context.Context, id int64) (bool, error) {
	// resent_at (the app's clock) puts the merchant's resend in the activity log.
	res, err := s.db.ExecContext(ctx, `UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = ?, leased_until = NULL,
		resent_at = ? WHERE id = ? AND status = 'failed'`, s.real().UTC().Format(timeLayout), s.now().UTC().Format(timeLayout), id)
	if err != nil {
		return false, fmt.Errorf("resend message %d: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

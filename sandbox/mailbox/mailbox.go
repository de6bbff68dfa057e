// Package mailbox is the sandbox's mailbox: in the all-sandbox demo the
// storefront delivers every message it sends here too, and the sandbox
// shows them as the shopper would receive them (/sandbox/mail), so that a
// presenter can show what the customer gets without a mail server.
//
// A message is delivered once per key: the storefront's outbox may deliver
// the same message again after a crash or a lost answer, and the mailbox
// keeps the first. Deliveries come in process (Box.Deliver) or over HTTP
// (POST /sandbox/mail/messages, with the sandbox's API key as a bearer
// token), for a sandbox that runs as its own process.
package mailbox // import "example.com/storefront/sandbox/mailbox"

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"example.com/storefront/sandbox/simkit"
)

// Limits on what a message may hold. The mailbox is for a demo's messages;
// a larger body is a bug in the sender, not an email to keep.
const (
	MaxBodyBytes   = 1 << 20 // text and HTML parts together
	maxHeaderChars = 998     // RFC 5322's line limit
	maxKeyChars    = 255
	maxHeaders     = 30
	// Keep is how many messages the mailbox keeps; older ones are dropped
	// as new ones arrive (and their keys with them).
	Keep = 1000
)

// Message is a message as the storefront sends it.
type Message struct {
	// Key identifies the message: the same key delivered again is the
	// same message, kept once (the outbox's key for the event).
	Key     string `json:"key"`
	From    string `json:"from"` // "Acme Coffee Club <shop@example.com>"
	To      string `json:"to"`   // one recipient: "Ada Lovelace <ada@example.com>" or "ada@example.com"
	Subject string `json:"subject"`
	Text    string `json:"text"`           // the plain-text part (required: every message has one)
	HTML    string `json:"html,omitempty"` // the HTML part, or "" for none
	// Headers are the other header fields the sender set (Auto-Submitted,
	// List-Unsubscribe, …), shown with the message; not From, To, Subject
	// or Date, which are the fields above and the mailbox's clock.
	Headers map[string]string `json:"headers,omitempty"`
}

// Delivery is the mailbox's answer to a delivery.
type Delivery struct {
	ID         int64     `json:"id"`
	URL        string    `json:"url"`         // the message's page in the sandbox
	ReceivedAt time.Time `json:"received_at"` // when the mailbox first received it, on the sandbox's clock
	// Duplicate reports that the key had been delivered before: nothing
	// was stored, and ID is the message kept the first time.
	Duplicate bool `json:"duplicate"`
}

// Stored is a message in the mailbox.
type Stored struct {
	ID int64
	Message
	ReceivedAt time.Time
}

// InvalidError is a delivery the mailbox refuses, saying why.
type InvalidError struct{ Reason string }

func (e *InvalidError) Error() string { return "invalid message: " + e.Reason }

// Box is the mailbox, on the sandbox's database. It does not take the
// host's lock, which orders the providers' requests: its state is its own
// table, and each call is one transaction (host.Write, the host's one way
// into the database, for reads too).
type Box struct {
	host *simkit.Host
}

// New returns the mailbox on host's database.
func New(host *simkit.Host) *Box { return &Box{host: host} }

// Deliver stores msg unless its key was delivered before. A message the
// mailbox refuses is an *InvalidError.
func (b *Box) Deliver(ctx context.Context, msg Message) (Delivery, error) {
	toAddr, err := validate(msg)
	if err != nil {
		return Delivery{}, err
	}
	extra := msg.Headers
	if extra == nil {
		extra = map[string]string{} // "{}", not "null"
	}
	headers, err := simkit.JSONText(extra)
	if err != nil {
		return Delivery{}, fmt.Errorf("mailbox: %w", err)
	}
	var d Delivery
	err = b.host.Write(ctx, func(tx *simkit.WriteTx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO mail
			(key, from_header, to_header, to_address, subject, text_body, html_body, headers, received_at_ms)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING`,
			msg.Key, msg.From, msg.To, toAddr, msg.Subject, msg.Text, msg.HTML, headers, b.host.Now().UnixMilli())
		if err != nil {
			return fmt.Errorf("store message: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("store message: %w", err)
		}
		d.Duplicate = n == 0
		var ms int64
		if err := tx.QueryRowContext(ctx, `SELECT id, received_at_ms FROM mail WHERE key = ?`, msg.Key).Scan(&d.ID, &ms); err != nil {
			return fmt.Errorf("read stored message: %w", err)
		}
		d.ReceivedAt = time.UnixMilli(ms).UTC()
		if !d.Duplicate {
			// Only the newest Keep stay: a long-running demo must not grow
			// the file for ever.
			if _, err := tx.ExecContext(ctx, `DELETE FROM mail WHERE id <= ?`, d.ID-Keep); err != nil {
				return fmt.Errorf("drop old messages: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return Delivery{}, fmt.Errorf("mailbox: %w", err)
	}
	d.URL = b.host.PageURL(fmt.Sprintf("/mail/%d", d.ID))
	return d, nil
}

// validate checks msg and returns its recipient's bare address, lower case.
func validate(msg Message) (string, error) {
	invalid := func(format string, args ...any) (string, error) {
		return "", &InvalidError{Reason: fmt.Sprintf(format, args...)}
	}
	for _, f := range []struct{ name, value string }{
		{"key", msg.Key}, {"from", msg.From}, {"to", msg.To}, {"subject", msg.Subject}, {"text", msg.Text},
	} {
		if strings.TrimSpace(f.value) == "" {
			return invalid("%s is required", f.name)
		}
	}
	if utf8.RuneCountInString(msg.Key) > maxKeyChars {
		return invalid("key is longer than %d characters", maxKeyChars)
	}
	fields := []struct{ name, value string }{{"from", msg.From}, {"to", msg.To}, {"subject", msg.Subject}}
	if len(msg.Headers) > maxHeaders {
		return invalid("more than %d headers", maxHeaders)
	}
	for name, value := range msg.Headers {
		if !headerName(name) {
			return invalid("header name %q is not a header field name (letters, digits and dashes)", name)
		}
		switch strings.ToLower(name) {
		case "from", "to", "subject", "date":
			return invalid("header %s: send it as its own field (Date is the mailbox's clock)", name)
		}
		fields = append(fields, struct{ name, value string }{"header " + name, value})
	}
	for _, f := range fields {
		if utf8.RuneCountInString(f.value) > maxHeaderChars {
			return invalid("%s is longer than %d characters", f.name, maxHeaderChars)
		}
		// A line break in a header is how header injection starts.
		if strings.ContainsFunc(f.value, unicode.IsControl) {
			return invalid("%s contains a line break or another control character", f.name)
		}
	}
	for _, f := range []struct{ name, value string }{{"key", msg.Key}, {"subject", msg.Subject}, {"text", msg.Text}, {"html", msg.HTML}} {
		if !utf8.ValidString(f.value) {
			return invalid("%s is not valid UTF-8", f.name)
		}
	}
	if _, err := mail.ParseAddress(msg.From); err != nil {
		return invalid("from %q is not one email address: %v", msg.From, err)
	}
	to, err := mail.ParseAddress(msg.To)
	if err != nil {
		return invalid("to %q is not one email address: %v", msg.To, err)
	}
	if n := len(msg.Text) + len(msg.HTML); n > MaxBodyBytes {
		return invalid("text and html together are %d bytes, more than %d", n, MaxBodyBytes)
	}
	return strings.ToLower(to.Address), nil
}

// headerName reports whether s is a header field name this mailbox keeps:
// RFC 5322 allows more, senders use these.
func headerName(s string) bool {
	if s == "" || len(s) > 76 {
		return false
	}
	for _, c := range s {
		if !(c == '-' || c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}

// ErrNotFound is what Get returns for an id the mailbox does not have.
var ErrNotFound = errors.New("mailbox: no such message")

// Get is the message with id.
func (b *Box) Get(ctx context.Context, id int64) (Stored, error) {
	var m Stored
	err := b.host.Write(ctx, func(tx *simkit.WriteTx) error {
		var ms int64
		var headers string
		err := tx.QueryRowContext(ctx, `SELECT id, key, from_header, to_header, subject, text_body, html_body, headers, received_at_ms
			FROM mail WHERE id = ?`, id).Scan(&m.ID, &m.Key, &m.From, &m.To, &m.Subject, &m.Text, &m.HTML, &headers, &ms)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("mailbox: read message %d: %w", id, err)
		}
		if err := json.Unmarshal([]byte(headers), &m.Headers); err != nil {
			return fmt.Errorf("mailbox: message %d's headers: %w", id, err)
		}
		if len(m.Headers) == 0 {
			m.Headers = nil // as delivered without any
		}
		m.ReceivedAt = time.UnixMilli(ms).UTC()
		return nil
	})
	return m, err
}

// Query selects a page of the mailbox, newest first.
type Query struct {
	To     string // only messages to this address ("" for all), case-insensitive
	Before int64  // only messages older than this id (0 for the newest): the keyset of the next page
	Limit  int    // at most this many; 0 → 50
}

// Page is a page of the mailbox.
type Page struct {
	Messages []Stored // newest first; Text and HTML are left empty
	// Next is the Before of the next (older) page, or 0 when this page is
	// the last.
	Next int64
}

// List is a page of the mailbox, newest (last delivered) first: arrival
// order, which the demo clock, set back, cannot reorder.
func (b *Box) List(ctx context.Context, q Query) (Page, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	before := q.Before
	if before <= 0 {
		before = 1<<63 - 1
	}
	to := strings.ToLower(strings.TrimSpace(q.To))
	var p Page
	err := b.host.Write(ctx, func(tx *simkit.WriteTx) error {
		// One more row than the page holds tells whether there is a next page.
		rows, err := tx.QueryContext(ctx, `SELECT id, key, from_header, to_header, subject, received_at_ms FROM mail
			WHERE id < ? AND (? = '' OR to_address = ?) ORDER BY id DESC LIMIT ?`, before, to, to, limit+1)
		if err != nil {
			return fmt.Errorf("mailbox: list: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var m Stored
			var ms int64
			if err := rows.Scan(&m.ID, &m.Key, &m.From, &m.To, &m.Subject, &ms); err != nil {
				return fmt.Errorf("mailbox: list: %w", err)
			}
			m.ReceivedAt = time.UnixMilli(ms).UTC()
			p.Messages = append(p.Messages, m)
		}
		return rows.Err()
	})
	if err != nil {
		return Page{}, err
	}
	if len(p.Messages) > limit {
		p.Messages = p.Messages[:limit]
		p.Next = p.Messages[limit-1].ID
	}
	return p, nil
}

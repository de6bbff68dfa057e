// Package store keeps customers, mandates with their consent evidence, and
// each mandate's history in SQLite.
//
// Status changes go through Transition, which asks the mandate package's
// state machine inside one write transaction, so concurrent return pages and
// webhooks cannot race a mandate backwards.
package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"example.com/storefront/mandate"
	"example.com/storefront/payments"
	"example.com/storefront/sqlitedb"
)

//go:embed migrations/*.sql
var migrations embed.FS

// ErrNotFound is returned when a mandate does not exist.
var ErrNotFound = errors.New("not found")

// timeLayout is fixed-width UTC, so stored times sort as text.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// Store is the app's database.
type Store struct {
	db  *sql.DB
	now func() time.Time
}

// Open opens the database file, creating and migrating it as needed.
func Open(ctx context.Context, file string) (*Store, error) {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	db, err := sqlitedb.Open(ctx, file, sub)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return &Store{db: db, now: time.Now}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Customer is a shopper.
type Customer struct {
	ID      int64
	Email   string
	Name    string
	Country string
}

// Consent is the evidence of what the shopper agreed to on our page.
type Consent struct {
	TermsVersion  string
	TermsSHA256   string
	Authorization string // the exact sentence next to the ticked box
	AcceptedAt    time.Time
	ClientIP      string
	UserAgent     string
}

// Mandate is a shopper's permission to be charged later.
type Mandate struct {
	ID                string
	Customer          Customer
	Provider          string
	ProviderRef       string
	Status            mandate.Status
	PaymentMethodID   string
	PaymentMethodType string
	Plan              payments.Plan
	Consent           Consent
	ConfirmedAt       time.Time // zero until the provider confirmed
	FailureReason     string
	LastError         string
	// FirstPayment is the payment asked for together with the setup, or nil.
	FirstPayment *Charge
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Charge is a payment on a mandate.
type Charge struct {
	Amount         payments.Money
	ProviderRef    string
	Status         payments.ChargeState
	ProviderStatus string
	FailureReason  string
}

// NewMandate is what CreateMandate needs.
type NewMandate struct {
	Email, Name, Country string
	Provider             string
	Plan                 payments.Plan
	Consent              Consent
	// FirstPayment, when set, records that the shopper asked to pay the
	// first period together with the setup.
	FirstPayment *payments.Money
}

// CreateMandate records a pending mandate with its consent evidence, and
// the customer (found by email, or created; their name and country updated).
func (s *Store) CreateMandate(ctx context.Context, n NewMandate) (Mandate, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Mandate{}, fmt.Errorf("create mandate: %w", err)
	}
	defer tx.Rollback()

	now := s.now().UTC()
	ts := now.Format(timeLayout)
	email := strings.ToLower(strings.TrimSpace(n.Email))
	var customerID int64
	err = tx.QueryRowContext(ctx, `
		INSERT INTO customers (email, name, country, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (email) DO UPDATE SET name = excluded.name, country = excluded.country, updated_at = excluded.updated_at
		RETURNING id`, email, n.Name, n.Country, ts, ts).Scan(&customerID)
	if err != nil {
		return Mandate{}, fmt.Errorf("create mandate: customer: %w", err)
	}
	id := "md_" + strings.ToLower(rand.Text())
	_, err = tx.ExecContext(ctx, `
		INSERT INTO mandates (id, customer_id, provider, status, plan_name, amount, currency, interval,
			terms_version, terms_sha256, authorization_text, accepted_at, client_ip, user_agent, created_at, updated_at)
		VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id, customerID, n.Provider, n.Plan.Name, n.Plan.Price.Amount, n.Plan.Price.Currency, string(n.Plan.Interval),
		n.Consent.TermsVersion, n.Consent.TermsSHA256, n.Consent.Authorization, n.Consent.AcceptedAt.UTC().Format(timeLayout),
		n.Consent.ClientIP, n.Consent.UserAgent, ts, ts)
	if err != nil {
		return Mandate{}, fmt.Errorf("create mandate: %w", err)
	}
	if err := addEvent(ctx, tx, id, "", mandate.Pending, Change{Source: mandate.SourceCheckout}, ts); err != nil {
		return Mandate{}, fmt.Errorf("create mandate: %w", err)
	}
	if fp := n.FirstPayment; fp != nil {
		if _, err := tx.ExecContext(ctx, `INSERT INTO charges (mandate_id, kind, amount, currency, status, created_at, updated_at)
			VALUES (?, 'initial', ?, ?, 'pending', ?, ?)`, id, fp.Amount, fp.Currency, ts, ts); err != nil {
			return Mandate{}, fmt.Errorf("create mandate: first payment: %w", err)
		}
	}
	m, err := findMandate(ctx, tx, `m.id = ?`, id)
	if err != nil {
		return Mandate{}, fmt.Errorf("create mandate: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return Mandate{}, fmt.Errorf("create mandate: %w", err)
	}
	return m, nil
}

// SetProviderRef records the provider's reference for a mandate, and for
// its first payment when there is one (firstPaymentRef may be ""). A
// reference can be set once; setting the same value again is a no-op.
func (s *Store) SetProviderRef(ctx context.Context, id, ref, firstPaymentRef string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("set provider ref of %s: %w", id, err)
	}
	defer tx.Rollback()
	ts := s.now().UTC().Format(timeLayout)
	res, err := tx.ExecContext(ctx, `UPDATE mandates SET provider_ref = ?, updated_at = ?
		WHERE id = ? AND (provider_ref IS NULL OR provider_ref = ?)`, ref, ts, id, ref)
	if err != nil {
		return fmt.Errorf("set provider ref of %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("set provider ref of %s: %w, or it already has another", id, ErrNotFound)
	}
	if firstPaymentRef != "" {
		res, err := tx.ExecContext(ctx, `UPDATE charges SET provider_ref = ?, updated_at = ?
			WHERE mandate_id = ? AND kind = 'initial' AND (provider_ref IS NULL OR provider_ref = ?)`, firstPaymentRef, ts, id, firstPaymentRef)
		if err != nil {
			return fmt.Errorf("set first payment ref of %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("set first payment ref of %s: no first payment, or it already has another ref", id)
		}
	}
	return tx.Commit()
}

// UpdateFirstPayment records the provider's latest word on a mandate's
// first payment. Like mandates, payments only move forward: a pending one
// may succeed or fail, a decided one stays as it is.
func (s *Store) UpdateFirstPayment(ctx context.Context, mandateID string, r payments.ChargeResult) (bool, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE charges SET status = ?, provider_status = ?, failure_reason = ?, updated_at = ?
		WHERE mandate_id = ? AND kind = 'initial' AND status = 'pending' AND (provider_ref IS NULL OR provider_ref = ?)
		AND (status != ? OR provider_status != ?)`,
		string(r.State), r.ProviderStatus, r.Reason, s.now().UTC().Format(timeLayout), mandateID, r.Ref, string(r.State), r.ProviderStatus)
	if err != nil {
		return false, fmt.Errorf("update first payment of %s: %w", mandateID, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// ProviderCustomerRef returns the provider's id for a customer, or "".
func (s *Store) ProviderCustomerRef(ctx context.Context, customerID int64, provider string) (string, error) {
	var ref string
	err := s.db.QueryRowContext(ctx, `SELECT provider_ref FROM provider_customers WHERE customer_id = ? AND provider = ?`,
		customerID, provider).Scan(&ref)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("provider customer ref: %w", err)
	}
	return ref, nil
}

// SetProviderCustomerRef remembers (or replaces) the provider's id for a customer.
func (s *Store) SetProviderCustomerRef(ctx context.Context, customerID int64, provider, ref string) error {
	_, err := s.db.ExecContext(ctx, `
		INSERT INTO provider_customers (customer_id, provider, provider_ref, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (customer_id, provider) DO UPDATE SET provider_ref = excluded.provider_ref`,
		customerID, provider, ref, s.now().UTC().Format(timeLayout))
	if err != nil {
		return fmt.Errorf("set provider customer ref: %w", err)
	}
	return nil
}

// Mandate returns the mandate with this id, or ErrNotFound.
func (s *Store) Mandate(ctx context.Context, id string) (Mandate, error) {
	return findMandate(ctx, s.db, `m.id = ?`, id)
}

// MandateByProviderRef finds a mandate by the provider's reference.
func (s *Store) MandateByProviderRef(ctx context.Context, provider, ref string) (Mandate, error) {
	return findMandate(ctx, s.db, `m.provider = ? AND m.provider_ref = ?`, provider, ref)
}

// Change describes a reported status change.
type Change struct {
	Source         mandate.Source
	ProviderStatus string
	// PaymentMethodID and PaymentMethodType are set when the mandate becomes active.
	PaymentMethodID   string
	PaymentMethodType string
	// Reason is why a mandate failed or was canceled.
	Reason string
}

// Transition moves a mandate to status to if the state machine allows it,
// recording the change in the history. A repeated or stale report changes
// nothing (not even the history) and is not an error: the decision says what
// happened.
func (s *Store) Transition(ctx context.Context, id string, to mandate.Status, c Change) (Mandate, mandate.Decision, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Mandate{}, 0, fmt.Errorf("transition %s: %w", id, err)
	}
	defer tx.Rollback()

	m, err := findMandate(ctx, tx, `m.id = ?`, id)
	if err != nil {
		return Mandate{}, 0, fmt.Errorf("transition %s: %w", id, err)
	}
	d := mandate.Decide(m.Status, to)
	if d != mandate.Move {
		return m, d, nil
	}
	ts := s.now().UTC().Format(timeLayout)
	var q string
	args := []any{string(to), ts}
	switch to {
	case mandate.Active:
		if c.PaymentMethodID == "" {
			return Mandate{}, 0, fmt.Errorf("transition %s to active: no payment method", id)
		}
		q = `, payment_method_id = ?, payment_method_type = ?, confirmed_at = ?, last_error = ''`
		args = append(args, c.PaymentMethodID, c.PaymentMethodType, ts)
	case mandate.Failed, mandate.Canceled, mandate.Revoked:
		q = `, failure_reason = ?`
		args = append(args, c.Reason)
	}
	args = append(args, id)
	if _, err := tx.ExecContext(ctx, `UPDATE mandates SET status = ?, updated_at = ?`+q+` WHERE id = ?`, args...); err != nil {
		return Mandate{}, 0, fmt.Errorf("transition %s: %w", id, err)
	}
	if err := addEvent(ctx, tx, id, m.Status, to, c, ts); err != nil {
		return Mandate{}, 0, fmt.Errorf("transition %s: %w", id, err)
	}
	if m, err = findMandate(ctx, tx, `m.id = ?`, id); err != nil {
		return Mandate{}, 0, fmt.Errorf("transition %s: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return Mandate{}, 0, fmt.Errorf("transition %s: %w", id, err)
	}
	return m, d, nil
}

// NoteError records the latest problem with a mandate that stays where it
// is (a decline the shopper may retry, an API outage while verifying), so
// its record tells the truth without moving its status.
func (s *Store) NoteError(ctx context.Context, id, problem string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE mandates SET last_error = ?, updated_at = ? WHERE id = ?`,
		problem, s.now().UTC().Format(timeLayout), id)
	if err != nil {
		return fmt.Errorf("note error on %s: %w", id, err)
	}
	return nil
}

// Event is one row of a mandate's history.
type Event struct {
	From, To       mandate.Status
	Source         mandate.Source
	ProviderStatus string
	Detail         string
	At             time.Time
}

// History returns a mandate's status changes, oldest first.
func (s *Store) History(ctx context.Context, id string) ([]Event, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT from_status, to_status, source, provider_status, detail, created_at
		FROM mandate_events WHERE mandate_id = ? ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("history of %s: %w", id, err)
	}
	defer rows.Close()
	var events []Event
	for rows.Next() {
		var e Event
		var at string
		if err := rows.Scan(&e.From, &e.To, &e.Source, &e.ProviderStatus, &e.Detail, &at); err != nil {
			return nil, fmt.Errorf("history of %s: %w", id, err)
		}
		e.At = parseTime(at)
		events = append(events, e)
	}
	return events, rows.Err()
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func findMandate(ctx context.Context, q querier, where string, args ...any) (Mandate, error) {
	var m Mandate
	var ref, pmID, pmType, confirmed sql.NullString
	var accepted, created, updated string
	var fpAmount sql.NullInt64
	var fpCurrency, fpRef, fpStatus, fpProviderStatus, fpReason sql.NullString
	err := q.QueryRowContext(ctx, `
		SELECT m.id, c.id, c.email, c.name, c.country, m.provider, m.provider_ref, m.status,
			m.payment_method_id, m.payment_method_type, m.plan_name, m.amount, m.currency, m.interval,
			m.terms_version, m.terms_sha256, m.authorization_text, m.accepted_at, m.client_ip, m.user_agent,
			m.confirmed_at, m.failure_reason, m.last_error, m.created_at, m.updated_at,
			fp.amount, fp.currency, fp.provider_ref, fp.status, fp.provider_status, fp.failure_reason
		FROM mandates m JOIN customers c ON c.id = m.customer_id
		LEFT JOIN charges fp ON fp.mandate_id = m.id AND fp.kind = 'initial'
		WHERE `+where, args...).Scan(
		&m.ID, &m.Customer.ID, &m.Customer.Email, &m.Customer.Name, &m.Customer.Country, &m.Provider, &ref, &m.Status,
		&pmID, &pmType, &m.Plan.Name, &m.Plan.Price.Amount, &m.Plan.Price.Currency, &m.Plan.Interval,
		&m.Consent.TermsVersion, &m.Consent.TermsSHA256, &m.Consent.Authorization, &accepted, &m.Consent.ClientIP, &m.Consent.UserAgent,
		&confirmed, &m.FailureReason, &m.LastError, &created, &updated,
		&fpAmount, &fpCurrency, &fpRef, &fpStatus, &fpProviderStatus, &fpReason)
	if errors.Is(err, sql.ErrNoRows) {
		return Mandate{}, ErrNotFound
	}
	if err != nil {
		return Mandate{}, err
	}
	m.ProviderRef, m.PaymentMethodID, m.PaymentMethodType = ref.String, pmID.String, pmType.String
	m.Consent.AcceptedAt, m.CreatedAt, m.UpdatedAt = parseTime(accepted), parseTime(created), parseTime(updated)
	if confirmed.Valid {
		m.ConfirmedAt = parseTime(confirmed.String)
	}
	if fpAmount.Valid {
		m.FirstPayment = &Charge{
			Amount:      payments.Money{Amount: fpAmount.Int64, Currency: fpCurrency.String},
			ProviderRef: fpRef.String, Status: payments.ChargeState(fpStatus.String),
			ProviderStatus: fpProviderStatus.String, FailureReason: fpReason.String,
		}
	}
	return m, nil
}

func addEvent(ctx context.Context, tx *sql.Tx, id string, from, to mandate.Status, c Change, ts string) error {
	detail := c.Reason
	if to == mandate.Active {
		detail = strings.TrimSpace(c.PaymentMethodType + " " + c.PaymentMethodID)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO mandate_events (mandate_id, from_status, to_status, source, provider_status, detail, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, id, string(from), string(to), string(c.Source), c.ProviderStatus, detail, ts)
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	return nil
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(timeLayout, s)
	return t
}

// WebhookEventSeen reports whether a provider's event was already processed.
func (s *Store) WebhookEventSeen(ctx context.Context, provider, eventID string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM webhook_events WHERE provider = ? AND event_id = ?`,
		provider, eventID).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("webhook event seen: %w", err)
	}
	return n > 0, nil
}

// RecordWebhookEvent marks a provider's event processed; recording it twice
// is a no-op. mandateID is "" for an event about no mandate of ours.
func (s *Store) RecordWebhookEvent(ctx context.Context, provider, eventID, eventType, mandateID string) error {
	var mid sql.NullString
	if mandateID != "" {
		mid = sql.NullString{String: mandateID, Valid: true}
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO webhook_events (provider, event_id, type, mandate_id, received_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (provider, event_id) DO NOTHING`,
		provider, eventID, eventType, mid, s.now().UTC().Format(timeLayout))
	if err != nil {
		return fmt.Errorf("record webhook event: %w", err)
	}
	return nil
}

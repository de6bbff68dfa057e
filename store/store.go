// Package store keeps customers, mandates with their consent evidence, and
// each mandate's history, in SQLite or PostgreSQL.
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
	"example.com/storefront/pgdb"
	"example.com/storefront/sqlitedb"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrations embed.FS

// ErrNotFound is returned when a mandate does not exist.
var ErrNotFound = errors.New("not found")

// timeLayout is fixed-width UTC, so stored times sort as text.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// Store is the app's database.
type Store struct {
	db  database
	d   dialect
	now func() time.Time
	// real is what leases are measured on: real time, never the demo
	// clock, so that a process whose demo clock runs ahead (or that moved
	// it) does not take over work another process is still doing.
	real func() time.Time
	// notifyDisputes: write to the shopper about a disputed payment.
	notifyDisputes bool
	counts         *sqlitedb.Counts // Counted
}

// Option adjusts a Store as it is opened.
type Option func(*Store)

// LeaseClock sets the real time that leases (claims on billing and on
// webhook events) are measured on; the default is time.Now. Tests give the
// real time under their demo clock.
func LeaseClock(real func() time.Time) Option { return func(s *Store) { s.real = real } }

// Counted counts the statements and transactions a SQLite database runs
// into c, for benchmarks (sqlitedb.Counts); PostgreSQL is not counted.
func Counted(c *sqlitedb.Counts) Option { return func(s *Store) { s.counts = c } }

// Open opens the database at where, migrating it as needed: a PostgreSQL
// database when where is a postgres:// (or postgresql://) URL, else a
// SQLite file, created if missing. now is the clock rows are stamped with
// (nil: time.Now); in an all-sandbox demo it is the movable demo clock, so
// that a month advanced shows as one.
func Open(ctx context.Context, where string, now func() time.Time, opts ...Option) (*Store, error) {
	d := sqlite
	if pgdb.IsURL(where) {
		d = postgres
	}
	sub, err := fs.Sub(migrations, "migrations/"+d.name)
	if err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	s := &Store{d: d, now: now, real: time.Now}
	for _, o := range opts {
		o(s)
	}
	var db *sql.DB
	if d.name == postgres.name {
		db, err = pgdb.Open(ctx, where, sub)
	} else {
		db, err = sqlitedb.Open(ctx, where, sub, sqlitedb.WithCounts(s.counts))
	}
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	s.db = newDatabase(db, d)
	return s, nil
}

// database is the store's *sql.DB, whose queries outside a transaction
// reach database/sql detached from their context where the driver watches
// it itself (SQLite, sqlitedb.Detach): database/sql then starts no
// goroutine per query, which was most of the goroutines a checkout flow
// started. PostgreSQL's driver cancels a query through its context, so
// there the context goes as it is.
type database struct {
	*sql.DB
	detach func(context.Context) context.Context
}

func newDatabase(db *sql.DB, d dialect) database {
	if d.name == postgres.name {
		return database{DB: db, detach: func(ctx context.Context) context.Context { return ctx }}
	}
	return database{DB: db, detach: sqlitedb.Detach}
}

func (d database) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return d.DB.QueryContext(d.detach(ctx), query, args...)
}

func (d database) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return d.DB.QueryRowContext(d.detach(ctx), query, args...)
}

// Unavailable reports whether err means the database could not be reached
// (PostgreSQL restarting, a dropped connection): a request may be tried
// again later, unlike one the database refused.
func Unavailable(err error) bool { return pgdb.Unavailable(err) }

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
	// Merchant is the merchant named in the terms, which with the plan and
	// the version rebuilds their exact text.
	Merchant string
	// Contact is the merchant's address the terms name (from v2).
	Contact       string
	TermsVersion  string
	TermsSHA256   string
	Authorization string // the exact sentence next to the ticked box
	AcceptedAt    time.Time
	ClientIP      string
	UserAgent     string
}

// Mandate is a shopper's permission to be charged later.
type Mandate struct {
	ID       string
	Customer Customer
	Provider string
	// Mode is how real the provider was when the mandate was made.
	Mode        payments.Mode
	ProviderRef string
	Status      mandate.Status
	// PaymentMethodID is what charges use (pm_…, agr_…).
	PaymentMethodID   string
	PaymentMethodType string
	// ProviderCustomerRef, SetupIntentRef and ProviderMandateRef are the
	// provider's other objects (Stripe: cus_…, seti_…, mandate_…).
	ProviderCustomerRef string
	SetupIntentRef      string
	ProviderMandateRef  string
	Plan                payments.Plan
	Consent             Consent
	ConfirmedAt         time.Time // zero until the provider confirmed
	FailureCode         string    // the provider's code for a failure or cancellation
	FailureReason       string
	// RevokedBy says who withdrew a revoked mandate.
	RevokedBy payments.Revoker
	LastError string
	// FirstPayment is the payment asked for together with the setup, or nil.
	FirstPayment *Charge
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Ref is what a provider needs to act on the mandate.
func (m Mandate) Ref() payments.MandateRef {
	return payments.MandateRef{
		MandateID: m.ID, SetupRef: m.ProviderRef, Handle: m.PaymentMethodID, HandleType: m.PaymentMethodType,
		CustomerRef: m.ProviderCustomerRef, ProviderMandateRef: m.ProviderMandateRef,
	}
}

// NewMandate is what CreateMandate needs.
type NewMandate struct {
	Email, Name, Country string
	Provider             string
	Mode                 payments.Mode
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
		INSERT INTO mandates (id, customer_id, provider, mode, status, plan_name, amount, currency, interval, merchant, merchant_email,
			terms_version, terms_sha256, authorization_text, accepted_at, client_ip, user_agent, created_at, updated_at)
		VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id, customerID, n.Provider, string(n.Mode), n.Plan.Name, n.Plan.Price.Amount, n.Plan.Price.Currency, string(n.Plan.Interval), n.Consent.Merchant, n.Consent.Contact,
		n.Consent.TermsVersion, n.Consent.TermsSHA256, n.Consent.Authorization, n.Consent.AcceptedAt.UTC().Format(timeLayout),
		n.Consent.ClientIP, n.Consent.UserAgent, ts, ts)
	if err != nil {
		return Mandate{}, fmt.Errorf("create mandate: %w", err)
	}
	if err := addEvent(ctx, tx, id, "", mandate.Pending, Change{Source: mandate.SourceCheckout}, ts); err != nil {
		return Mandate{}, fmt.Errorf("create mandate: %w", err)
	}
	if fp := n.FirstPayment; fp != nil {
		// The first payment pays period 1 (billing counts it so).
		if _, err := tx.ExecContext(ctx, `INSERT INTO charges (mandate_id, kind, initiated_by, period, attempt, amount, currency,
			idempotency_key, status, created_at, updated_at)
			VALUES (?, 'initial', 'shopper', 1, 1, ?, ?, ?, 'pending', ?, ?)`, id, fp.Amount, fp.Currency, "mandate/"+id+"/first", ts, ts); err != nil {
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
	return s.SetSetupRefs(ctx, id, ref, firstPaymentRef, "")
}

// SetSetupRefs is SetProviderRef that also records the provider's customer
// (customerRef, "" for none) in the same write: what a started setup
// answered, in one transaction.
func (s *Store) SetSetupRefs(ctx context.Context, id, ref, firstPaymentRef, customerRef string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("set provider ref of %s: %w", id, err)
	}
	defer tx.Rollback()
	ts := s.now().UTC().Format(timeLayout)
	res, err := tx.ExecContext(ctx, `UPDATE mandates SET provider_ref = ?, updated_at = ?,
			provider_customer_ref = coalesce(nullif(?, ''), provider_customer_ref)
		WHERE id = ? AND (provider_ref IS NULL OR provider_ref = ?)`, ref, ts, customerRef, id, ref)
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
// first payment (see ApplyCharge), and reports whether it changed.
func (s *Store) UpdateFirstPayment(ctx context.Context, mandateID string, r payments.ChargeResult) (bool, error) {
	var id int64
	err := s.db.QueryRowContext(ctx, `SELECT id FROM charges WHERE mandate_id = ? AND kind = 'initial'`, mandateID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("update first payment of %s: %w", mandateID, err)
	}
	_, changed, err := s.ApplyCharge(ctx, id, r)
	if errors.Is(err, ErrOtherPayment) {
		return false, nil // not about this mandate's first payment
	}
	return changed, err
}

// SetCustomerRef records the provider's customer made for a mandate
// (Stripe's cus_…), as soon as it exists: a retry after a failed session
// call reuses it rather than leave it orphaned, and a later charge needs it.
func (s *Store) SetCustomerRef(ctx context.Context, mandateID, ref string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE mandates SET provider_customer_ref = ?, updated_at = ? WHERE id = ?`,
		ref, s.now().UTC().Format(timeLayout), mandateID)
	if err != nil {
		return fmt.Errorf("set customer ref of %s: %w", mandateID, err)
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

// MandateByHandle finds an active (or once active) mandate by what its
// charges use (pm_…, agr_…).
func (s *Store) MandateByHandle(ctx context.Context, provider, handle string) (Mandate, error) {
	return findMandate(ctx, s.db, `m.provider = ? AND m.payment_method_id = ? ORDER BY m.created_at DESC LIMIT 1`, provider, handle)
}

// NoteProviderMandateRef records the provider's own mandate object (Stripe
// mandate_…) on a mandate that has none stored yet: a SetupIntent may carry
// none, and the mandate is learned later (from a mandate.updated event, or
// the SetupIntent read again). A stored one is never replaced.
func (s *Store) NoteProviderMandateRef(ctx context.Context, id, ref string) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE mandates SET provider_mandate_ref = ? WHERE id = ? AND provider_mandate_ref IS NULL`,
		ref, id); err != nil {
		return fmt.Errorf("note the provider's mandate of %s: %w", id, err)
	}
	return nil
}

// MandateByProviderMandateRef finds a mandate by the provider's own
// mandate object (Stripe mandate_…).
func (s *Store) MandateByProviderMandateRef(ctx context.Context, provider, ref string) (Mandate, error) {
	return findMandate(ctx, s.db, `m.provider = ? AND m.provider_mandate_ref = ?`, provider, ref)
}

// Change describes a reported status change.
type Change struct {
	Source         mandate.Source
	ProviderStatus string
	// PaymentMethodID and PaymentMethodType are set when the mandate
	// becomes active, with the provider's other references when it has
	// them.
	PaymentMethodID     string
	PaymentMethodType   string
	ProviderCustomerRef string
	SetupIntentRef      string
	ProviderMandateRef  string
	// Code and Reason are why a mandate failed, was canceled or revoked.
	Code   string
	Reason string
	// RevokedBy is who withdrew it, for a move to revoked.
	RevokedBy payments.Revoker
}

// RequestRevocation notes who asked for a mandate's revocation, before the
// provider is called (by "" when the call failed: nobody's request stands).
// A move to revoked reported as the merchant's (the provider's word for a
// revocation made through its API) is then recorded for whoever asked.
func (s *Store) RequestRevocation(ctx context.Context, id string, by payments.Revoker) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE mandates SET revoke_requested_by = ? WHERE id = ? AND status = 'active'`,
		string(by), id); err != nil {
		return fmt.Errorf("request revocation of %s: %w", id, err)
	}
	return nil
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

	m, err := findMandate(ctx, tx, `m.id = ?`+s.d.lockOf("m"), id)
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
		q = `, payment_method_id = ?, payment_method_type = ?, confirmed_at = ?, last_error = '',
			provider_customer_ref = coalesce(nullif(?, ''), provider_customer_ref),
			setup_intent_ref = nullif(?, ''), provider_mandate_ref = nullif(?, '')`
		args = append(args, c.PaymentMethodID, c.PaymentMethodType, ts, c.ProviderCustomerRef, c.SetupIntentRef, c.ProviderMandateRef)
	case mandate.Failed, mandate.Canceled:
		q = `, failure_code = ?, failure_reason = ?`
		args = append(args, c.Code, c.Reason)
	case mandate.Revoked:
		if c.RevokedBy == payments.RevokedByMerchant || c.RevokedBy == "" {
			// Revoked through the provider's API: by whoever asked us to, if
			// anyone did (the webhook can overtake the call's answer).
			var asked string
			if err := tx.QueryRowContext(ctx, `SELECT revoke_requested_by FROM mandates WHERE id = ?`, id).Scan(&asked); err != nil {
				return Mandate{}, 0, fmt.Errorf("transition %s: %w", id, err)
			}
			if asked != "" {
				c.RevokedBy = payments.Revoker(asked)
			}
		}
		q = `, failure_code = ?, failure_reason = ?, revoked_by = ?`
		args = append(args, c.Code, c.Reason, string(c.RevokedBy))
	}
	args = append(args, id)
	if _, err := tx.ExecContext(ctx, `UPDATE mandates SET status = ?, updated_at = ?`+q+` WHERE id = ?`, args...); err != nil {
		return Mandate{}, 0, fmt.Errorf("transition %s: %w", id, err)
	}
	// Billing follows permission, in the same transaction: an active
	// mandate is billed from now (period 1 due at once, unless its first
	// payment pays it), a revoked one is billed no more.
	// The shopper hears of it in the same transaction. A mandate revoked
	// because its billing ended for non-payment was told so already.
	switch to {
	case mandate.Active:
		err = startBilling(ctx, tx, id, s.now().UTC())
		if err == nil {
			err = s.notify(ctx, tx, id, MsgConfirmed, "mandate/"+id+"/confirmed", ConfirmedData{At: s.now().UTC()})
		}
	case mandate.Revoked:
		var ended bool
		if ended, err = s.billingEnded(ctx, tx, id); err == nil && !ended {
			err = s.notify(ctx, tx, id, MsgRevoked, "mandate/"+id+"/revoked", RevokedData{By: c.RevokedBy, At: s.now().UTC()})
		}
		if err == nil {
			err = s.stopBilling(ctx, tx, id, "mandate revoked by "+string(c.RevokedBy), ts)
		}
	}
	if err != nil {
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
	m, err := scanMandate(q.QueryRowContext(ctx, mandateQuery(where), args...))
	if errors.Is(err, sql.ErrNoRows) {
		return Mandate{}, ErrNotFound
	}
	return m, err
}

// mandateQuery reads the mandates (m) where where holds, as scanMandate
// scans them, with their customer and first payment.
func mandateQuery(where string) string {
	return `
		SELECT m.id, c.id, c.email, c.name, c.country, m.provider, m.mode, m.provider_ref, m.status,
			m.payment_method_id, m.payment_method_type, m.provider_customer_ref, m.setup_intent_ref, m.provider_mandate_ref,
			m.plan_name, m.amount, m.currency, m.interval, m.merchant, m.merchant_email,
			m.terms_version, m.terms_sha256, m.authorization_text, m.accepted_at, m.client_ip, m.user_agent,
			m.confirmed_at, m.failure_code, m.failure_reason, m.revoked_by, m.last_error, m.created_at, m.updated_at,
			` + chargeColumns("fp") + `
		FROM mandates m JOIN customers c ON c.id = m.customer_id
		LEFT JOIN charges fp ON fp.mandate_id = m.id AND fp.kind = 'initial'
		WHERE ` + where
}

func scanMandate(sc interface{ Scan(...any) error }) (Mandate, error) {
	var m Mandate
	var ref, pmID, pmType, custRef, setiRef, mandateRef, confirmed sql.NullString
	var accepted, created, updated string
	var fp nullCharge
	err := sc.Scan(append([]any{
		&m.ID, &m.Customer.ID, &m.Customer.Email, &m.Customer.Name, &m.Customer.Country, &m.Provider, &m.Mode, &ref, &m.Status,
		&pmID, &pmType, &custRef, &setiRef, &mandateRef,
		&m.Plan.Name, &m.Plan.Price.Amount, &m.Plan.Price.Currency, &m.Plan.Interval, &m.Consent.Merchant, &m.Consent.Contact,
		&m.Consent.TermsVersion, &m.Consent.TermsSHA256, &m.Consent.Authorization, &accepted, &m.Consent.ClientIP, &m.Consent.UserAgent,
		&confirmed, &m.FailureCode, &m.FailureReason, &m.RevokedBy, &m.LastError, &created, &updated},
		fp.dest()...)...)
	if err != nil {
		return Mandate{}, err
	}
	m.ProviderRef, m.PaymentMethodID, m.PaymentMethodType = ref.String, pmID.String, pmType.String
	m.ProviderCustomerRef, m.SetupIntentRef, m.ProviderMandateRef = custRef.String, setiRef.String, mandateRef.String
	m.Consent.AcceptedAt, m.CreatedAt, m.UpdatedAt = parseTime(accepted), parseTime(created), parseTime(updated)
	if confirmed.Valid {
		m.ConfirmedAt = parseTime(confirmed.String)
	}
	m.FirstPayment = fp.charge()
	return m, nil
}

func addEvent(ctx context.Context, tx *sql.Tx, id string, from, to mandate.Status, c Change, ts string) error {
	detail := c.Reason
	if c.Code != "" && !strings.HasPrefix(detail, c.Code) {
		detail = strings.TrimSpace(c.Code + ": " + detail)
	}
	switch to {
	case mandate.Active:
		detail = strings.TrimSpace(c.PaymentMethodType + " " + c.PaymentMethodID)
	case mandate.Revoked:
		detail = strings.TrimSpace("revoked by " + string(c.RevokedBy) + "; " + detail)
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

// PendingMandates returns mandates still pending that were last touched
// before olderThan, oldest first: setups whose shopper never came back and
// whose webhook never came (or was lost).
func (s *Store) PendingMandates(ctx context.Context, olderThan time.Time, limit int) ([]Mandate, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id FROM mandates WHERE status = 'pending' AND updated_at < ?
		ORDER BY updated_at LIMIT ?`, olderThan.UTC().Format(timeLayout), limit)
	if err != nil {
		return nil, fmt.Errorf("pending mandates: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("pending mandates: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pending mandates: %w", err)
	}
	out := make([]Mandate, 0, len(ids))
	for _, id := range ids {
		m, err := s.Mandate(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// TouchMandate marks a mandate as looked at now (a reconciliation that
// learned nothing new), so it is not looked at again at once.
func (s *Store) TouchMandate(ctx context.Context, id string) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE mandates SET updated_at = ? WHERE id = ?`, s.now().UTC().Format(timeLayout), id); err != nil {
		return fmt.Errorf("touch mandate %s: %w", id, err)
	}
	return nil
}

// EndedButActive returns mandates whose billing ended for non-payment but
// which are still active: the revocation at the provider is still owed.
// The worker asks on every pass, so the few ended billings are the outer
// loop (CROSS JOIN keeps SQLite to that order), not every active mandate.
func (s *Store) EndedButActive(ctx context.Context, limit int) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT m.id FROM billing b `+s.d.orderedJoin+` mandates m ON m.id = b.mandate_id
		WHERE b.state = 'ended' AND m.status = 'active' LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("ended billing: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("ended billing: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// Ping says whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	return nil
}

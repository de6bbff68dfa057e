package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"example.com/storefront/mandate"
	"example.com/storefront/payments"
)

// ListFilter selects mandates for the merchant's list. Empty fields match
// everything.
type ListFilter struct {
	Provider string
	Status   mandate.Status
	Billing  string // a billing state: "past_due", …
	// Disputed keeps only mandates one of whose charges was disputed.
	Disputed bool
	// Query is the search box's text: an id (ours or a provider's), the
	// beginning of an email or of a name (see search.go).
	Query string
	// CreatedFrom and CreatedBefore bound when the mandate was made
	// (CreatedBefore excluded); zero is open.
	CreatedFrom, CreatedBefore time.Time
	// MinAmount and MaxAmount bound the plan's price the mandate was
	// signed at, in minor units (both included); zero is open.
	MinAmount, MaxAmount int64
	// After continues the list after this cursor (from a previous page).
	After string
	Limit int
}

// MandateSummary is one row of the merchant's list.
type MandateSummary struct {
	ID           string
	Email, Name  string
	Provider     string
	Mode         payments.Mode
	Status       mandate.Status
	Plan         payments.Plan
	CreatedAt    time.Time
	BillingState string    // "" when it was never billed
	NextDueAt    time.Time // zero when nothing is due
	Disputed     bool      // one of its charges was disputed
}

// ErrBadCursor refuses a pagination cursor this store did not make.
var ErrBadCursor = errors.New("not a list cursor")

// ListMandates returns a page of mandates, newest first, and the cursor of
// the next page ("" at the end). Pagination is by keyset (created_at, id),
// never OFFSET, so a page deep in a long list costs what the first does.
func (s *Store) ListMandates(ctx context.Context, f ListFilter) ([]MandateSummary, string, error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	term, err := s.resolveSearch(ctx, f.Query)
	if err != nil {
		return nil, "", err
	}
	q, args, err := s.d.listQuery(f, term)
	if err != nil {
		return nil, "", err
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("list mandates: %w", err)
	}
	defer rows.Close()
	var out []MandateSummary
	for rows.Next() {
		var m MandateSummary
		var created string
		var due sql.NullString
		if err := rows.Scan(&m.ID, &m.Email, &m.Name, &m.Provider, &m.Mode, &m.Status, &m.Plan.Name, &m.Plan.Price.Amount,
			&m.Plan.Price.Currency, &m.Plan.Interval, &created, &m.BillingState, &due, &m.Disputed); err != nil {
			return nil, "", fmt.Errorf("list mandates: %w", err)
		}
		m.CreatedAt = parseTime(created)
		if due.Valid && (m.BillingState == BillingActive || m.BillingState == BillingPastDue) {
			m.NextDueAt = parseTime(due.String)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("list mandates: %w", err)
	}
	next := ""
	if len(out) > f.Limit {
		out = out[:f.Limit]
		last := out[len(out)-1]
		next = encodeCursor(last.CreatedAt.UTC().Format(timeLayout), last.ID)
	}
	return out, next, nil
}

// listQuery is ListMandates's query for f (whose Limit is set), and its
// arguments. Each filter is a constraint on an index kept in the list's
// order (created_at, id, newest first), so SQLite stops at the page's end:
// the mandates' indexes, or billing's when a billing state is asked for
// (billing keeps a copy of the mandate's provider and creation time for
// that; a past-due mandate is rare, and walking every mandate to find a
// page of them would cost in proportion to the table). Disputed mandates
// are walked the same way, in disputed_mandates' indexes. The date range
// bounds that walk; the price is checked per row of it (a shop's plans are
// few, so a price filter keeps a large share of the rows). A search
// (term) is found in its own index instead (searchFrom).
func (d dialect) listQuery(f ListFilter, term searchTerm) (string, []any, error) {
	// The columns that order the list, and that the filters constrain.
	created, id, provider := "m.created_at", "m.id", "m.provider"
	from := `mandates m JOIN customers c ON c.id = m.customer_id LEFT JOIN billing b ON b.mandate_id = m.id`
	if f.Billing != "" {
		created, id, provider = "b.mandate_created_at", "b.mandate_id", "b.provider"
		// CROSS JOIN keeps billing the outer loop, walking its index in order.
		from = `billing b ` + d.orderedJoin + ` mandates m ON m.id = b.mandate_id JOIN customers c ON c.id = m.customer_id`
	}
	if f.Disputed {
		// Rarer still than past due; billing, if asked for too, is checked per row.
		created, id, provider = "d.mandate_created_at", "d.mandate_id", "d.provider"
		from = `disputed_mandates d ` + d.orderedJoin + ` mandates m ON m.id = d.mandate_id JOIN customers c ON c.id = m.customer_id
			LEFT JOIN billing b ON b.mandate_id = m.id`
	}
	var where []string
	var args []any
	if !term.empty() {
		created, id, provider = "m.created_at", "m.id", "m.provider"
		from, where, args = d.searchFrom(term)
		if f.Disputed {
			where = append(where, "EXISTS (SELECT 1 FROM disputed_mandates x WHERE x.mandate_id = m.id)")
		}
	}
	if f.Billing != "" {
		where, args = append(where, "b.state = ?"), append(args, f.Billing)
	}
	if f.Provider != "" {
		where, args = append(where, provider+" = ?"), append(args, f.Provider)
	}
	if f.Status != "" {
		where, args = append(where, "m.status = ?"), append(args, string(f.Status))
	}
	if f.MinAmount > 0 {
		where, args = append(where, "m.amount >= ?"), append(args, f.MinAmount)
	}
	if f.MaxAmount > 0 {
		where, args = append(where, "m.amount <= ?"), append(args, f.MaxAmount)
	}
	var at, after string
	if f.After != "" {
		var err error
		if at, after, err = decodeCursor(f.After); err != nil {
			return "", nil, err
		}
	}
	if dated := !f.CreatedFrom.IsZero() || !f.CreatedBefore.IsZero(); dated {
		// One BETWEEN, the cursor folded into its end: SQLite (which has
		// no statistics here) walks the provider's index and checks the
		// status per row when a range has two ends of other forms (">= and
		// <", or with the cursor's row value), rather than the index that
		// has both. The rows at the cursor's very time that were on the
		// previous page are skipped per row.
		lo, hi := "", "9999-12-31T23:59:59.999999Z"
		if !f.CreatedFrom.IsZero() {
			lo = f.CreatedFrom.UTC().Format(timeLayout)
		}
		if !f.CreatedBefore.IsZero() {
			hi = f.CreatedBefore.Add(-time.Microsecond).UTC().Format(timeLayout)
		}
		if at != "" && at < hi {
			hi = at
		}
		where, args = append(where, created+" BETWEEN ? AND ?"), append(args, lo, hi)
		if at != "" {
			where, args = append(where, "NOT ("+created+" = ? AND "+id+" >= ?)"), append(args, at, after)
		}
	} else if at != "" {
		// A row value, not "created_at < ? OR (created_at = ? AND id < ?)":
		// with bound parameters SQLite cannot use the index for that OR and
		// scans from the newest (EXPLAIN QUERY PLAN showed it).
		where = append(where, "("+created+", "+id+") < (?, ?)")
		args = append(args, at, after)
	}
	// Whether the mandate was disputed is a scalar subquery, looked up per
	// row of the page: PostgreSQL turned the EXISTS it was into a hash of
	// every disputed mandate (its estimate of the calls ignores LIMIT),
	// which read all of them for each page.
	q := `SELECT m.id, c.email, c.name, m.provider, m.mode, m.status, m.plan_name, m.amount, m.currency, m.interval,
			m.created_at, coalesce(b.state, ''), b.next_due_at,
			(SELECT count(*) FROM disputed_mandates x WHERE x.mandate_id = m.id) > 0
		FROM ` + from
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	// The page size is written into the query, not bound: PostgreSQL then
	// plans it knowing that a page is read (an index walk under the Limit)
	// once for all the statement's runs, instead of planning each run anew
	// (a generic plan for an unknown limit reads the whole table and sorts
	// it). Limit is bounded above, so the query texts are few.
	q += " ORDER BY " + created + " DESC, " + id + " DESC LIMIT " + strconv.Itoa(f.Limit+1)
	return q, args, nil
}

func encodeCursor(at, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(at + "|" + id))
}

func decodeCursor(c string) (string, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", "", ErrBadCursor
	}
	at, id, ok := strings.Cut(string(b), "|")
	if _, perr := time.Parse(timeLayout, at); !ok || perr != nil || !strings.HasPrefix(id, "md_") {
		return "", "", ErrBadCursor
	}
	return at, id, nil
}

// Counts are how many mandates there are in each status (of one provider,
// or of all when provider is ""), how many are past due and how many were
// disputed.
type Counts struct {
	ByStatus map[mandate.Status]int
	Total    int
	PastDue  int
	Disputed int
}

// The past-due counts, read in billing's (state, provider, …) index alone.
const (
	countPastDue   = `SELECT count(*) FROM billing WHERE state = 'past_due'`
	countPastDueOf = `SELECT count(*) FROM billing WHERE state = 'past_due' AND provider = ?`
	// The disputed counts, likewise in disputed_mandates' indexes alone.
	countDisputed   = `SELECT count(*) FROM disputed_mandates`
	countDisputedOf = `SELECT count(*) FROM disputed_mandates WHERE provider = ?`
)

// CountMandates reads the counts the triggers keep.
func (s *Store) CountMandates(ctx context.Context, provider string) (Counts, error) {
	c := Counts{ByStatus: map[mandate.Status]int{}}
	rows, err := s.db.QueryContext(ctx, `SELECT status, CAST(sum(n) AS BIGINT) FROM mandate_counts WHERE ? = '' OR provider = ? GROUP BY status`,
		provider, provider)
	if err != nil {
		return c, fmt.Errorf("count mandates: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var st mandate.Status
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return c, fmt.Errorf("count mandates: %w", err)
		}
		c.ByStatus[st] = n
		c.Total += n
	}
	if err := rows.Err(); err != nil {
		return c, fmt.Errorf("count mandates: %w", err)
	}
	if provider == "" {
		err = s.db.QueryRowContext(ctx, countPastDue).Scan(&c.PastDue)
	} else {
		err = s.db.QueryRowContext(ctx, countPastDueOf, provider).Scan(&c.PastDue)
	}
	if err != nil {
		return c, fmt.Errorf("count past due: %w", err)
	}
	if provider == "" {
		err = s.db.QueryRowContext(ctx, countDisputed).Scan(&c.Disputed)
	} else {
		err = s.db.QueryRowContext(ctx, countDisputedOf, provider).Scan(&c.Disputed)
	}
	if err != nil {
		return c, fmt.Errorf("count disputed: %w", err)
	}
	return c, nil
}

// ConsentRow is one mandate's consent evidence, for the export.
type ConsentRow struct {
	MandateID   string
	Email, Name string
	Provider    string
	Mode        payments.Mode
	Status      mandate.Status
	Plan        payments.Plan
	Consent     Consent
	ConfirmedAt time.Time
	RevokedBy   string
	CreatedAt   time.Time
	// Disputes is how many of its charges' disputes there are.
	Disputes int
}

// consentPage is how many rows EachConsent reads per query: short enough
// that a page is read in milliseconds, so no connection is held while fn
// waits (on a slow client).
const consentPage = 200

// EachConsent calls fn with every mandate's consent evidence, oldest first.
// It reads short keyset pages ((created_at, id) after the last row), each
// in its own query closed before fn sees its rows: memory is one page
// however many rows there are, and a slow fn (a client that stops reading
// an export) holds no database connection and no transaction, so it
// cannot starve the pool. Rows written meanwhile after the last page read
// are included; the export is not one snapshot. It stops at fn's first
// error.
func (s *Store) EachConsent(ctx context.Context, fn func(ConsentRow) error) error {
	afterCreated, afterID := "", ""
	for {
		page, err := s.consentPage(ctx, afterCreated, afterID)
		if err != nil {
			return err
		}
		for _, r := range page.rows {
			if err := fn(r); err != nil {
				return err
			}
		}
		if len(page.rows) < consentPage {
			return nil
		}
		afterCreated, afterID = page.lastCreated, page.rows[len(page.rows)-1].MandateID
	}
}

type consentRows struct {
	rows        []ConsentRow
	lastCreated string // the last row's created_at as stored, for the next page
}

func (s *Store) consentPage(ctx context.Context, afterCreated, afterID string) (consentRows, error) {
	rows, err := s.db.QueryContext(ctx, consentSelect+`
		WHERE (m.created_at, m.id) > (?, ?) ORDER BY m.created_at, m.id LIMIT `+strconv.Itoa(consentPage), afterCreated, afterID)
	if err != nil {
		return consentRows{}, fmt.Errorf("export consents: %w", err)
	}
	defer rows.Close()
	var out consentRows
	for rows.Next() {
		r, created, err := scanConsent(rows)
		if err != nil {
			return consentRows{}, fmt.Errorf("export consents: %w", err)
		}
		out.rows, out.lastCreated = append(out.rows, r), created
	}
	if err := rows.Err(); err != nil {
		return consentRows{}, fmt.Errorf("export consents: %w", err)
	}
	return out, nil
}

// consentSelect reads the columns scanConsent scans, for a WHERE to follow.
const consentSelect = `SELECT m.id, c.email, c.name, m.provider, m.mode, m.status, m.plan_name, m.amount,
		m.currency, m.interval, m.merchant, m.merchant_email, m.terms_version, m.terms_sha256, m.authorization_text, m.accepted_at, m.client_ip,
		m.user_agent, m.confirmed_at, m.revoked_by, m.created_at, (SELECT count(*) FROM disputes d WHERE d.mandate_id = m.id)
	FROM mandates m JOIN customers c ON c.id = m.customer_id`

// scanConsent scans a row of consentSelect, and its created_at as stored.
func scanConsent(rows *sql.Rows) (ConsentRow, string, error) {
	var r ConsentRow
	var accepted, created string
	var confirmed sql.NullString
	if err := rows.Scan(&r.MandateID, &r.Email, &r.Name, &r.Provider, &r.Mode, &r.Status, &r.Plan.Name, &r.Plan.Price.Amount,
		&r.Plan.Price.Currency, &r.Plan.Interval, &r.Consent.Merchant, &r.Consent.Contact, &r.Consent.TermsVersion, &r.Consent.TermsSHA256, &r.Consent.Authorization,
		&accepted, &r.Consent.ClientIP, &r.Consent.UserAgent, &confirmed, &r.RevokedBy, &created, &r.Disputes); err != nil {
		return ConsentRow{}, "", err
	}
	r.Consent.AcceptedAt, r.CreatedAt = parseTime(accepted), parseTime(created)
	if confirmed.Valid {
		r.ConfirmedAt = parseTime(confirmed.String)
	}
	return r, created, nil
}

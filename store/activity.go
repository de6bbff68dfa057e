package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"example.com/storefront/payments"
)

// The activity log is read from the rows that record each thing when it
// happens (mandate_events, billing_events, charges, refunds, disputes, the
// outbox, price changes, clock_moves): it is a view, never a second record.
//
// The shop-wide log is one query per source, each walking its own
// (created_at, id) index newest first with a LIMIT, merged here. A UNION
// ALL ordered by time would be one statement, but SQLite sorts a compound
// SELECT's whole result before its LIMIT; per-source walks read at most a
// page and one row from each source, on both databases, however many rows
// there are.

// Who did something, in the activity log.
const (
	ByProvider = "provider" // the provider reported it (a webhook, a dispute)
	ByApp      = "app"      // the app itself (a message to the shopper)
)

// Kinds of activity, in the order they sort when they share a time.
const (
	ActClock   = "clock"   // the demo clock moved
	ActPrice   = "price"   // a price change was scheduled (or, on a mandate, told of)
	ActStatus  = "status"  // the mandate's status changed
	ActCharge  = "charge"  // a payment was attempted
	ActBilling = "billing" // billing's state, period or declines changed
	ActRefund  = "refund"  // a refund was asked for
	ActDispute = "dispute" // a payment was disputed
	ActResend  = "resend"  // the merchant sent a failed message again
	ActMessage = "message" // a message to the shopper was written
)

var activityRank = map[string]int{ActClock: 1, ActPrice: 2, ActStatus: 3, ActCharge: 4, ActBilling: 5,
	ActRefund: 6, ActDispute: 7, ActResend: 8, ActMessage: 9}

// Activity is one entry of an activity log.
type Activity struct {
	At        time.Time
	Kind      string
	ID        int64  // the row's id in its table
	MandateID string // "" for what concerns the whole shop (a price change, a clock move)
	// By is who did it: a shopper, the merchant, the schedule, the
	// provider or the app.
	By string
	// What says what happened, in words; Detail adds the provider's words
	// or the numbers.
	What   string
	Detail string
	Amount payments.Money // zero when there is none
	// State is the row's state now (a payment's, a refund's, a message's),
	// or "".
	State string
	// MessageKind and To are a message's kind (MsgReceipt, …) and address.
	MessageKind, To string
	// Shopper is the mandate's shopper's email, on the shop's log.
	Shopper string
}

// Decline is why a payment failed: the provider's code and reason, the
// code once (providers often start the reason with it).
func (c Charge) Decline() string {
	return codeAndReason(c.FailureCode, c.FailureReason)
}

func codeAndReason(code, reason string) string {
	if code == "" || strings.HasPrefix(reason, code) {
		return reason
	}
	if reason == "" {
		return code
	}
	return code + ": " + reason
}

// ErrBadActivityCursor refuses a cursor of the activity log this store did not make.
var ErrBadActivityCursor = errors.New("not a cursor of the activity log")

// activityKey orders entries newest first: by time, then kind, then id.
type activityKey struct {
	at   string
	rank int
	id   int64
}

func (k activityKey) String() string {
	return k.at + "~" + strconv.Itoa(k.rank) + "~" + strconv.FormatInt(k.id, 10)
}

func parseActivityKey(s string) (activityKey, error) {
	parts := strings.Split(s, "~")
	if len(parts) != 3 {
		return activityKey{}, ErrBadActivityCursor
	}
	if _, err := time.Parse(timeLayout, parts[0]); err != nil {
		return activityKey{}, ErrBadActivityCursor
	}
	rank, err1 := strconv.Atoi(parts[1])
	id, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil {
		return activityKey{}, ErrBadActivityCursor
	}
	return activityKey{at: parts[0], rank: rank, id: id}, nil
}

func compareKeys(a, b activityKey) int {
	if c := strings.Compare(a.at, b.at); c != 0 {
		return c
	}
	if a.rank != b.rank {
		return a.rank - b.rank
	}
	switch {
	case a.id < b.id:
		return -1
	case a.id > b.id:
		return 1
	}
	return 0
}

type activityRow struct {
	key activityKey
	a   Activity
}

// activitySource is one table's part of the log: its SELECT (whose first
// column is the time, the second the id), the columns it orders by, and
// how a row reads.
type activitySource struct {
	kind   string
	query  string // SELECT … FROM … (no WHERE)
	at, id string // its ordering columns, on an index (at, id)
	where  string // always true of its rows ("" for none)
	// mandate selects one mandate's rows (one argument: its id).
	mandate string
	scan    func(sc interface{ Scan(...any) error }) (Activity, error)
}

// endedDetail is, for a revocation, the billing history's word on why
// billing ended ("" when it did not end): a mandate whose billing ended is
// revoked by the app at the provider, which reports it as the merchant's.
//
// Billing ends once (it never moves back from ended), so there is one such
// row at most, and no order to ask for: with one, PostgreSQL may sort what
// it finds in the (to_state, created_at) index of the money view.
const endedDetail = `coalesce(CASE WHEN e.to_status = 'revoked' THEN (SELECT be.detail FROM billing_events be
	WHERE be.mandate_id = e.mandate_id AND be.to_state = 'ended' LIMIT 1) END, '')`

var activitySources = []activitySource{
	{
		kind: ActStatus, at: "e.created_at", id: "e.id", mandate: "e.mandate_id = ?",
		query: `SELECT e.created_at, e.id, e.mandate_id, e.from_status, e.to_status, e.source, e.provider_status, e.detail, ` +
			endedDetail + ` FROM mandate_events e`,
		scan: scanStatusActivity,
	},
	{
		kind: ActBilling, at: "b.created_at", id: "b.id", mandate: "b.mandate_id = ?",
		query: `SELECT b.created_at, b.id, b.mandate_id, b.from_state, b.to_state, b.period, b.detail FROM billing_events b`,
		scan:  scanBillingActivity,
	},
	{
		kind: ActCharge, at: "c.created_at", id: "c.id", mandate: "c.mandate_id = ?",
		query: `SELECT c.created_at, c.id, c.mandate_id, c.kind, c.initiated_by, coalesce(c.period, 0), c.attempt, c.amount, c.currency,
			c.status, c.failure_code, c.failure_reason, c.refunded FROM charges c`,
		scan: scanChargeActivity,
	},
	{
		kind: ActRefund, at: "r.created_at", id: "r.id", mandate: "c.mandate_id = ?",
		query: `SELECT r.created_at, r.id, c.mandate_id, r.charge_id, r.amount, c.currency, r.status, r.failure_reason
			FROM refunds r JOIN charges c ON c.id = r.charge_id`,
		scan: scanRefundActivity,
	},
	{
		kind: ActDispute, at: "d.created_at", id: "d.id", mandate: "d.mandate_id = ?",
		query: `SELECT d.created_at, d.id, d.mandate_id, d.charge_id, d.provider, d.amount, d.currency, d.status, d.reason FROM disputes d`,
		scan:  scanDisputeActivity,
	},
	{
		kind: ActMessage, at: "o.created_at", id: "o.id", mandate: "o.mandate_id = ?",
		query: `SELECT o.created_at, o.id, coalesce(o.mandate_id, ''), o.kind, o.to_email, o.status, o.last_error FROM outbox o`,
		scan:  scanMessageActivity,
	},
	{
		kind: ActResend, at: "o.resent_at", id: "o.id", mandate: "o.mandate_id = ?", where: "o.resent_at IS NOT NULL",
		query: `SELECT o.resent_at, o.id, coalesce(o.mandate_id, ''), o.kind, o.to_email, o.status, o.last_error FROM outbox o`,
		scan:  scanResendActivity,
	},
	{
		// Shop-wide: the change as scheduled. On a mandate's log: what the
		// mandate was told (see mandatePriceSource).
		kind: ActPrice, at: "p.created_at", id: "p.id",
		query: `SELECT p.created_at, p.id, '', p.plan_name, p.old_amount, p.amount, p.currency, p.effective_at, 0 FROM price_changes p`,
		scan:  scanPriceActivity,
	},
	{
		// At the time the clock showed when it was moved: a reset's new
		// time is earlier than what came before it.
		kind: ActClock, at: "k.from_at", id: "k.id",
		// A mandate's log shows the moves since it was made.
		mandate: "k.from_at >= (SELECT created_at FROM mandates WHERE id = ?)",
		query:   `SELECT k.from_at, k.id, '', k.to_at, k.by_seconds, k.reset FROM clock_moves k`,
		scan:    scanClockActivity,
	},
}

// mandatePriceSource is a mandate's price changes: when it was told, and
// from which period the new price (or the agreement's end) applies.
var mandatePriceSource = activitySource{
	kind: ActPrice, at: "mp.notified_at", id: "mp.change_id", mandate: "mp.mandate_id = ?",
	query: `SELECT mp.notified_at, mp.change_id, mp.mandate_id, p.plan_name, mp.old_amount, mp.amount, mp.currency, mp.first_at, mp.ends_agreement
		FROM mandate_prices mp JOIN price_changes p ON p.id = mp.change_id`,
	scan: scanPriceActivity,
}

// Activity returns a page of the whole shop's activity, newest first:
// up to limit entries older than the cursor (""; the newest), and the
// cursor of the next page ("" when this is the last).
func (s *Store) Activity(ctx context.Context, cursor string, limit int) ([]Activity, string, error) {
	limit = max(limit, 1)
	var before *activityKey
	if cursor != "" {
		k, err := parseActivityKey(cursor)
		if err != nil {
			return nil, "", err
		}
		before = &k
	}
	var all []activityRow
	for _, src := range activitySources {
		rows, err := s.activityOf(ctx, src, before, "", limit+1)
		if err != nil {
			return nil, "", err
		}
		all = append(all, rows...)
	}
	out, next, err := page(all, limit)
	if err != nil {
		return nil, "", err
	}
	if err := s.nameShoppers(ctx, out); err != nil {
		return nil, "", err
	}
	return out, next, nil
}

// nameShoppers sets each entry's shopper, in one query for the page's
// mandates (a few dozen primary-key lookups).
func (s *Store) nameShoppers(ctx context.Context, entries []Activity) error {
	seen := map[string]bool{}
	var ids []any
	for _, a := range entries {
		if a.MandateID != "" && !seen[a.MandateID] {
			seen[a.MandateID] = true
			ids = append(ids, a.MandateID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	rows, err := s.db.QueryContext(ctx, `SELECT m.id, c.email FROM mandates m JOIN customers c ON c.id = m.customer_id
		WHERE m.id IN (?`+strings.Repeat(", ?", len(ids)-1)+`)`, ids...)
	if err != nil {
		return fmt.Errorf("activity's shoppers: %w", err)
	}
	defer rows.Close()
	email := map[string]string{}
	for rows.Next() {
		var id, e string
		if err := rows.Scan(&id, &e); err != nil {
			return fmt.Errorf("activity's shoppers: %w", err)
		}
		email[id] = e
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("activity's shoppers: %w", err)
	}
	for i := range entries {
		entries[i].Shopper = email[entries[i].MandateID]
	}
	return nil
}

// MandateActivity returns a mandate's whole activity, newest first (a
// mandate's rows are few: a few per period).
func (s *Store) MandateActivity(ctx context.Context, mandateID string) ([]Activity, error) {
	var all []activityRow
	for _, src := range activitySources {
		if src.kind == ActPrice {
			src = mandatePriceSource
		}
		rows, err := s.activityOf(ctx, src, nil, mandateID, mandateActivityLimit)
		if err != nil {
			return nil, err
		}
		all = append(all, rows...)
	}
	out, _, err := page(all, len(all))
	return out, err
}

// mandateActivityLimit bounds each source of one mandate's log.
const mandateActivityLimit = 1000

func page(all []activityRow, limit int) ([]Activity, string, error) {
	slices.SortFunc(all, func(a, b activityRow) int { return compareKeys(b.key, a.key) })
	next := ""
	if len(all) > limit {
		all = all[:limit]
		next = all[limit-1].key.String()
	}
	out := make([]Activity, len(all))
	for i, r := range all {
		out[i] = r.a
	}
	return out, next, nil
}

// activityOf reads up to limit of a source's entries, newest first: those
// before the cursor, and of one mandate when mandateID is set.
func (s *Store) activityOf(ctx context.Context, src activitySource, before *activityKey, mandateID string, limit int) ([]activityRow, error) {
	if mandateID != "" && src.mandate == "" {
		return nil, nil
	}
	rank := activityRank[src.kind]
	q, args := src.sql(before, mandateID, limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("activity (%s): %w", src.kind, err)
	}
	defer rows.Close()
	var out []activityRow
	for rows.Next() {
		a, err := src.scan(rows)
		if err != nil {
			return nil, fmt.Errorf("activity (%s): %w", src.kind, err)
		}
		a.Kind = src.kind
		out = append(out, activityRow{key: activityKey{at: a.At.UTC().Format(timeLayout), rank: rank, id: a.ID}, a: a})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("activity (%s): %w", src.kind, err)
	}
	return out, nil
}

// sql is a source's query: newest first from the cursor (nil: the
// newest), of one mandate when mandateID is set, at most limit rows. It
// walks the source's (time, id) index backwards and stops at limit.
func (src activitySource) sql(before *activityKey, mandateID string, limit int) (string, []any) {
	rank := activityRank[src.kind]
	var conds []string
	var args []any
	if src.where != "" {
		conds = append(conds, src.where)
	}
	if mandateID != "" {
		conds, args = append(conds, src.mandate), append(args, mandateID)
	}
	if before != nil {
		// Entries sort by (time, rank, id): a source ranked below the
		// cursor's keeps its rows of the cursor's time, one ranked above
		// does not, and the cursor's own source continues by id.
		switch {
		case rank < before.rank:
			conds, args = append(conds, src.at+" <= ?"), append(args, before.at)
		case rank > before.rank:
			conds, args = append(conds, src.at+" < ?"), append(args, before.at)
		default:
			conds, args = append(conds, "("+src.at+", "+src.id+") < (?, ?)"), append(args, before.at, before.id)
		}
	}
	q := src.query
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	return q + " ORDER BY " + src.at + " DESC, " + src.id + " DESC LIMIT ?", append(args, limit)
}

// Who reported a status change, by the history's source.
var statusBy = map[string]string{
	"checkout": ByShopper, "return_page": ByShopper, "cancel_page": ByShopper, "shopper": ByShopper,
	"webhook": ByProvider, "merchant": ByMerchant, "worker": ByApp,
}

func scanStatusActivity(sc interface{ Scan(...any) error }) (Activity, error) {
	var a Activity
	var at, from, to, source, providerStatus, detail, ended string
	if err := sc.Scan(&at, &a.ID, &a.MandateID, &from, &to, &source, &providerStatus, &detail, &ended); err != nil {
		return a, err
	}
	a.At, a.State, a.By = parseTime(at), to, statusBy[source]
	if a.By == "" {
		a.By = source
	}
	a.Detail = detail
	switch to {
	case "pending":
		a.What = "Mandate created: waiting for the shopper's approval"
	case "active":
		a.What = "Mandate confirmed: active"
	case "failed":
		a.What = "Setup failed"
	case "canceled":
		a.What = "Setup cancelled"
	case "revoked":
		// The history says "revoked by <who>; <reason>".
		rest := strings.TrimPrefix(detail, "revoked by ")
		who, reason, _ := strings.Cut(rest, ";")
		a.Detail = strings.TrimSpace(reason)
		switch {
		case EndedByPrice(ended):
			a.What, a.By = "Ended by a price change: the agreement was revoked at the provider", BySchedule
			a.Detail = ended
		case ended != "":
			a.What, a.By = "Ended for non-payment: the mandate was revoked at the provider", BySchedule
			a.Detail = ended
		case who != "":
			a.What, a.By = "Mandate revoked by the "+who, who
		default:
			a.What = "Mandate revoked"
		}
	default:
		a.What = "Status " + from + " → " + to
	}
	if providerStatus != "" && a.Detail == "" {
		a.Detail = providerStatus
	}
	return a, nil
}

func scanBillingActivity(sc interface{ Scan(...any) error }) (Activity, error) {
	var a Activity
	var at, from, to string
	var period int
	if err := sc.Scan(&at, &a.ID, &a.MandateID, &from, &to, &period, &a.Detail); err != nil {
		return a, err
	}
	a.At, a.State, a.By = parseTime(at), to, BySchedule
	if who, ok := strings.CutPrefix(a.Detail, "mandate revoked by "); ok && to == BillingRevoked {
		a.By = who // billing stops with the mandate, revoked by them
	}
	a.What = BillingWords(from, to, period, a.Detail)
	return a, nil
}

// BillingWords says what a change of billing meant: a billing history's
// row holds its states and period; this is its headline.
func BillingWords(from, to string, period int, detail string) string {
	p := "period " + strconv.Itoa(period)
	switch {
	case from == "":
		return "Billing started: " + p + " due"
	case to == BillingEnded && EndedByPrice(detail):
		return "Billing ended by a price change before " + p
	case to == BillingEnded:
		return "Billing ended for non-payment of " + p
	case to == BillingRevoked:
		return "Billing stopped: the mandate was revoked"
	case to == BillingActive && from == BillingPastDue:
		return "Paid " + p + " after declines"
	case to == BillingActive:
		return "Paid " + p
	case to == BillingPastDue && from == BillingPastDue:
		return "Retry of " + p + " declined: still past due"
	case to == BillingPastDue:
		return "Payment of " + p + " declined: past due"
	}
	return from + " → " + to + ", " + p
}

func scanChargeActivity(sc interface{ Scan(...any) error }) (Activity, error) {
	var a Activity
	var at, kind, code, reason string
	var period, attempt int
	var refunded int64
	if err := sc.Scan(&at, &a.ID, &a.MandateID, &kind, &a.By, &period, &attempt, &a.Amount.Amount, &a.Amount.Currency,
		&a.State, &code, &reason, &refunded); err != nil {
		return a, err
	}
	a.At = parseTime(at)
	switch {
	case kind == KindInitial:
		a.What = "First payment, with the setup"
	case kind == KindScheduled && attempt > 1:
		a.What = fmt.Sprintf("Retry %d of period %d", attempt-1, period)
	case kind == KindScheduled:
		a.What = fmt.Sprintf("Payment of period %d", period)
	default:
		a.What = "One-off payment"
	}
	// The state is the entry's own (a pill); the detail says why a payment
	// failed, or how much of it was refunded.
	switch payments.ChargeState(a.State) {
	case payments.ChargeFailed:
		a.Detail = "declined: " + codeAndReason(code, reason)
	case payments.ChargePartiallyRefunded, payments.ChargeRefunded:
		a.Detail = payments.Money{Amount: refunded, Currency: a.Amount.Currency}.String() + " refunded"
	}
	return a, nil
}

func scanRefundActivity(sc interface{ Scan(...any) error }) (Activity, error) {
	var a Activity
	var at, reason string
	var chargeID int64
	if err := sc.Scan(&at, &a.ID, &a.MandateID, &chargeID, &a.Amount.Amount, &a.Amount.Currency, &a.State, &reason); err != nil {
		return a, err
	}
	a.At, a.By = parseTime(at), ByMerchant
	a.What = "Refund of payment #" + strconv.FormatInt(chargeID, 10)
	a.Detail = reason
	return a, nil
}

func scanDisputeActivity(sc interface{ Scan(...any) error }) (Activity, error) {
	var a Activity
	var at, provider, reason string
	var chargeID int64
	if err := sc.Scan(&at, &a.ID, &a.MandateID, &chargeID, &provider, &a.Amount.Amount, &a.Amount.Currency, &a.State, &reason); err != nil {
		return a, err
	}
	a.At, a.By = parseTime(at), ByProvider
	a.What = "Payment #" + strconv.FormatInt(chargeID, 10) + " disputed (reported by " + provider + ")"
	if reason != "" {
		a.Detail = "reason: " + reason
	}
	return a, nil
}

func scanMessageActivity(sc interface{ Scan(...any) error }) (Activity, error) {
	var a Activity
	var at, lastError string
	if err := sc.Scan(&at, &a.ID, &a.MandateID, &a.MessageKind, &a.To, &a.State, &lastError); err != nil {
		return a, err
	}
	a.At, a.By = parseTime(at), ByApp
	a.What = "Email (" + a.MessageKind + ") to " + a.To
	if a.State == MessageFailed {
		a.Detail = lastError
	}
	return a, nil
}

func scanResendActivity(sc interface{ Scan(...any) error }) (Activity, error) {
	a, err := scanMessageActivity(sc)
	a.By = ByMerchant
	a.What = "Sent again: " + a.What
	return a, err
}

func scanPriceActivity(sc interface{ Scan(...any) error }) (Activity, error) {
	var a Activity
	var at, plan, from string
	var old int64
	var ends int
	if err := sc.Scan(&at, &a.ID, &a.MandateID, &plan, &old, &a.Amount.Amount, &a.Amount.Currency, &from, &ends); err != nil {
		return a, err
	}
	a.At, a.By = parseTime(at), ByMerchant
	oldPrice := payments.Money{Amount: old, Currency: a.Amount.Currency}
	day := parseTime(from).UTC().Format("2 Jan 2006")
	if a.MandateID == "" {
		a.What = "Price of " + plan + " changed: " + oldPrice.String() + " → " + a.Amount.String()
		a.Detail = "for the periods due from " + day
		return a, nil
	}
	a.What = "Told of a price change: " + oldPrice.String() + " → " + a.Amount.String()
	a.Detail = "from the period due on " + day
	if ends == 1 {
		a.Detail = "the agreement states " + oldPrice.String() + " exactly, so it ends before the period due on " + day
	}
	return a, nil
}

func scanClockActivity(sc interface{ Scan(...any) error }) (Activity, error) {
	var a Activity
	var at, to string
	var by int64
	var reset int
	if err := sc.Scan(&at, &a.ID, &a.MandateID, &to, &by, &reset); err != nil {
		return a, err
	}
	a.At, a.By = parseTime(at), ByMerchant
	const day = "2 Jan 2006, 15:04"
	if reset == 1 {
		a.What = "Demo clock reset to real time"
	} else {
		a.What = "Demo clock advanced " + Span(time.Duration(by)*time.Second)
	}
	a.Detail = a.At.UTC().Format(day) + " → " + parseTime(to).UTC().Format(day)
	return a, nil
}

// Span says a duration in days (and hours, when not whole days).
func Span(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	days, hours := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour)
	switch {
	case days == 0:
		return strconv.Itoa(hours) + " h"
	case hours == 0 && days == 1:
		return "1 day"
	case hours == 0:
		return strconv.Itoa(days) + " days"
	}
	return fmt.Sprintf("%d days %d h", days, hours)
}

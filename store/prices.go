package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"example.com/storefront/billing"
	"example.com/storefront/payments"
)

// NoticePeriod is the least time between a price change's notice and the
// first payment at the new price: what the terms promise.
const NoticePeriod = 14 * 24 * time.Hour

// Why a price change is refused. Each says it in words the merchant reads
// on the dashboard; errors.Is tells them apart.
var (
	ErrPriceTooSoon    = errors.New("the new price must take effect at least 14 days after the notice")
	ErrPriceUnchanged  = errors.New("the new price is the plan's price already")
	ErrPriceCurrency   = errors.New("the new price must be in the plan's currency")
	ErrPriceNotAmount  = errors.New("the new price must be more than zero")
	ErrPriceChangeOpen = errors.New("a price change is already scheduled; another can be scheduled once it has taken effect")
)

// NewPriceChange is a price change the merchant asks for.
type NewPriceChange struct {
	// Plan is the configured plan: its name and interval are the plan the
	// mandates store, its price the price before any change.
	Plan payments.Plan
	// Price is the new price of each period due on or after EffectiveAt.
	Price       payments.Money
	EffectiveAt time.Time
	// ExactAmount says whether a provider's agreements state their amount
	// exactly (payments.Features.ExactAmount): such an agreement cannot be
	// charged the new price, so it ends before it (nil: none does).
	ExactAmount func(provider string) bool
}

// PriceChange is a scheduled (or past) change of the plan's price.
type PriceChange struct {
	ID          int64
	PlanName    string
	Interval    payments.Interval
	Old, Price  payments.Money
	EffectiveAt time.Time
	CreatedAt   time.Time // when the notices were written
	// Notified counts the mandates told; Pending and Failed their notices
	// not delivered yet, and given up.
	Notified, Pending, Failed int
}

// MandatePrice is a price a mandate was told of, and its notice.
type MandatePrice struct {
	ChangeID      int64
	Old, Price    payments.Money
	EffectiveAt   time.Time
	FirstAt       time.Time // the mandate's first payment due at the new price
	EndsAgreement bool
	MessageKey    string
	NotifiedAt    time.Time
	// MessageStatus is the notice's state in the outbox (MessagePending,
	// MessageSent, MessageFailed); SentAt is zero until sent.
	MessageStatus string
	SentAt        time.Time
}

// Price is what a mandate pays for a period.
type Price struct {
	payments.Money
	// ChangeID is the price change it comes from, 0 for the price the
	// shopper signed up at.
	ChangeID int64
	// EndsAgreement: the mandate's agreement states another amount exactly
	// and cannot be charged this price (see NewPriceChange.ExactAmount).
	EndsAgreement bool
}

// PriceFor is the price of m's period due at due: the latest price change
// m was told of that is in effect by then, else the price m signed up at.
// A mandate is told of a change only when it is scheduled, so one that
// became active afterwards keeps the price it agreed to.
func (s *Store) PriceFor(ctx context.Context, m Mandate, due time.Time) (Price, error) {
	return priceFor(ctx, s.db, m, due)
}

// priceFor is PriceFor in q (a transaction that writes what follows).
func priceFor(ctx context.Context, q querier, m Mandate, due time.Time) (Price, error) {
	p := Price{Money: m.Plan.Price}
	var ends int
	err := q.QueryRowContext(ctx, `SELECT change_id, amount, currency, ends_agreement FROM mandate_prices
		WHERE mandate_id = ? AND effective_at <= ? ORDER BY effective_at DESC, change_id DESC LIMIT 1`,
		m.ID, due.UTC().Format(timeLayout)).Scan(&p.ChangeID, &p.Amount, &p.Currency, &ends)
	if errors.Is(err, sql.ErrNoRows) {
		return p, nil
	}
	if err != nil {
		return Price{}, fmt.Errorf("price of %s on %s: %w", m.ID, due.Format(time.DateOnly), err)
	}
	p.EndsAgreement = ends == 1
	return p, nil
}

// PriceOn is PriceFor's rule applied to a mandate's prices as MandatePrices
// returns them (oldest first), for a page that shows many periods: signed
// is the price the mandate signed up at.
func PriceOn(signed payments.Money, prices []MandatePrice, due time.Time) Price {
	p := Price{Money: signed}
	for _, mp := range prices {
		if !mp.EffectiveAt.After(due) {
			p = Price{Money: mp.Price, ChangeID: mp.ChangeID, EndsAgreement: mp.EndsAgreement}
		}
	}
	return p
}

// CurrentPlan is plan as a new shopper signs up to it now: at the price of
// the latest change in effect, else at its configured price.
func (s *Store) CurrentPlan(ctx context.Context, plan payments.Plan) (payments.Plan, error) {
	var amount int64
	err := s.db.QueryRowContext(ctx, `SELECT amount FROM price_changes WHERE plan_name = ? AND interval = ? AND currency = ?
		AND effective_at <= ? ORDER BY effective_at DESC, id DESC LIMIT 1`,
		plan.Name, string(plan.Interval), plan.Price.Currency, s.now().UTC().Format(timeLayout)).Scan(&amount)
	if errors.Is(err, sql.ErrNoRows) {
		return plan, nil
	}
	if err != nil {
		return payments.Plan{}, fmt.Errorf("the plan's current price: %w", err)
	}
	plan.Price.Amount = amount
	return plan, nil
}

// EarliestEffective is the earliest day a price change scheduled at now
// may take effect: the first midnight (UTC) at least NoticePeriod on.
func EarliestEffective(now time.Time) time.Time {
	t := now.UTC().Add(NoticePeriod)
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	if day.Before(t) {
		day = day.AddDate(0, 0, 1)
	}
	return day
}

// noticeBatch bounds the rows of one INSERT: far under SQLite's and
// PostgreSQL's limits on a statement's parameters.
const noticeBatch = 500

// SchedulePriceChange schedules c, and in the same transaction tells every
// active mandate on the plan: a row of its prices and a notice in the
// outbox (MsgPriceChange), so that the change exists exactly when its
// notices do. It refuses a change that takes effect less than
// NoticePeriod from now (the billing clock), keeps the price, changes the
// currency, or comes while another is still to take effect; the same
// change asked for again (a form sent twice) returns the first, with
// created false, and writes nothing.
func (s *Store) SchedulePriceChange(ctx context.Context, c NewPriceChange) (PriceChange, bool, error) {
	now := s.now().UTC()
	eff := c.EffectiveAt.UTC()
	switch {
	case c.Price.Amount <= 0:
		return PriceChange{}, false, ErrPriceNotAmount
	case c.Price.Currency != c.Plan.Price.Currency:
		return PriceChange{}, false, fmt.Errorf("%w (%s, not %s)", ErrPriceCurrency, c.Plan.Price.Currency, c.Price.Currency)
	case eff.Before(now.Add(NoticePeriod)):
		return PriceChange{}, false, fmt.Errorf("%w: the earliest is %s", ErrPriceTooSoon, EarliestEffective(now).Format("2 January 2006"))
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return PriceChange{}, false, fmt.Errorf("schedule a price change: %w", err)
	}
	defer tx.Rollback()
	if s.d.lockTable != "" {
		// One scheduler at a time, so that two cannot both find nothing
		// pending (SQLite's write transactions already take turns).
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(s.d.lockTable, "price_changes")); err != nil {
			return PriceChange{}, false, fmt.Errorf("schedule a price change: %w", err)
		}
	}
	ts := now.Format(timeLayout)
	plan := c.Plan
	var pending PriceChange
	var pendingEff, pendingCreated string
	err = tx.QueryRowContext(ctx, `SELECT id, amount, old_amount, effective_at, created_at FROM price_changes
		WHERE plan_name = ? AND interval = ? AND currency = ? AND effective_at > ? ORDER BY effective_at LIMIT 1`,
		plan.Name, string(plan.Interval), plan.Price.Currency, ts).Scan(&pending.ID, &pending.Price.Amount, &pending.Old.Amount, &pendingEff, &pendingCreated)
	switch {
	case err == nil:
		if pending.Price.Amount == c.Price.Amount && parseTime(pendingEff).Equal(eff) {
			pending.PlanName, pending.Interval = plan.Name, plan.Interval
			pending.Price.Currency, pending.Old.Currency = plan.Price.Currency, plan.Price.Currency
			pending.EffectiveAt, pending.CreatedAt = eff, parseTime(pendingCreated)
			return pending, false, nil
		}
		return PriceChange{}, false, fmt.Errorf("%w (%s from %s)", ErrPriceChangeOpen,
			payments.Money{Amount: pending.Price.Amount, Currency: plan.Price.Currency}, parseTime(pendingEff).Format("2 January 2006"))
	case !errors.Is(err, sql.ErrNoRows):
		return PriceChange{}, false, fmt.Errorf("schedule a price change: %w", err)
	}
	// The plan's price now: the latest change in effect, else the configured.
	old := plan.Price
	err = tx.QueryRowContext(ctx, `SELECT amount FROM price_changes WHERE plan_name = ? AND interval = ? AND currency = ?
		AND effective_at <= ? ORDER BY effective_at DESC, id DESC LIMIT 1`,
		plan.Name, string(plan.Interval), plan.Price.Currency, ts).Scan(&old.Amount)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return PriceChange{}, false, fmt.Errorf("schedule a price change: %w", err)
	}
	if old.Amount == c.Price.Amount {
		return PriceChange{}, false, fmt.Errorf("%w (%s)", ErrPriceUnchanged, old)
	}
	ch := PriceChange{PlanName: plan.Name, Interval: plan.Interval, Old: old, Price: c.Price, EffectiveAt: eff, CreatedAt: now}
	if err := tx.QueryRowContext(ctx, `INSERT INTO price_changes (plan_name, interval, old_amount, amount, currency, effective_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, plan.Name, string(plan.Interval), old.Amount, c.Price.Amount, c.Price.Currency,
		eff.Format(timeLayout), ts).Scan(&ch.ID); err != nil {
		return PriceChange{}, false, fmt.Errorf("schedule a price change: %w", err)
	}
	targets, err := s.priceTargets(ctx, tx, plan, ts)
	if err != nil {
		return PriceChange{}, false, fmt.Errorf("schedule a price change: %w", err)
	}
	rows := make([]noticeRow, 0, len(targets))
	for _, t := range targets {
		if t.current == c.Price.Amount {
			continue // already at the new price: nothing changes for them
		}
		first := firstDueFrom(t.anchor, plan.Interval, t.nextPeriod, eff)
		ends := c.ExactAmount != nil && c.ExactAmount(t.provider)
		key := fmt.Sprintf("price/%d/mandate/%s", ch.ID, t.id)
		data, err := json.Marshal(PriceChangeData{ChangeID: ch.ID, Old: payments.Money{Amount: t.current, Currency: c.Price.Currency},
			New: c.Price, EffectiveAt: eff, FirstAt: first, EndsAgreement: ends})
		if err != nil {
			return PriceChange{}, false, fmt.Errorf("schedule a price change: %w", err)
		}
		rows = append(rows, noticeRow{target: t, first: first, ends: ends, key: key, data: string(data)})
	}
	if err := s.writeNotices(ctx, tx, ch, rows, ts); err != nil {
		return PriceChange{}, false, fmt.Errorf("schedule a price change: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return PriceChange{}, false, fmt.Errorf("schedule a price change: %w", err)
	}
	ch.Notified, ch.Pending = len(rows), len(rows)
	return ch, true, nil
}

// priceTarget is an active mandate on the plan, still billed, with what
// it pays now.
type priceTarget struct {
	id, email, provider string
	anchor              time.Time
	nextPeriod          int
	current             int64
}

// priceTargets reads, in one statement, every active mandate on plan whose
// billing goes on (one whose billing ended is being revoked: no notice),
// with its price now (every earlier change has taken effect: a change is
// refused while another is pending).
func (s *Store) priceTargets(ctx context.Context, tx *sql.Tx, plan payments.Plan, ts string) ([]priceTarget, error) {
	rows, err := tx.QueryContext(ctx, `SELECT m.id, c.email, m.provider, b.anchor_at, b.next_period,
			coalesce((SELECT mp.amount FROM mandate_prices mp WHERE mp.mandate_id = m.id AND mp.effective_at <= ?
				ORDER BY mp.effective_at DESC, mp.change_id DESC LIMIT 1), m.amount)
		FROM mandates m JOIN billing b ON b.mandate_id = m.id JOIN customers c ON c.id = m.customer_id
		WHERE m.status = 'active' AND b.state IN ('active', 'past_due')
			AND m.plan_name = ? AND m.interval = ? AND m.currency = ?`, ts, plan.Name, string(plan.Interval), plan.Price.Currency)
	if err != nil {
		return nil, fmt.Errorf("mandates on the plan: %w", err)
	}
	defer rows.Close()
	var out []priceTarget
	for rows.Next() {
		var t priceTarget
		var anchor string
		if err := rows.Scan(&t.id, &t.email, &t.provider, &anchor, &t.nextPeriod, &t.current); err != nil {
			return nil, fmt.Errorf("mandates on the plan: %w", err)
		}
		t.anchor = parseTime(anchor)
		out = append(out, t)
	}
	return out, rows.Err()
}

// firstDueFrom is the first period, from period from on, due on or after
// eff, and its due time.
func firstDueFrom(anchor time.Time, interval payments.Interval, from int, eff time.Time) time.Time {
	n := max(from, 1)
	for billing.Due(anchor, interval, n).Before(eff) {
		n++
	}
	return billing.Due(anchor, interval, n)
}

type noticeRow struct {
	target priceTarget
	first  time.Time
	ends   bool
	key    string
	data   string
}

// writeNotices writes the mandates' price rows and their notices in
// batches of multi-row INSERTs: 100,000 mandates are a few hundred
// statements, not 200,000 round trips. The outbox rows are what enqueue
// writes, one key per mandate and change, so a notice is never written
// twice.
func (s *Store) writeNotices(ctx context.Context, tx *sql.Tx, ch PriceChange, rows []noticeRow, ts string) error {
	real := s.real().UTC().Format(timeLayout)
	eff := ch.EffectiveAt.Format(timeLayout)
	for start := 0; start < len(rows); start += noticeBatch {
		batch := rows[start:min(start+noticeBatch, len(rows))]
		prices := make([]string, len(batch))
		notices := make([]string, len(batch))
		pargs := make([]any, 0, 10*len(batch))
		nargs := make([]any, 0, 6*len(batch))
		for i, r := range batch {
			prices[i] = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
			ends := 0
			if r.ends {
				ends = 1
			}
			pargs = append(pargs, r.target.id, ch.ID, r.target.current, ch.Price.Amount, ch.Price.Currency, eff,
				r.first.UTC().Format(timeLayout), ends, r.key, ts)
			notices[i] = outboxRow
			nargs = append(nargs, r.key, MsgPriceChange, r.target.id, r.target.email, r.data, real, ts)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO mandate_prices (mandate_id, change_id, old_amount, amount, currency,
			effective_at, first_at, ends_agreement, message_key, notified_at) VALUES `+strings.Join(prices, ", "), pargs...); err != nil {
			return fmt.Errorf("the mandates' prices: %w", err)
		}
		if _, err := tx.ExecContext(ctx, insertOutbox+strings.Join(notices, ", ")+` ON CONFLICT (key) DO NOTHING`, nargs...); err != nil {
			return fmt.Errorf("the notices: %w", err)
		}
	}
	return nil
}

// PriceChanges returns the plan's price changes, the latest first, with
// how many mandates each told and how many of those notices are still
// pending or failed (counted from the outbox's pending and failed rows
// only, which its partial indexes keep few).
func (s *Store) PriceChanges(ctx context.Context, limit int) ([]PriceChange, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, plan_name, interval, old_amount, amount, currency, effective_at, created_at,
			(SELECT count(*) FROM mandate_prices mp WHERE mp.change_id = pc.id)
		FROM price_changes pc ORDER BY effective_at DESC, id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("price changes: %w", err)
	}
	var out []PriceChange
	byID := map[int64]int{}
	for rows.Next() {
		var c PriceChange
		var eff, created string
		if err := rows.Scan(&c.ID, &c.PlanName, &c.Interval, &c.Old.Amount, &c.Price.Amount, &c.Price.Currency, &eff, &created, &c.Notified); err != nil {
			rows.Close()
			return nil, fmt.Errorf("price changes: %w", err)
		}
		c.Old.Currency, c.EffectiveAt, c.CreatedAt = c.Price.Currency, parseTime(eff), parseTime(created)
		byID[c.ID] = len(out)
		out = append(out, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("price changes: %w", err)
	}
	if len(out) == 0 {
		return out, nil
	}
	counts, err := s.db.QueryContext(ctx, `SELECT mp.change_id, o.status, count(*) FROM outbox o
		JOIN mandate_prices mp ON mp.message_key = o.key
		WHERE o.status IN ('pending', 'failed') AND o.kind = ? GROUP BY mp.change_id, o.status`, MsgPriceChange)
	if err != nil {
		return nil, fmt.Errorf("price change notices: %w", err)
	}
	defer counts.Close()
	for counts.Next() {
		var id int64
		var status string
		var n int
		if err := counts.Scan(&id, &status, &n); err != nil {
			return nil, fmt.Errorf("price change notices: %w", err)
		}
		if i, ok := byID[id]; ok {
			if status == MessagePending {
				out[i].Pending = n
			} else {
				out[i].Failed = n
			}
		}
	}
	return out, counts.Err()
}

// MandatePrices returns the prices a mandate was told of, oldest first,
// each with its notice's state.
func (s *Store) MandatePrices(ctx context.Context, mandateID string) ([]MandatePrice, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT mp.change_id, mp.old_amount, mp.amount, mp.currency, mp.effective_at, mp.first_at,
			mp.ends_agreement, mp.message_key, mp.notified_at, coalesce(o.status, ''), coalesce(o.sent_at, '')
		FROM mandate_prices mp LEFT JOIN outbox o ON o.key = mp.message_key
		WHERE mp.mandate_id = ? ORDER BY mp.effective_at, mp.change_id`, mandateID)
	if err != nil {
		return nil, fmt.Errorf("prices of %s: %w", mandateID, err)
	}
	defer rows.Close()
	var out []MandatePrice
	for rows.Next() {
		var p MandatePrice
		var eff, first, notified, sent string
		var ends int
		if err := rows.Scan(&p.ChangeID, &p.Old.Amount, &p.Price.Amount, &p.Price.Currency, &eff, &first, &ends,
			&p.MessageKey, &notified, &p.MessageStatus, &sent); err != nil {
			return nil, fmt.Errorf("prices of %s: %w", mandateID, err)
		}
		p.Old.Currency = p.Price.Currency
		p.EffectiveAt, p.FirstAt, p.NotifiedAt = parseTime(eff), parseTime(first), parseTime(notified)
		p.EndsAgreement = ends == 1
		if sent != "" {
			p.SentAt = parseTime(sent)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

package store

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"example.com/storefront/payments"
)

// The statuses of a charge that took the shopper's money: a refund moves
// a succeeded charge on to partially_refunded or refunded, and what it
// collected stays collected (the refund is counted on its own).
const collectedStatuses = `('succeeded', 'partially_refunded', 'refunded')`

// MoneyTotals are the range's totals in one currency; amounts are in its
// minor units, never added across currencies.
type MoneyTotals struct {
	Currency              string
	Collected, Refunded   int64
	Failed, Disputed      int64
	CollectedN, RefundedN int
	FailedN, DisputedN    int
}

// MoneyDay is one day's payments, refunds and disputes in one currency.
type MoneyDay struct {
	Day        time.Time // midnight UTC
	Currency   string
	Collected  int64
	CollectedN int
	Failed     int64
	FailedN    int
	Refunded   int64
	Disputed   int64
}

// Recurring is what the active mandates of one plan interval and currency
// pay, each at its price in effect now.
type Recurring struct {
	Currency string
	Interval payments.Interval
	Mandates int
	// PerInterval is the sum of their prices (per day, week, …).
	PerInterval int64
}

// PerMonth is PerInterval as a month's worth, rounded to the minor unit:
// a year is 12 months, a month 365/12 days (so a week is 365/12/7 weeks).
func (r Recurring) PerMonth() int64 {
	switch r.Interval {
	case payments.Day:
		return (r.PerInterval*365 + 6) / 12
	case payments.Week:
		return (r.PerInterval*365 + 42) / 84
	case payments.Year:
		return (r.PerInterval + 6) / 12
	}
	return r.PerInterval
}

// Money is the dashboard's money view of [From, To) on the billing clock.
type Money struct {
	From, To time.Time
	Totals   []MoneyTotals // by currency
	Days     []MoneyDay    // by day, then currency; days with nothing are left out
	// Recurring is now's recurring revenue (not the range's), by currency
	// and interval.
	Recurring []Recurring
	// New mandates confirmed in the range; Revoked: active mandates
	// cancelled by the shopper or revoked by the merchant or provider,
	// not counting those Ended for non-payment.
	New, Revoked, Ended int
}

// The money view's queries of a range, each on an index or a table of
// sums (TestMoneyQueriesReadOnlyTheRange checks their plans).
const (
	moneyDaysQuery = `SELECT day, currency, kind, n, amount FROM money_days WHERE day >= ? AND day < ?`
	moneyNewQuery  = `SELECT count(*) FROM mandates WHERE confirmed_at >= ? AND confirmed_at < ?`
	// A mandate ended for non-payment is revoked at the provider too: it
	// is counted as ended only.
	moneyRevokedQuery = `SELECT count(DISTINCT e.mandate_id) FROM mandate_events e
		WHERE e.to_status = 'revoked' AND e.created_at >= ? AND e.created_at < ?
		AND NOT EXISTS (SELECT 1 FROM billing b WHERE b.mandate_id = e.mandate_id AND b.state = 'ended')`
	moneyEndedQuery = `SELECT count(*) FROM billing_events WHERE to_state = 'ended' AND created_at >= ? AND created_at < ?`
)

// Money reads the money view of the days [from, to) (UTC; times are
// taken to their day) on the billing clock; the recurring revenue is at
// the store's now. Each figure is one query on sums kept by migration
// 0017's triggers (a row per day and kind, per currency and interval, per
// price change) or on an index of the range's own rows: it costs what the
// range holds, not what the tables do.
func (s *Store) Money(ctx context.Context, from, to time.Time) (Money, error) {
	out := Money{From: Day(from), To: Day(to)}
	f, t := out.From.Format(timeLayout), out.To.Format(timeLayout)
	totals := map[string]*MoneyTotals{}
	total := func(cur string) *MoneyTotals {
		if totals[cur] == nil {
			totals[cur] = &MoneyTotals{Currency: cur}
		}
		return totals[cur]
	}
	days := map[string]*MoneyDay{}
	day := func(d, cur string) *MoneyDay {
		k := d + cur
		if days[k] == nil {
			at, _ := time.Parse(time.DateOnly, d)
			days[k] = &MoneyDay{Day: at, Currency: cur}
		}
		return days[k]
	}

	// Payments, refunds and disputes, per day, currency and kind, as the
	// triggers of migration 0017 keep them.
	rows, err := s.db.QueryContext(ctx, moneyDaysQuery, out.From.Format(time.DateOnly), out.To.Format(time.DateOnly))
	if err != nil {
		return Money{}, fmt.Errorf("money: %w", err)
	}
	err = eachRow(rows, func(scan func(...any) error) error {
		var d, cur, kind string
		var n int
		var sum int64
		if err := scan(&d, &cur, &kind, &n, &sum); err != nil {
			return err
		}
		if n == 0 && sum == 0 { // everything counted there moved on
			return nil
		}
		dd, tt := day(d, cur), total(cur)
		switch kind {
		case "collected":
			dd.Collected, dd.CollectedN = dd.Collected+sum, dd.CollectedN+n
			tt.Collected, tt.CollectedN = tt.Collected+sum, tt.CollectedN+n
		case "failed":
			dd.Failed, dd.FailedN = dd.Failed+sum, dd.FailedN+n
			tt.Failed, tt.FailedN = tt.Failed+sum, tt.FailedN+n
		case "refunded":
			dd.Refunded += sum
			tt.Refunded, tt.RefundedN = tt.Refunded+sum, tt.RefundedN+n
		case "disputed":
			dd.Disputed += sum
			tt.Disputed, tt.DisputedN = tt.Disputed+sum, tt.DisputedN+n
		}
		return nil
	})
	if err != nil {
		return Money{}, fmt.Errorf("money: %w", err)
	}

	// The mandates' comings and goings.
	if err := s.db.QueryRowContext(ctx, moneyNewQuery, f, t).Scan(&out.New); err != nil {
		return Money{}, fmt.Errorf("money: new mandates: %w", err)
	}
	if err := s.db.QueryRowContext(ctx, moneyRevokedQuery, f, t).Scan(&out.Revoked); err != nil {
		return Money{}, fmt.Errorf("money: revoked mandates: %w", err)
	}
	if err := s.db.QueryRowContext(ctx, moneyEndedQuery, f, t).Scan(&out.Ended); err != nil {
		return Money{}, fmt.Errorf("money: ended mandates: %w", err)
	}

	if out.Recurring, err = s.recurring(ctx, s.now().UTC()); err != nil {
		return Money{}, err
	}

	for _, tt := range totals {
		out.Totals = append(out.Totals, *tt)
	}
	sort.Slice(out.Totals, func(i, j int) bool { return out.Totals[i].Currency < out.Totals[j].Currency })
	for _, d := range days {
		out.Days = append(out.Days, *d)
	}
	sort.Slice(out.Days, func(i, j int) bool {
		a, b := out.Days[i], out.Days[j]
		return a.Day.Before(b.Day) || a.Day.Equal(b.Day) && a.Currency < b.Currency
	})
	return out, nil
}

// recurring is what the active mandates pay per interval at now's prices
// (PriceFor's rule): the prices they signed up at, plus the differences
// of the price changes in effect, both kept by migration 0017's triggers.
func (s *Store) recurring(ctx context.Context, now time.Time) ([]Recurring, error) {
	type key struct {
		cur string
		iv  payments.Interval
	}
	by := map[key]*Recurring{}
	rows, err := s.db.QueryContext(ctx, `SELECT currency, plan_interval, n, amount FROM recurring_signed WHERE n > 0`)
	if err != nil {
		return nil, fmt.Errorf("money: recurring revenue: %w", err)
	}
	err = eachRow(rows, func(scan func(...any) error) error {
		var r Recurring
		if err := scan(&r.Currency, &r.Interval, &r.Mandates, &r.PerInterval); err != nil {
			return err
		}
		by[key{r.Currency, r.Interval}] = &r
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("money: recurring revenue: %w", err)
	}
	rows, err = s.db.QueryContext(ctx, `SELECT d.currency, d.plan_interval, CAST(sum(d.delta) AS BIGINT)
		FROM price_deltas d JOIN price_changes c ON c.id = d.change_id
		WHERE c.effective_at <= ? GROUP BY d.currency, d.plan_interval`, now.Format(timeLayout))
	if err != nil {
		return nil, fmt.Errorf("money: recurring revenue's price changes: %w", err)
	}
	err = eachRow(rows, func(scan func(...any) error) error {
		var cur string
		var iv payments.Interval
		var delta int64
		if err := scan(&cur, &iv, &delta); err != nil {
			return err
		}
		if r := by[key{cur, iv}]; r != nil {
			r.PerInterval += delta
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("money: recurring revenue's price changes: %w", err)
	}
	out := make([]Recurring, 0, len(by))
	for _, r := range by {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Currency < out[j].Currency || out[i].Currency == out[j].Currency && out[i].Interval < out[j].Interval
	})
	return out, nil
}

// Day is t's day (UTC), at midnight.
func Day(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// MandateMoney is where one mandate's money stands.
type MandateMoney struct {
	// Paid is what its payments collected less what was refunded, per
	// currency (one, unless the plan's currency changed).
	Paid []payments.Money
	// NextDueAt is when its next payment is due (zero: none is), and
	// Next its price then.
	NextDueAt time.Time
	Next      Price
}

// MandatesMoney reads the money of the mandates ids (a page of the list,
// or one mandate's page) in three indexed queries, whatever their number:
// their charges (charges_mandate), billing and prices (by key).
func (s *Store) MandatesMoney(ctx context.Context, ids []string) (map[string]MandateMoney, error) {
	out := make(map[string]MandateMoney, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	in := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ") + ")"
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := s.db.QueryContext(ctx, `SELECT mandate_id, currency, CAST(sum(amount - refunded) AS BIGINT) FROM charges
		WHERE mandate_id IN `+in+` AND status IN `+collectedStatuses+` GROUP BY mandate_id, currency ORDER BY mandate_id, currency`, args...)
	if err != nil {
		return nil, fmt.Errorf("money of mandates: paid: %w", err)
	}
	err = eachRow(rows, func(scan func(...any) error) error {
		var id string
		var m payments.Money
		if err := scan(&id, &m.Currency, &m.Amount); err != nil {
			return err
		}
		mm := out[id]
		mm.Paid = append(mm.Paid, m)
		out[id] = mm
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("money of mandates: paid: %w", err)
	}

	// The next payment: billing's due time, at the price in effect then.
	signed := map[string]payments.Money{}
	rows, err = s.db.QueryContext(ctx, `SELECT b.mandate_id, b.next_due_at, m.amount, m.currency FROM billing b JOIN mandates m ON m.id = b.mandate_id
		WHERE b.mandate_id IN `+in+` AND b.state IN ('active', 'past_due') AND m.status = 'active'`, args...)
	if err != nil {
		return nil, fmt.Errorf("money of mandates: next payment: %w", err)
	}
	err = eachRow(rows, func(scan func(...any) error) error {
		var id, due string
		var p payments.Money
		if err := scan(&id, &due, &p.Amount, &p.Currency); err != nil {
			return err
		}
		mm := out[id]
		mm.NextDueAt, mm.Next = parseTime(due), Price{Money: p}
		out[id], signed[id] = mm, p
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("money of mandates: next payment: %w", err)
	}
	if len(signed) == 0 {
		return out, nil
	}
	prices := map[string][]MandatePrice{}
	rows, err = s.db.QueryContext(ctx, `SELECT mandate_id, change_id, amount, currency, effective_at, ends_agreement FROM mandate_prices
		WHERE mandate_id IN `+in+` ORDER BY mandate_id, effective_at, change_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("money of mandates: prices: %w", err)
	}
	err = eachRow(rows, func(scan func(...any) error) error {
		var id, eff string
		var p MandatePrice
		var ends int
		if err := scan(&id, &p.ChangeID, &p.Price.Amount, &p.Price.Currency, &eff, &ends); err != nil {
			return err
		}
		p.EffectiveAt, p.EndsAgreement = parseTime(eff), ends == 1
		prices[id] = append(prices[id], p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("money of mandates: prices: %w", err)
	}
	for id, p := range signed {
		mm := out[id]
		mm.Next = PriceOn(p, prices[id], mm.NextDueAt)
		out[id] = mm
	}
	return out, nil
}

// eachRow calls fn with each row's Scan, then closes rows and reports
// their error.
func eachRow(rows interface {
	Next() bool
	Scan(...any) error
	Err() error
	Close() error
}, fn func(scan func(...any) error) error) error {
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

package handlers

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"example.com/storefront/payments"
	"example.com/storefront/store"
	"example.com/storefront/views"
)

const (
	// moneyDefaultDays is the range the money view opens on.
	moneyDefaultDays = 30
	// moneyMaxDays bounds a range: two years of daily rows per kind.
	moneyMaxDays = 731
	// moneyDailyUpTo is the longest range charted by day; longer ones are
	// charted by week (at most about 105 bars).
	moneyDailyUpTo = 62
)

// recurringNote says how the recurring revenue makes each interval a month.
const recurringNote = "Each active mandate counts at its price in effect today (a scheduled price change counts once it takes effect). " +
	"Other intervals are made monthly: a year is 12 months, a month 365/12 days (30.42), so a week counts 4.35 times and a day 30.42 times."

// adminMoney is the money view of a range of days on the billing clock
// (the demo clock in a demo): from and to are the first and last day,
// both included; the last 30 days by default.
func (h *handler) adminMoney(w http.ResponseWriter, r *http.Request) error {
	today := store.Day(h.now())
	page := views.AdminMoney{AdminChrome: h.adminChrome(r, "Money"), RecurringNote: recurringNote}
	from, to, problem := moneyRange(r.URL.Query().Get("from"), r.URL.Query().Get("to"), today)
	page.Error = problem
	page.From, page.To = from.Format(time.DateOnly), to.Format(time.DateOnly)
	days := int(to.Sub(from).Hours()/24) + 1
	page.Range = from.Format("2 Jan 2006") + " – " + to.Format("2 Jan 2006") + " (" + strconv.Itoa(days) + " days, UTC)"
	for _, n := range []int{7, 30, 90, 365} {
		page.Presets = append(page.Presets, views.Option{Label: "Last " + strconv.Itoa(n) + " days",
			Value: "/admin/money?from=" + today.AddDate(0, 0, 1-n).Format(time.DateOnly) + "&to=" + today.Format(time.DateOnly)})
	}

	m, err := h.store.Money(r.Context(), from, to.AddDate(0, 0, 1))
	if err != nil {
		return err
	}
	page.New, page.Revoked, page.Ended = m.New, m.Revoked, m.Ended
	for _, t := range m.Totals {
		page.Currencies = append(page.Currencies, moneyCurrency(t, m.Days, from, to))
	}
	for _, rec := range m.Recurring {
		adverb := rec.Interval.Adverb()
		page.Recurring = append(page.Recurring, views.RecurringView{Currency: rec.Currency, Interval: string(rec.Interval),
			Plans:       strings.ToUpper(adverb[:1]) + adverb[1:] + " plans, " + rec.Currency,
			Mandates:    rec.Mandates,
			PerInterval: groupedMoney(payments.Money{Amount: rec.PerInterval, Currency: rec.Currency}) + " a " + string(rec.Interval),
			PerMonth:    groupedMoney(payments.Money{Amount: rec.PerMonth(), Currency: rec.Currency})})
	}
	h.render(w, r, http.StatusOK, views.AdminMoneyPage(page))
	return nil
}

// moneyRange reads the form's days; a missing, unreadable, reversed or
// too long range is the default one, with the reason.
func moneyRange(fromS, toS string, today time.Time) (from, to time.Time, problem string) {
	defFrom, defTo := today.AddDate(0, 0, 1-moneyDefaultDays), today
	if fromS == "" && toS == "" {
		return defFrom, defTo, ""
	}
	from, errF := time.Parse(time.DateOnly, strings.TrimSpace(fromS))
	to, errT := time.Parse(time.DateOnly, strings.TrimSpace(toS))
	switch {
	case errF != nil || errT != nil:
		return defFrom, defTo, "The dates could not be read (they are YYYY-MM-DD); here are the last 30 days."
	case to.Before(from):
		return defFrom, defTo, "The range ends before it starts; here are the last 30 days."
	case to.Sub(from) >= moneyMaxDays*24*time.Hour:
		return defFrom, defTo, "A range is at most two years; here are the last 30 days."
	}
	return from, to, ""
}

// moneyCurrency is one currency's totals, buckets and chart over the days
// from … to.
func moneyCurrency(t store.MoneyTotals, days []store.MoneyDay, from, to time.Time) views.MoneyCurrency {
	money := func(a int64) string { return groupedMoney(payments.Money{Amount: a, Currency: t.Currency}) }
	c := views.MoneyCurrency{Currency: t.Currency,
		Collected: money(t.Collected), Refunded: money(t.Refunded), Failed: money(t.Failed), Disputed: money(t.Disputed),
		CollectedN: t.CollectedN, RefundedN: t.RefundedN, FailedN: t.FailedN, DisputedN: t.DisputedN,
		Net: money(t.Collected - t.Refunded), Bucket: "Day"}
	// Every bucket of the range, so that the chart's gaps are days
	// without payments; a week starts on Monday.
	weekly := to.Sub(from) >= moneyDailyUpTo*24*time.Hour
	start := func(d time.Time) time.Time {
		if weekly {
			return d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7))
		}
		return d
	}
	type sums struct {
		collected, failed, refunded, disputed int64
		collectedN, failedN                   int
	}
	var keys []time.Time
	by := map[time.Time]*sums{}
	step := 1
	if weekly {
		c.Bucket, step = "Week", 7
	}
	for d := start(from); !d.After(to); d = d.AddDate(0, 0, step) {
		keys = append(keys, d)
		by[d] = &sums{}
	}
	for _, d := range days {
		s := by[start(d.Day)]
		if d.Currency != t.Currency || s == nil {
			continue
		}
		s.collected, s.collectedN = s.collected+d.Collected, s.collectedN+d.CollectedN
		s.failed, s.failedN = s.failed+d.Failed, s.failedN+d.FailedN
		s.refunded, s.disputed = s.refunded+d.Refunded, s.disputed+d.Disputed
	}
	major := func(a int64) string {
		return strings.TrimSuffix(groupedMoney(payments.Money{Amount: a, Currency: t.Currency}), " "+t.Currency)
	}
	var peak int64
	vals := make([][2]int64, len(keys)) // collected, failed count
	for i, k := range keys {
		s := by[k]
		label := k.Format("2 Jan")
		if weekly {
			label = "week of " + label
		}
		c.Buckets = append(c.Buckets, views.MoneyBucket{Label: label, Collected: major(s.collected), CollectedN: s.collectedN,
			Failed: major(s.failed), FailedN: s.failedN, Refunded: major(s.refunded), Disputed: major(s.disputed),
			Active: s.collectedN+s.failedN > 0 || s.refunded != 0 || s.disputed != 0})
		peak, vals[i] = max(peak, s.collected), [2]int64{s.collected, int64(s.failedN)}
	}
	c.Chart = moneyChart(t.Currency, c.Bucket, keys, vals, peak)
	return c
}

// moneyChart draws the collected amount of each bucket as a bar, on a
// value axis with three labelled lines (0, half and a round top) and a
// time axis labelled at its first, middle and last bucket. A bucket with
// failed payments has a dot under its bar.
func moneyChart(currency, bucket string, keys []time.Time, vals [][2]int64, peak int64) views.Chart {
	// A narrow viewBox keeps the labels legible when a phone scales it down.
	ch := views.Chart{Width: 480, Height: 240, Left: 60, Top: 14, Right: 470, Bottom: 196}
	ch.Title = "Collected per " + strings.ToLower(bucket) + ", " + currency
	top := niceCeil(peak)
	ch.Desc = "Bar chart of the amount collected each " + strings.ToLower(bucket) + " from " + keys[0].Format("2 Jan 2006") +
		" to " + keys[len(keys)-1].Format("2 Jan 2006") + ", up to " + groupedMoney(payments.Money{Amount: peak, Currency: currency}) +
		". The table below holds the same numbers."
	for _, f := range []int64{0, 1, 2} {
		v := top * f / 2
		ch.YTicks = append(ch.YTicks, views.ChartTick{Pos: ch.Bottom - int(int64(ch.Bottom-ch.Top)*f/2),
			Label: strings.TrimSuffix(groupedMoney(payments.Money{Amount: v, Currency: currency}), " "+currency)})
	}
	slot := float64(ch.Right-ch.Left) / float64(len(keys))
	w := max(int(slot*0.7), 1)
	for i, k := range keys {
		x := ch.Left + int(slot*float64(i)+slot*0.15)
		h := int(float64(vals[i][0]) / float64(top) * float64(ch.Bottom-ch.Top))
		label := k.Format("2 Jan") + ": " + groupedMoney(payments.Money{Amount: vals[i][0], Currency: currency}) + " collected"
		if vals[i][1] > 0 {
			label += ", " + strconv.FormatInt(vals[i][1], 10) + " failed"
		}
		ch.Bars = append(ch.Bars, views.ChartBar{X: x, Y: ch.Bottom - h, W: w, H: h, Label: label, Failed: vals[i][1] > 0})
	}
	for _, i := range []int{0, len(keys) / 2, len(keys) - 1} {
		if len(ch.XTicks) > 0 && ch.XTicks[len(ch.XTicks)-1].Pos == ch.Bars[i].X+w/2 {
			continue
		}
		ch.XTicks = append(ch.XTicks, views.ChartTick{Pos: ch.Bars[i].X + w/2, Label: keys[i].Format("2 Jan")})
	}
	return ch
}

// niceCeil is the value axis' top: max rounded up to 1, 2 or 5 times a
// power of ten (of minor units), and never 0.
func niceCeil(peak int64) int64 {
	if peak <= 0 {
		return 100
	}
	p := int64(1)
	for p*10 <= peak {
		p *= 10
	}
	for _, m := range []int64{1, 2, 5, 10} {
		if m*p >= peak {
			return m * p
		}
	}
	return 10 * p
}

// groupedMoney is m as "1,234.50 USD": thousands grouped for reading.
func groupedMoney(m payments.Money) string {
	s := m.String()
	num, cur, _ := strings.Cut(s, " ")
	neg := strings.HasPrefix(num, "-")
	num = strings.TrimPrefix(num, "-")
	whole, frac, hasFrac := strings.Cut(num, ".")
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	out := b.String()
	if hasFrac {
		out += "." + frac
	}
	if neg {
		out = "-" + out
	}
	return out + " " + cur
}

// rowMoney is a mandate's paid to date and next payment, for the list and
// its page.
func rowMoney(mm store.MandateMoney) views.RowMoney {
	var v views.RowMoney
	var paid []string
	for _, p := range mm.Paid {
		paid = append(paid, groupedMoney(p))
	}
	v.Paid = strings.Join(paid, " + ")
	if !mm.NextDueAt.IsZero() {
		v.Next = groupedMoney(mm.Next.Money) + " on " + mm.NextDueAt.UTC().Format("2 Jan 2006")
		v.NewPrice = mm.Next.ChangeID != 0
	}
	return v
}

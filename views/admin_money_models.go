package views

// AdminMoney is the money view: the range's totals, the chart and its
// table, recurring revenue and the mandates' comings and goings.
type AdminMoney struct {
	AdminChrome
	// From and To are the range's first and last day as typed
	// (YYYY-MM-DD); Range says it in words.
	From, To string
	Range    string
	Error    string // a range that could not be used
	// Totals and charts, one per currency: amounts in different
	// currencies are never added together.
	Currencies []MoneyCurrency
	Recurring  []RecurringView
	// RecurringNote says how intervals are made monthly.
	RecurringNote       string
	New, Revoked, Ended int
	// Presets are quick ranges (the last 7, 30, 90 days, …).
	Presets []Option
}

// MoneyCurrency is the range's figures in one currency.
type MoneyCurrency struct {
	Currency string
	// Totals are formatted amounts ("1,234.00 USD") with their counts.
	Collected, Refunded, Failed, Disputed     string
	CollectedN, RefundedN, FailedN, DisputedN int
	// Net is collected less refunded.
	Net string
	// Bucket is "Day" or "Week"; Buckets the chart's and table's rows,
	// oldest first, every bucket of the range (empty ones too).
	Bucket  string
	Buckets []MoneyBucket
	Chart   Chart
}

// MoneyBucket is one day's or week's payments, amounts in major units.
type MoneyBucket struct {
	Label                       string // "3 Feb" or "week of 3 Feb"
	Collected, Failed, Refunded string
	Disputed                    string
	CollectedN, FailedN         int
	// Active: anything happened in it (the table lists only those).
	Active bool
}

// Chart is a server-drawn bar chart of the collected amounts. Coordinates
// are in the SVG's viewBox (Width × Height).
type Chart struct {
	Title, Desc   string
	Width, Height int
	Bars          []ChartBar
	// YTicks are the value axis' labelled lines; XTicks the labelled days.
	YTicks []ChartTick
	XTicks []ChartTick
	// Plot is the plotting area: left, top, right, bottom.
	Left, Top, Right, Bottom int
}

// ChartBar is one bucket's bar; Failed marks a bucket with a failed
// payment (a dot under the axis).
type ChartBar struct {
	X, Y, W, H int
	Label      string // "3 Feb: 120.00 USD collected, 1 failed"
	Failed     bool
}

// ChartTick is a labelled position on an axis.
type ChartTick struct {
	Pos   int
	Label string
}

// RecurringView is the recurring revenue of one plan interval and
// currency.
type RecurringView struct {
	Currency    string
	Interval    string // "month", "week", …
	Plans       string // "Monthly plans, USD"
	Mandates    int
	PerInterval string // "2,700.00 USD a month"
	PerMonth    string
}

// RowMoney is a mandate's money on the list and its page.
type RowMoney struct {
	Paid string // "17.00 USD", "" when nothing was paid
	// Next is its next payment ("15.00 USD on 1 Mar 2027"), "" when none
	// is due; NewPrice marks a price changed since the shopper signed up.
	Next     string
	NewPrice bool
}

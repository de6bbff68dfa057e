// Package billing is the plan's schedule and its retries: when each period
// of an active mandate is due, and when a declined payment is tried again.
// It only computes; the store keeps the billing state and the worker
// charges.
package billing

import (
	"fmt"
	"strings"
	"time"

	"example.com/storefront/payments"
)

// Due is when period n (1 is the first) of a plan anchored at anchor is
// due: n-1 intervals after the anchor, in UTC, on the same day of the
// interval. A month or year that lacks the anchor's day takes its last day
// instead (31 January, then 28 or 29 February, then 31 March), and every
// period is counted from the anchor, never from the previous period, so
// the schedule never drifts.
func Due(anchor time.Time, interval payments.Interval, n int) time.Time {
	a := anchor.UTC()
	k := n - 1
	switch interval {
	case payments.Day:
		return a.AddDate(0, 0, k)
	case payments.Week:
		return a.AddDate(0, 0, 7*k)
	case payments.Year:
		return addMonths(a, 12*k)
	default: // month
		return addMonths(a, k)
	}
}

// addMonths adds k months to t, clamping the day to the end of a shorter
// month (time.AddDate would overflow into the next month instead).
func addMonths(t time.Time, k int) time.Time {
	y, m, d := t.Date()
	first := time.Date(y, m+time.Month(k), 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	return first.AddDate(0, 0, min(d, last)-1)
}

// DefaultRetries are the waits, from a period's due time, before its
// retries after a declined payment: after 1, 3 and 5 days.
var DefaultRetries = []time.Duration{24 * time.Hour, 72 * time.Hour, 120 * time.Hour}

// Retry says what follows a declined attempt of a period due at due, after
// failures declines in all: the next try's time, or ended when the
// schedule is used up (the subscription ends for non-payment).
func Retry(due time.Time, failures int, schedule []time.Duration) (next time.Time, ended bool) {
	if failures > len(schedule) {
		return time.Time{}, true
	}
	return due.Add(schedule[failures-1]), false
}

// ParseRetries reads a retry schedule such as "1d,3d,5d" or "24h,72h".
func ParseRetries(s string) ([]time.Duration, error) {
	var out []time.Duration
	var prev time.Duration
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		var d time.Duration
		var err error
		if days, ok := strings.CutSuffix(part, "d"); ok {
			var n int
			if _, err = fmt.Sscanf(days, "%d", &n); err == nil && fmt.Sprint(n) == days {
				d = time.Duration(n) * 24 * time.Hour
			} else {
				err = fmt.Errorf("%q is not a number of days", part)
			}
		} else {
			d, err = time.ParseDuration(part)
		}
		if err != nil {
			return nil, fmt.Errorf("retry %q: not a duration such as 1d or 36h", part)
		}
		if d <= prev {
			return nil, fmt.Errorf("retry %q: each retry must come after the one before", part)
		}
		out, prev = append(out, d), d
	}
	if len(out) > 10 {
		return nil, fmt.Errorf("at most 10 retries")
	}
	return out, nil
}

// Step is how far "advance one period" moves the demo clock from now: one
// plan interval, so that every press brings each mandate's next payment.
// Usually that is the same day and time one interval on. Where months
// differ in length it lands at the end of a month's last day: from a
// month's last day (28 February to 31 March, not 28 March, which would fall
// short of a payment due on the 29th, 30th or 31st), and when the day does
// not exist one interval on (30 January to the end of 28 February, where a
// payment anchored on the 28th at a later hour is due too).
func Step(now time.Time, interval payments.Interval) time.Duration {
	now = now.UTC()
	next := Due(now, interval, 2)
	if interval != payments.Month && interval != payments.Year {
		return next.Sub(now)
	}
	lastDay := now.AddDate(0, 0, 1).Day() == 1
	if !lastDay && next.Day() == now.Day() {
		return next.Sub(now)
	}
	y, m, _ := next.Date()
	end := time.Date(y, m+1, 1, 0, 0, 0, 0, time.UTC).Add(-time.Nanosecond) // the end of next's month
	return end.Sub(now)
}

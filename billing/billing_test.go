package billing

import (
	"testing"
	"time"

	"example.com/storefront/payments"
)

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 9, 30, 0, 0, time.UTC) }

// Month ends clamp and never drift: 31 January, then the end of February
// (29th in a leap year), then 31 March again.
func TestDueMonthEndsAndLeapYears(t *testing.T) {
	for _, tc := range []struct {
		anchor time.Time
		want   []time.Time // periods 1, 2, 3, …
	}{
		{date(2027, 1, 31), []time.Time{date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30), date(2027, 5, 31)}},
		{date(2028, 1, 31), []time.Time{date(2028, 1, 31), date(2028, 2, 29), date(2028, 3, 31)}},
		{date(2026, 12, 30), []time.Time{date(2026, 12, 30), date(2027, 1, 30), date(2027, 2, 28), date(2027, 3, 30)}},
		{date(2026, 11, 15), []time.Time{date(2026, 11, 15), date(2026, 12, 15), date(2027, 1, 15)}},
	} {
		for i, want := range tc.want {
			if got := Due(tc.anchor, payments.Month, i+1); !got.Equal(want) {
				t.Errorf("anchor %s, period %d: %s, want %s", tc.anchor.Format(time.DateOnly), i+1, got.Format(time.DateOnly), want.Format(time.DateOnly))
			}
		}
	}
}

func TestDueDayWeekYear(t *testing.T) {
	a := date(2028, 2, 29) // a leap day
	for _, tc := range []struct {
		interval payments.Interval
		n        int
		want     time.Time
	}{
		{payments.Day, 1, a},
		{payments.Day, 2, date(2028, 3, 1)},
		{payments.Day, 366, date(2029, 2, 28)},
		{payments.Week, 2, date(2028, 3, 7)},
		{payments.Week, 53, date(2029, 2, 27)}, // 364 days
		{payments.Year, 2, date(2029, 2, 28)},  // no 29 February: clamped
		{payments.Year, 5, date(2032, 2, 29)},  // a leap year again: back on the 29th
		{payments.Month, 13, date(2029, 2, 28)},
	} {
		if got := Due(a, tc.interval, tc.n); !got.Equal(tc.want) {
			t.Errorf("%s period %d: %s, want %s", tc.interval, tc.n, got.Format(time.DateOnly), tc.want.Format(time.DateOnly))
		}
	}
	// In UTC, whatever the anchor's zone: 31 January 22:00 in New York is
	// 1 February in UTC, so the next period is 1 March.
	ny, _ := time.LoadLocation("America/New_York")
	if got, want := Due(time.Date(2027, 1, 31, 22, 0, 0, 0, ny), payments.Month, 2), time.Date(2027, 3, 1, 3, 0, 0, 0, time.UTC); !got.Equal(want) || got.Location() != time.UTC {
		t.Errorf("zoned anchor: %s, want %s", got, want)
	}
}

func TestRetryScheduleAndItsEnd(t *testing.T) {
	due := date(2027, 3, 1)
	for failures, want := range map[int]time.Time{1: date(2027, 3, 2), 2: date(2027, 3, 4), 3: date(2027, 3, 6)} {
		next, ended := Retry(due, failures, DefaultRetries)
		if ended || !next.Equal(want) {
			t.Errorf("after %d failures: %s ended=%v, want %s", failures, next, ended, want)
		}
	}
	if _, ended := Retry(due, 4, DefaultRetries); !ended {
		t.Error("a fourth decline did not end the subscription")
	}
	s, err := ParseRetries("1d, 3d,5d")
	if err != nil || len(s) != 3 || s[2] != 120*time.Hour {
		t.Errorf("ParseRetries = %v, %v", s, err)
	}
	for _, bad := range []string{"", "1d,1d", "3d,1d", "x", "-1d", "1.5d"} {
		if _, err := ParseRetries(bad); err == nil {
			t.Errorf("ParseRetries(%q) accepted", bad)
		}
	}
}

func TestStepIsOneInterval(t *testing.T) {
	endOfDay := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 23, 59, 59, 999999999, time.UTC) }
	for _, c := range []struct {
		from     time.Time
		interval payments.Interval
		want     time.Time
	}{
		{date(2027, 1, 31), payments.Month, endOfDay(2027, 2, 28)},
		{date(2027, 2, 28), payments.Month, endOfDay(2027, 3, 31)}, // month end to month end
		{date(2027, 1, 30), payments.Month, endOfDay(2027, 2, 28)},
		{date(2027, 3, 15), payments.Month, date(2027, 4, 15)}, // the same day and time
		{date(2027, 4, 30), payments.Month, endOfDay(2027, 5, 31)},
		{endOfDay(2027, 3, 15), payments.Month, endOfDay(2027, 4, 15)},
		{date(2028, 2, 29), payments.Year, endOfDay(2029, 2, 28)},
		{date(2029, 2, 28), payments.Year, endOfDay(2030, 2, 28)},
		{date(2031, 2, 28), payments.Year, endOfDay(2032, 2, 29)},
		{date(2031, 6, 10), payments.Year, date(2032, 6, 10)},
		{date(2027, 1, 31), payments.Week, date(2027, 2, 7)},
		{date(2027, 1, 31), payments.Day, date(2027, 2, 1)},
	} {
		if got := c.from.Add(Step(c.from, c.interval)); !got.Equal(c.want) {
			t.Errorf("one %s from %s: %s, want %s", c.interval, c.from, got, c.want)
		}
	}
}

// Every press of "advance one period" brings each mandate's next payment,
// whatever day and time of day its schedule is anchored on, whenever the
// demo clock started from and however long the presenter waits between
// presses: no press leaves the dashboard with nothing new.
func TestEveryStepReachesTheNextPayment(t *testing.T) {
	const day = 24 * time.Hour
	for _, c := range []struct {
		interval    payments.Interval
		from, to    time.Time
		presses     int
		least, most time.Duration
	}{
		{payments.Month, date(2027, 1, 1), date(2029, 1, 1), 30, 27 * day, 32 * day},
		{payments.Year, date(2027, 1, 1), date(2029, 1, 1), 9, 364 * day, 367 * day},
		{payments.Week, date(2027, 1, 1), date(2027, 3, 1), 20, 7 * day, 7 * day},
	} {
		for anchor := c.from; anchor.Before(c.to); anchor = anchor.Add(day + 5*time.Hour) {
			// The clock starts when the mandate becomes active, or later,
			// at an earlier or a later time of day.
			for _, late := range []time.Duration{time.Second, 23 * time.Hour, 50 * time.Hour, 27*day + time.Hour, 30*day - time.Hour, 31*day - time.Hour, 45 * day} {
				clock, period := anchor.Add(late), 1
				for Due(anchor, c.interval, period+1).Compare(clock) <= 0 {
					period++
				}
				for press := 1; press <= c.presses; press++ {
					step := Step(clock, c.interval)
					if step < c.least-day || step > c.most {
						t.Fatalf("%s plan: a press from %s moves %s", c.interval, clock, step)
					}
					clock = clock.Add(step)
					before := period
					for Due(anchor, c.interval, period+1).Compare(clock) <= 0 {
						period++
					}
					if period == before {
						t.Fatalf("%s plan anchored %s, clock started %s later: press %d (to %s) brings no payment; the next is due %s",
							c.interval, anchor, late, press, clock, Due(anchor, c.interval, period+1))
					}
					// The presenter talks a while (up to half a day) before the next press.
					clock = clock.Add(time.Duration(press%4) * 4 * time.Hour)
				}
			}
		}
	}
}

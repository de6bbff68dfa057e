// Package clock is the storefront's notion of now: real time, plus, in an
// all-sandbox demo, an offset the presenter moves forward (a month in a
// click) so that billing and the sandbox see time pass together, like
// Stripe's test clocks. Outside a demo the offset is always zero.
package clock

import (
	"sync/atomic"
	"time"
)

// Clock is real time shifted by an adjustable offset. The zero value is
// real time. It is safe for concurrent use.
type Clock struct {
	offset atomic.Int64 // nanoseconds
	real   func() time.Time
}

// New returns a clock at real time; now, if not nil, replaces real time
// (tests).
func New(now func() time.Time) *Clock {
	return &Clock{real: now}
}

// Now is real time plus the offset.
func (c *Clock) Now() time.Time { return c.Real().Add(c.Offset()) }

// Real is the real time under the clock, whatever the offset: what leases
// and other waits between processes are measured on, since processes may
// briefly disagree about the offset but never about real time.
func (c *Clock) Real() time.Time {
	if c.real != nil {
		return c.real()
	}
	return time.Now()
}

// Offset is how far ahead of real time the clock runs.
func (c *Clock) Offset() time.Duration { return time.Duration(c.offset.Load()) }

// Set puts the clock d ahead of real time (d is never negative: time in a
// demo only moves forward, or back to real time).
func (c *Clock) Set(d time.Duration) { c.offset.Store(int64(max(d, 0))) }

// Advance moves the clock d further ahead of real time.
func (c *Clock) Advance(d time.Duration) { c.Set(c.Offset() + d) }

// Stopped returns a clock that stands at t until advanced: tests use it to
// step past due dates and expiry times deterministically.
func Stopped(t time.Time) *Clock {
	return New(func() time.Time { return t })
}

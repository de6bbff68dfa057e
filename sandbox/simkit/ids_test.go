package simkit

import (
	"strings"
	"testing"
	"time"
)

func TestNewIDKeepsTheShapeOfProviderIDs(t *testing.T) {
	for _, n := range []int{8, 14, 21, 24} {
		id := NewID("pi_", n)
		rest, ok := strings.CutPrefix(id, "pi_")
		if !ok || len(rest) != n {
			t.Fatalf("NewID(pi_, %d) = %q: want the prefix and %d characters", n, id, n)
		}
		if strings.Trim(rest, idAlphabet) != "" {
			t.Errorf("NewID(pi_, %d) = %q: not alphanumeric", n, id)
		}
	}
}

func TestNewIDsSortByTimeAndStayUnique(t *testing.T) {
	seen := map[string]bool{}
	var last string
	for range 20_000 {
		id := NewID("evt_", 24)
		if seen[id] {
			t.Fatalf("%q made twice", id)
		}
		seen[id] = true
		if last != "" && id[:4+timeDigits] < last[:4+timeDigits] {
			t.Fatalf("%q made after %q sorts before it", id, last)
		}
		last = id
	}
	// Ids of later milliseconds sort after earlier ones, whatever their
	// random part: that is what puts a transaction's inserts on an index's
	// last pages.
	t0 := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for _, d := range []time.Duration{time.Millisecond, time.Second, 24 * time.Hour, 50 * 365 * 24 * time.Hour} {
		if a, b := timeAlnum(t0), timeAlnum(t0.Add(d)); a >= b {
			t.Errorf("timeAlnum(%s) = %q, not before timeAlnum(+%s) = %q", t0, a, d, b)
		}
	}
	// The random part is what tells apart ids of one millisecond.
	a, b := NewID("ch_", 24), NewID("ch_", 24)
	if a[3+timeDigits:] == b[3+timeDigits:] {
		t.Errorf("two ids share their random part: %q %q", a, b)
	}
}

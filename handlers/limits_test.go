package handlers

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

// The limiter's own rules, without HTTP: what a flood of addresses or a
// walk through an IPv6 network can do to a client's limit.

// The limits here: ten checkouts a minute, in a burst of ten. (Failed
// logins are counted in the database: store.TakeLoginAttempt.)
var tenAMinute = Limits{PerMinute: 10}

// lockOut spends a client's ten checkouts: the eleventh is refused.
func lockOut(t *testing.T, ls *limiters, client string, now time.Time) {
	t.Helper()
	for i := range 10 {
		if ok, _, _ := ls.take("checkout", client, now); !ok {
			t.Fatalf("attempt %d of %s refused", i+1, client)
		}
	}
	if ok, _, _ := ls.take("checkout", client, now); ok {
		t.Fatalf("an eleventh attempt of %s allowed", client)
	}
}

func TestLimiterKeepsLockedOutClientsThroughAFlood(t *testing.T) {
	t.Parallel()
	ls := newLimiters(tenAMinute)
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	lockOut(t, ls, "203.0.113.7", now)
	// 200,000 spoofed addresses, each trying once, within a minute.
	for i := range 200_000 {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		at := now.Add(time.Duration(i) * 250 * time.Microsecond)
		ls.take("checkout", a.String(), at)
		ls.take("webhook", a.String(), at)
	}
	if n := len(ls.buckets); n > 2*maxBuckets {
		t.Errorf("%d buckets after the flood, want at most %d", n, 2*maxBuckets)
	}
	if ok, _, _ := ls.take("checkout", "203.0.113.7", now.Add(time.Second)); ok {
		t.Error("the flood gave a locked-out client its attempts back")
	}
}

func TestLimiterMemoryIsBounded(t *testing.T) {
	t.Parallel()
	ls := newLimiters(tenAMinute)
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	// Clients that lock themselves out, and clients that try once: both
	// kinds are bounded.
	for i := range 3 * maxBuckets {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}).String()
		n := 1
		if i%2 == 0 {
			n = 11
		}
		for range n {
			ls.take("checkout", a, now)
		}
		if len(ls.buckets) > 2*maxBuckets {
			t.Fatalf("%d buckets after %d clients, want at most %d", len(ls.buckets), i+1, 2*maxBuckets)
		}
	}
	// Idle buckets are forgotten: after a minute they are full again.
	ls.take("checkout", "192.0.2.1", now.Add(16*time.Minute))
	if n := len(ls.buckets); n != 1 {
		t.Errorf("%d buckets after everyone went idle, want 1", n)
	}
}

func TestLimiterKeysIPv6ClientsPerSlash64(t *testing.T) {
	t.Parallel()
	ls := newLimiters(tenAMinute)
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for i := range 10 {
		// A fresh address of one /64 each time: still one client.
		if ok, _, _ := ls.take("checkout", fmt.Sprintf("2001:db8:1:2::%x", i+1), now); !ok {
			t.Fatalf("attempt %d refused", i+1)
		}
	}
	if ok, _, _ := ls.take("checkout", "2001:db8:1:2:ffff:ffff:ffff:ffff", now); ok {
		t.Error("another address of the same /64 got an eleventh attempt")
	}
	if ok, _, _ := ls.take("checkout", "2001:db8:1:3::1", now); !ok {
		t.Error("the next /64 is another client, and was refused")
	}
	// IPv4 stays per address, also written as IPv4-mapped IPv6.
	lockOut(t, ls, "192.0.2.1", now)
	if ok, _, _ := ls.take("checkout", "192.0.2.2", now); !ok {
		t.Error("a neighbouring IPv4 address was refused")
	}
	if ok, _, _ := ls.take("checkout", "::ffff:192.0.2.1", now); ok {
		t.Error("a locked-out IPv4 address written as IPv4-mapped IPv6 got another attempt")
	}
}

package service

import (
	"sync"
	"time"
)

// objectLimiter allows one action per key per interval, remembering at most
// max keys (the oldest are forgotten first), so that its memory is bounded
// however many keys a flood of events names.
type objectLimiter struct {
	mu       sync.Mutex
	interval time.Duration
	max      int
	last     map[string]time.Time
}

func newObjectLimiter(interval time.Duration, max int) *objectLimiter {
	return &objectLimiter{interval: interval, max: max, last: map[string]time.Time{}}
}

// allow reports whether key may act now, and when it may if not.
func (l *objectLimiter) allow(key string, now time.Time) (bool, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t, ok := l.last[key]; ok && now.Sub(t) < l.interval {
		return false, t.Add(l.interval)
	}
	if len(l.last) >= l.max {
		for k, t := range l.last {
			if now.Sub(t) >= l.interval {
				delete(l.last, k)
			}
		}
		if len(l.last) >= l.max { // all recent: forget an arbitrary one
			for k := range l.last {
				delete(l.last, k)
				break
			}
		}
	}
	l.last[key] = now
	return true, time.Time{}
}

// budget allows perMinute actions a minute overall, whatever they are about
// (a token bucket, refilled continuously, that starts full).
type budget struct {
	mu        sync.Mutex
	perMinute int
	tokens    float64
	at        time.Time
}

func newBudget(perMinute int) *budget {
	return &budget{perMinute: perMinute, tokens: float64(perMinute)}
}

// take spends one action at now, if there is one left.
func (b *budget) take(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if d := now.Sub(b.at); d > 0 {
		if !b.at.IsZero() {
			b.tokens = min(b.tokens+d.Minutes()*float64(b.perMinute), float64(b.perMinute))
		}
		b.at = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

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

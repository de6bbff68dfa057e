package handlers

import (
	"container/list"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Limits are the per-client request limits.
type Limits struct {
	// PerMinute is how many requests a client may make per minute to each
	// limited group of routes (checkout, return pages, the shopper's
	// actions); webhooks get ten times as many, since a provider delivers
	// in bursts from few addresses. 0 switches the limits off (for a load
	// test).
	PerMinute int
	// LoginFailures is how many failed admin logins a client may make per
	// 15 minutes (loginWindow), counted in the database across every
	// instance; 0 means 5.
	LoginFailures int
}

// limiters holds one token bucket per client and group. Its memory is
// bounded without letting a flood of (spoofed) addresses wipe what it
// knows: buckets live in two recency lists, and only the oldest of each is
// forgotten when the list is full. A client that has run out of tokens is
// in the "limited" list, which a flood of one-off addresses never enters,
// so it stays limited however many others come; forgetting a client that
// still has tokens gives it no more than the flood's own addresses get.
type limiters struct {
	perMinute int
	max       int // buckets per list
	mu        sync.Mutex
	buckets   map[string]*bucket
	fresh     *list.List // of *bucket, the most recently used first
	limited   *list.List
	lastPrune time.Time
}

// bucket is a token bucket that can take a token back, which
// golang.org/x/time/rate cannot once a reservation's time has passed.
type bucket struct {
	key     string
	tokens  float64
	at      time.Time // when tokens was last brought up to date
	limited bool      // out of tokens: kept in the limited list
	elem    *list.Element
}

// loginWindow is the window failed admin logins are counted in.
const loginWindow = 15 * time.Minute

// maxBuckets bounds each of the two lists: at most 2×maxBuckets buckets,
// some tens of megabytes at worst.
const maxBuckets = 100_000

func newLimiters(l Limits) *limiters {
	return &limiters{perMinute: l.PerMinute, max: maxBuckets,
		buckets: map[string]*bucket{}, fresh: list.New(), limited: list.New()}
}

// allow takes a token for client in group; when there is none it says how
// long until there is.
func (ls *limiters) allow(group, client string, now time.Time) (bool, time.Duration) {
	ok, wait, _ := ls.take(group, client, now)
	return ok, wait
}

// take is allow that can give the token back (a correct password costs no
// attempt): taken first, a token bounds how many tries run at once, which
// a check made before a slow request body arrives does not.
func (ls *limiters) take(group, client string, now time.Time) (ok bool, wait time.Duration, giveBack func()) {
	var perSec float64
	var burst int
	switch group {
	case "webhook":
		if ls.perMinute <= 0 {
			return true, 0, func() {}
		}
		perSec, burst = float64(ls.perMinute*10)/60, ls.perMinute*10
	default:
		if ls.perMinute <= 0 {
			return true, 0, func() {}
		}
		perSec, burst = float64(ls.perMinute)/60, max(ls.perMinute/2, 10)
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.prune(now)
	key := group + "|" + clientKey(client)
	b := ls.buckets[key]
	if b == nil {
		b = &bucket{key: key, tokens: float64(burst), at: now}
		b.elem = ls.fresh.PushFront(b)
		ls.buckets[key] = b
	}
	b.refill(now, perSec, burst)
	if b.tokens < 1 {
		ls.place(b, true)
		return false, time.Duration((1 - b.tokens) / perSec * float64(time.Second)), func() {}
	}
	b.tokens--
	ls.place(b, b.tokens < 1)
	ls.evict()
	return true, 0, func() {
		ls.mu.Lock()
		defer ls.mu.Unlock()
		if ls.buckets[key] == b { // not forgotten meanwhile
			b.refill(time.Now(), perSec, burst)
			b.tokens = min(b.tokens+1, float64(burst))
			ls.place(b, b.tokens < 1)
		}
	}
}

func (b *bucket) refill(now time.Time, perSec float64, burst int) {
	if d := now.Sub(b.at); d > 0 {
		b.tokens = min(b.tokens+d.Seconds()*perSec, float64(burst))
		b.at = now
	}
}

// place moves b to the front of its list, the limited one if it is out of
// tokens.
func (ls *limiters) place(b *bucket, limited bool) {
	if b.limited == limited {
		l := ls.fresh
		if limited {
			l = ls.limited
		}
		l.MoveToFront(b.elem)
		return
	}
	if b.limited {
		ls.limited.Remove(b.elem)
		b.elem = ls.fresh.PushFront(b)
	} else {
		ls.fresh.Remove(b.elem)
		b.elem = ls.limited.PushFront(b)
	}
	b.limited = limited
}

// evict forgets the least recently used buckets of a list that has grown
// past its bound.
func (ls *limiters) evict() {
	for _, l := range []*list.List{ls.fresh, ls.limited} {
		for l.Len() > ls.max {
			b := l.Remove(l.Back()).(*bucket)
			delete(ls.buckets, b.key)
		}
	}
}

// prune forgets, once a minute, the buckets that have been idle for 15
// minutes: every group's bucket is full again by then, as a new one is.
func (ls *limiters) prune(now time.Time) {
	if now.Sub(ls.lastPrune) < time.Minute {
		return
	}
	ls.lastPrune = now
	for _, l := range []*list.List{ls.fresh, ls.limited} {
		for e := l.Back(); e != nil; {
			b := e.Value.(*bucket)
			if now.Sub(b.at) <= 15*time.Minute {
				break // the rest were used more recently
			}
			prev := e.Prev()
			l.Remove(e)
			delete(ls.buckets, b.key)
			e = prev
		}
	}
}

// clientKey is what a client is limited as: its address, or for IPv6 its
// /64, the smallest network a host is given (RFC 6177), whose 2^64
// addresses would otherwise each be a new client.
func clientKey(client string) string {
	a, err := netip.ParseAddr(client)
	if err != nil {
		return client
	}
	if a = a.Unmap(); a.Is4() {
		return a.String()
	}
	p, err := a.WithZone("").Prefix(64)
	if err != nil {
		return client
	}
	return p.String()
}

// limit refuses a client over its limit for group with 429 and
// Retry-After.
func (h *handler) limit(group string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ok, wait := h.limits.allow(group, h.clientIP(r), time.Now()); !ok {
			tooManyRequests(w, r, wait, h)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func tooManyRequests(w http.ResponseWriter, r *http.Request, wait time.Duration, h *handler) {
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
	if strings.HasPrefix(r.URL.Path, "/webhooks/") {
		http.Error(w, "too many requests", http.StatusTooManyRequests)
		return
	}
	h.fail(w, r, &pageError{Status: http.StatusTooManyRequests, Heading: "Too many requests",
		Message: "You sent many requests in a short time. Please wait a minute and try again. Nothing was charged."})
}

// clientIP is the connection's address, or, when the connection comes from
// a trusted proxy, the last address in X-Forwarded-For that is not itself
// a trusted proxy (the one the proxy saw).
func (h *handler) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil || !h.trusted(addr) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // garbage: believe no further
		}
		if !h.trusted(a) {
			return a.Unmap().String()
		}
	}
	return host
}

func (h *handler) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range h.trustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

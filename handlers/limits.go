package handlers

import (
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
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
	// 15 minutes; 0 means 5.
	LoginFailures int
}

// limiters holds one token bucket per client and group.
type limiters struct {
	perMinute int
	login     int
	mu        sync.Mutex
	buckets   map[string]*bucket
	lastPrune time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// maxBuckets bounds the memory a flood of client addresses can take.
const maxBuckets = 100_000

func newLimiters(l Limits) *limiters {
	if l.LoginFailures <= 0 {
		l.LoginFailures = 5
	}
	return &limiters{perMinute: l.PerMinute, login: l.LoginFailures, buckets: map[string]*bucket{}}
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
	var r rate.Limit
	var burst int
	switch group {
	case "login":
		r, burst = rate.Limit(float64(ls.login)/(15*60)), ls.login
	case "webhook":
		if ls.perMinute <= 0 {
			return true, 0, func() {}
		}
		r, burst = rate.Limit(float64(ls.perMinute*10)/60), ls.perMinute*10
	default:
		if ls.perMinute <= 0 {
			return true, 0, func() {}
		}
		r, burst = rate.Limit(float64(ls.perMinute)/60), max(ls.perMinute/2, 10)
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.prune(now)
	key := group + "|" + client
	b, ok := ls.buckets[key]
	if !ok {
		b = &bucket{lim: rate.NewLimiter(r, burst)}
		ls.buckets[key] = b
	}
	b.seen = now
	res := b.lim.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return false, d, func() {}
	}
	return true, 0, func() { res.CancelAt(time.Now()) }
}

// prune forgets idle clients now and then, and drops everything when a
// flood of addresses would grow the map past its bound.
func (ls *limiters) prune(now time.Time) {
	if now.Sub(ls.lastPrune) < time.Minute && len(ls.buckets) < maxBuckets {
		return
	}
	ls.lastPrune = now
	for k, b := range ls.buckets {
		if now.Sub(b.seen) > 15*time.Minute {
			delete(ls.buckets, k)
		}
	}
	if len(ls.buckets) >= maxBuckets {
		clear(ls.buckets)
	}
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

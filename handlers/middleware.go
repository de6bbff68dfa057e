package handlers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

type ctxKey int

const requestIDKey ctxKey = iota

// RequestID returns the id RequestLog gave the request, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// RequestLog gives every request an id (the X-Request-Id response header,
// shown on error pages) and logs one line per request when it is done.
func RequestLog(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		// Unique enough to find a request in the logs; not a secret.
		id := strconv.FormatUint(rand.Uint64(), 16)
		w.Header().Set("X-Request-Id", id)
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), requestIDKey, id)))
		logger.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("request_id", id),
			slog.String("method", truncate(r.Method, 16)),
			slog.String("path", truncate(r.URL.Path, maxLogged)),
			slog.Int("status", rec.status),
			slog.Int64("bytes", rec.bytes),
			slog.Duration("duration", time.Since(start)),
		)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status      int
	bytes       int64
	wroteHeader bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(p []byte) (int, error) {
	r.wroteHeader = true
	n, err := r.ResponseWriter.Write(p)
	r.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the real writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// maxLogged bounds any value from a request that goes into the log, so a
// request cannot make the log grow by megabytes.
const maxLogged = 200

// Harden wraps the whole listener (the app and, in a demo, the sandbox):
// it refuses a Host header that is not ours (DNS rebinding; the allowed
// hosts are BASE_URL's, or the loopback names without one, plus the
// listener's own loopback address for server-to-server calls) and sets the
// security headers that every answer needs, redirects and 404s included.
func Harden(next http.Handler, hosts []string, https bool) http.Handler {
	allowed := map[string]bool{}
	for _, h := range hosts {
		allowed[strings.ToLower(h)] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd["X-Content-Type-Options"] = nosniff
		hd["Referrer-Policy"] = sameOrigin
		hd["X-Frame-Options"] = deny
		if https {
			hd["Strict-Transport-Security"] = hsts
		}
		if !allowed[hostWithPort(r.Host, https)] {
			http.Error(w, "Unknown host: this server answers for its own address only.", http.StatusMisdirectedRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// hostWithPort is a Host header with its port (the scheme's default when
// it names none), lower-cased.
func hostWithPort(host string, https bool) string {
	host = strings.ToLower(host)
	if _, _, err := net.SplitHostPort(host); err == nil {
		return host
	}
	port := "80"
	if https {
		port = "443"
	}
	return net.JoinHostPort(strings.Trim(host, "[]"), port)
}

// contentSecurityPolicy allows only our own scripts, styles and images.
// form-action also covers the redirect that follows the checkout form, so
// it must name the providers' pages.
func contentSecurityPolicy(formActionOrigins []string) string {
	formAction := append([]string{"'self'"}, formActionOrigins...)
	return strings.Join([]string{
		"default-src 'none'",
		"script-src 'self'",
		"style-src 'self'",
		"img-src 'self' data:",
		"form-action " + strings.Join(formAction, " "),
		"frame-ancestors 'none'",
		"base-uri 'none'",
	}, "; ")
}

func (h *handler) securityHeaders(next http.Handler) http.Handler {
	csp := []string{h.csp}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd["Content-Security-Policy"] = csp
		hd["X-Content-Type-Options"] = nosniff
		hd["Referrer-Policy"] = sameOrigin
		hd["X-Frame-Options"] = deny
		hd["Cross-Origin-Opener-Policy"] = sameOrigin
		next.ServeHTTP(w, r)
	})
}

// The security headers' values, shared by every response instead of
// allocated for each (GET / is served from bytes; these were most of its
// allocations). Sharing is safe: Header.Set replaces a value's slice, and
// Header.Add appends to a slice whose capacity is its length, so it copies.
var (
	nosniff    = []string{"nosniff"}
	sameOrigin = []string{"same-origin"}
	deny       = []string{"DENY"}
	hsts       = []string{"max-age=31536000"}
)

// recoverPanics turns a panic into the 500 page, logged with its stack.
func (h *handler) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				h.fail(w, r, fmt.Errorf("panic: %v\n%s", v, debug.Stack()))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// formBodyLimit caps request bodies: the checkout form is well under 4 KiB.
const formBodyLimit = 64 << 10

func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == http.NoBody { // a GET: nothing to limit
			next.ServeHTTP(w, r)
			return
		}
		limit := int64(formBodyLimit)
		switch {
		case r.URL.Path == "/webhooks/ppro":
			limit = pproWebhookBodyLimit
		case strings.HasPrefix(r.URL.Path, "/webhooks/"):
			limit = webhookBodyLimit
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		next.ServeHTTP(w, r)
	})
}

// isBodyTooLarge reports whether err came from a MaxBytesReader.
func isBodyTooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

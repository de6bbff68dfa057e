// Package standalone runs the sandbox as its own process, which several
// storefront instances share (`storefront sandbox`), and is those
// instances' client of it.
//
// Besides the sandbox's own pages and APIs under /sandbox/, the process
// answers two things an instance needs:
//
//   - GET /sandbox/keys: the test credentials (API keys, webhook signing
//     secrets) and the sandbox's browser-facing URL, as a provider's
//     dashboard shows test keys. It takes no key, so a sandbox process is
//     never exposed publicly.
//   - PUT /sandbox/clock {"offset_seconds": N}: the demo clock's offset,
//     absolute, so that the same push from several instances is harmless;
//     GET reads it. Both need the Stripe secret key as a bearer token.
//
// Its mailbox takes the instances' messages at POST /sandbox/mail/messages
// (see package mailbox and Mailbox, its client), with the same key.
//
// The offset is kept in the sandbox's database, so a restarted sandbox
// keeps the date its payments were made on.
package standalone // import "example.com/storefront/sandbox/standalone"

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"example.com/storefront/clock"
	"example.com/storefront/sandbox"
)

// Keys are what an instance needs to use the sandbox: the providers' test
// credentials and where shoppers' browsers find the sandbox.
type Keys struct {
	StripeSecretKey     string `json:"stripe_secret_key"`
	StripeWebhookSecret string `json:"stripe_webhook_secret"`
	PPROToken           string `json:"ppro_api_token"`
	PPROMerchantID      string `json:"ppro_merchant_id"`
	PPROWebhookSecret   string `json:"ppro_webhook_secret"`
	// PublicURL is the sandbox's browser-facing base ("http://localhost:8090"),
	// without /sandbox: the origin of its pages, which the checkout form's
	// CSP names and the storefront's pages link to.
	PublicURL string `json:"public_url"`
}

// clockBody is the JSON of /sandbox/clock.
type clockBody struct {
	OffsetSeconds *int64 `json:"offset_seconds"`
	Now           string `json:"now,omitempty"` // the sandbox's time, in answers
}

// Server is the sandbox with the endpoints an instance needs.
type Server struct {
	sb    *sandbox.Sandbox
	clock *clock.Clock
	keys  Keys
	mux   *http.ServeMux
	mu    sync.Mutex // orders the clock's database write and its setting
}

// Open opens the sandbox on cfg with a demo clock of its own (cfg.Now is
// replaced), restored from its database. Both providers' parts must be on.
func Open(ctx context.Context, cfg sandbox.Config) (*Server, error) {
	if cfg.Stripe.SecretKey == "" || cfg.PPRO.APIToken == "" {
		return nil, errors.New("standalone sandbox: both the Stripe and the PPRO part must be on")
	}
	pub, err := url.Parse(cfg.PublicURL)
	if err != nil || pub.Host == "" {
		return nil, fmt.Errorf("standalone sandbox: PublicURL %q is not an absolute URL", cfg.PublicURL)
	}
	if p := strings.TrimRight(pub.Path, "/"); p != "/sandbox" {
		return nil, fmt.Errorf("standalone sandbox: PublicURL %q must end in /sandbox, where the instances find it", cfg.PublicURL)
	}
	clk := clock.New(nil)
	cfg.Now = clk.Now
	sb, err := sandbox.New(ctx, cfg)
	if err != nil {
		return nil, err
	}
	off, err := sb.ClockOffset(ctx)
	if err != nil {
		sb.Close()
		return nil, fmt.Errorf("standalone sandbox: %w", err)
	}
	clk.Set(off)
	s := &Server{sb: sb, clock: clk, mux: http.NewServeMux(), keys: Keys{
		StripeSecretKey: cfg.Stripe.SecretKey, StripeWebhookSecret: cfg.Stripe.WebhookSecret,
		PPROToken: cfg.PPRO.APIToken, PPROMerchantID: cfg.PPRO.MerchantID, PPROWebhookSecret: cfg.PPRO.WebhookSecret,
		PublicURL: pub.Scheme + "://" + pub.Host,
	}}
	s.mux.HandleFunc("GET /sandbox/keys", s.handleKeys)
	s.mux.HandleFunc("GET /sandbox/clock", s.handleClock)
	s.mux.HandleFunc("PUT /sandbox/clock", s.handleClock)
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	s.mux.Handle("GET /{$}", http.RedirectHandler("/sandbox/", http.StatusFound))
	s.mux.Handle("/sandbox/", sb)
	return s, nil
}

// Sandbox is the sandbox served.
func (s *Server) Sandbox() *sandbox.Sandbox { return s.sb }

// Now is the sandbox's clock.
func (s *Server) Now() time.Time { return s.clock.Now() }

// ServeHTTP serves the sandbox, its keys and its clock.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Close closes the sandbox (see sandbox.Sandbox.Close).
func (s *Server) Close() error { return s.sb.Close() }

func (s *Server) handleKeys(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, s.keys)
}

// handleClock reads (GET) or sets (PUT) the demo clock's offset.
func (s *Server) handleClock(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="sandbox"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "send the sandbox's Stripe secret key as a bearer token"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Method == http.MethodPut {
		var body clockBody
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil || body.OffsetSeconds == nil || *body.OffsetSeconds < 0 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": `want {"offset_seconds": N}, N a whole number of seconds, 0 or more`})
			return
		}
		d := time.Duration(*body.OffsetSeconds) * time.Second
		// Stored first: the clock never runs at an offset a restart would lose.
		if err := s.sb.SetClockOffset(r.Context(), d); err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "could not store the offset"})
			return
		}
		s.clock.Set(d)
	}
	off := int64(s.clock.Offset() / time.Second)
	writeJSON(w, http.StatusOK, clockBody{OffsetSeconds: &off, Now: s.clock.Now().UTC().Format(time.RFC3339)})
}

// authorized reports whether r carries the Stripe secret key as a bearer
// token: the instances know it from /sandbox/keys, a passing page does not.
func (s *Server) authorized(r *http.Request) bool {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(token), []byte(s.keys.StripeSecretKey)) == 1
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

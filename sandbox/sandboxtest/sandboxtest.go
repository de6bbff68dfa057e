// Package sandboxtest serves a whole sandbox for the tests of its provider
// parts (stripesim, pprosim): on its own loopback server, as another site
// than any app, with its Stripe part on (a test turns PPRO's on), on a
// stopped clock, driven over HTTP by a browser without JavaScript
// (pagetest). Only tests import it.
package sandboxtest

import (
	"context"
	"database/sql"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"example.com/storefront/clock"
	"example.com/storefront/internal/pagetest"
	"example.com/storefront/sandbox"

	_ "modernc.org/sqlite" // KeyWrites reads the sandbox's database
)

// The sandbox's Stripe key and merchant.
const (
	StripeKey = "sk_test_sandbox_0123456789abcdefghij"
	Merchant  = "Acme Coffee Club"
)

// Env is a served sandbox.
type Env struct {
	t       testing.TB
	Cfg     sandbox.Config // what Reopen opens the sandbox with
	Sandbox *sandbox.Sandbox
	BaseURL string // http://127.0.0.1:port
	Public  string // BaseURL + "/sandbox"
	Clock   *clock.Clock
	Browser *pagetest.Browser // follows no redirect by itself
	handler *swapHandler
}

// New serves a sandbox with its Stripe part on; configure may change its
// configuration before it opens.
func New(t testing.TB, configure ...func(*sandbox.Config)) *Env {
	t.Helper()
	h := &swapHandler{}
	srv := httptest.NewUnstartedServer(h)
	e := &Env{
		t:       t,
		handler: h,
		BaseURL: "http://" + srv.Listener.Addr().String(),
		Clock:   clock.Stopped(time.Now().Truncate(time.Second)),
		Browser: pagetest.NewBrowser(t),
	}
	e.Browser.Client.Timeout = 10 * time.Second
	e.Public = e.BaseURL + "/sandbox"
	e.Cfg = sandbox.Config{
		DBPath:       filepath.Join(t.TempDir(), "sandbox.db"),
		PublicURL:    e.Public,
		MerchantName: Merchant,
		Stripe:       sandbox.StripeConfig{SecretKey: StripeKey},
		Now:          e.Clock.Now,
	}
	for _, f := range configure {
		f(&e.Cfg)
	}
	e.Open()
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		if err := e.Sandbox.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return e
}

// Open opens a sandbox on e.Cfg (and its database) and serves it: after
// the test closed the last one, as a restarted app would.
func (e *Env) Open() {
	e.t.Helper()
	sb, err := sandbox.New(context.Background(), e.Cfg)
	if err != nil {
		e.t.Fatalf("New: %v", err)
	}
	e.Sandbox = sb
	e.handler.set(sb)
}

// Reopen closes the sandbox and opens a new one on e.Cfg and the same
// database, as a restarted app would. The server must be idle.
func (e *Env) Reopen() {
	e.t.Helper()
	if err := e.Sandbox.Close(); err != nil {
		e.t.Fatalf("Close: %v", err)
	}
	e.Open()
}

// Get fetches a path of the server.
func (e *Env) Get(path string) *pagetest.Page {
	e.t.Helper()
	return e.Do(http.MethodGet, path, nil, nil)
}

// Post submits a form to a path of the server.
func (e *Env) Post(path string, form url.Values) *pagetest.Page {
	e.t.Helper()
	return e.Do(http.MethodPost, path, form, nil)
}

// Do sends a request to a path of the server, with a form (nil: none) and
// headers.
func (e *Env) Do(method, path string, form url.Values, header http.Header) *pagetest.Page {
	e.t.Helper()
	req, err := http.NewRequest(method, e.BaseURL+path, strings.NewReader(form.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	return e.Browser.Do(req)
}

// swapHandler lets a test replace the sandbox behind a running server
// (to reopen it on the same database) without racing its goroutines.
type swapHandler struct {
	mu sync.RWMutex
	h  http.Handler
}

func (s *swapHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	h := s.h
	s.mu.RUnlock()
	h.ServeHTTP(w, r)
}

func (s *swapHandler) set(h http.Handler) {
	s.mu.Lock()
	s.h = h
	s.mu.Unlock()
}

// KeyWrites logs, from now on, what the sandbox writes under each
// idempotency key (with triggers in its database) and returns a function
// that tells it for a key: "insert", "insert update", or "" for nothing.
func (e *Env) KeyWrites() func(key string) string {
	e.t.Helper()
	db, err := sql.Open("sqlite", e.Cfg.DBPath)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { db.Close() })
	for _, q := range []string{
		`CREATE TABLE key_writes (key TEXT NOT NULL, what TEXT NOT NULL)`,
		`CREATE TRIGGER key_inserted AFTER INSERT ON idempotency_keys BEGIN INSERT INTO key_writes VALUES (new.key, 'insert'); END`,
		`CREATE TRIGGER key_updated AFTER UPDATE ON idempotency_keys BEGIN INSERT INTO key_writes VALUES (new.key, 'update'); END`,
	} {
		if _, err := db.Exec(q); err != nil {
			e.t.Fatal(err)
		}
	}
	return func(key string) string {
		e.t.Helper()
		var w sql.NullString
		if err := db.QueryRow(`SELECT group_concat(what, ' ') FROM (SELECT what FROM key_writes WHERE key = ? ORDER BY rowid)`, key).Scan(&w); err != nil {
			e.t.Fatal(err)
		}
		return w.String
	}
}

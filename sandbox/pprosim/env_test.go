package pprosim_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"example.com/storefront/clock"
	"example.com/storefront/sandbox"
)

// The test environment: a whole sandbox (with its Stripe part on, as the
// storefront runs it) served by its own server, driven over HTTP. It is
// stripesim's helpers_test.go without the stripe-go client; a test package
// cannot share test files with another.

const (
	testKey      = "sk_test_sandbox_0123456789abcdefghij"
	testMerchant = "Acme Coffee Club"
	ribbon       = "Sandbox: no real money moves"
)

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

// env is a sandbox served by its own httptest server (another site than
// any app), with a browser-like HTTP client that does not follow
// redirects.
type env struct {
	t       *testing.T
	cfg     sandbox.Config
	sb      *sandbox.Sandbox
	srv     *httptest.Server
	handler *swapHandler
	baseURL string // http://127.0.0.1:port
	public  string // baseURL + "/sandbox"
	// pproBase is where pproCall sends PPRO API requests; "" means the
	// sandbox itself (baseURL + "/sandbox/ppro"). A contract test puts a
	// validating proxy there.
	pproBase string
	browser  *http.Client
	clock    *clock.Clock
}

func newEnv(t *testing.T, configure ...func(*sandbox.Config)) *env {
	t.Helper()
	h := &swapHandler{}
	srv := httptest.NewUnstartedServer(h)
	e := &env{
		t:       t,
		srv:     srv,
		handler: h,
		baseURL: "http://" + srv.Listener.Addr().String(),
		clock:   clock.Stopped(time.Now().Truncate(time.Second)),
		browser: &http.Client{
			Timeout:       10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	e.public = e.baseURL + "/sandbox"
	e.cfg = sandbox.Config{
		DBPath:       filepath.Join(t.TempDir(), "sandbox.db"),
		PublicURL:    e.public,
		MerchantName: testMerchant,
		Stripe:       sandbox.StripeConfig{SecretKey: testKey},
		Now:          e.clock.Now,
	}
	for _, f := range configure {
		f(&e.cfg)
	}
	e.open()
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		if err := e.sb.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return e
}

// open (re)creates the sandbox on e.cfg and serves it.
func (e *env) open() {
	e.t.Helper()
	sb, err := sandbox.New(context.Background(), e.cfg)
	if err != nil {
		e.t.Fatalf("New: %v", err)
	}
	e.sb = sb
	e.handler.set(sb)
}

// reopen closes the sandbox and opens a new one on the same database.
// The server must be idle.
func (e *env) reopen() {
	e.t.Helper()
	if err := e.sb.Close(); err != nil {
		e.t.Fatalf("Close: %v", err)
	}
	e.open()
}

// page is a response from a sandbox page.
type page struct {
	status   int
	header   http.Header
	body     string
	location string
}

func (e *env) get(path string) page {
	e.t.Helper()
	return e.do(http.MethodGet, path, nil, nil)
}

func (e *env) post(path string, form url.Values) page {
	e.t.Helper()
	return e.do(http.MethodPost, path, form, nil)
}

func (e *env) do(method, path string, form url.Values, header http.Header) page {
	e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, e.baseURL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := e.browser.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return page{status: res.StatusCode, header: res.Header, body: string(b), location: res.Header.Get("Location")}
}

func wantStatus(t *testing.T, res page, want int) {
	t.Helper()
	if res.status != want {
		t.Fatalf("status %d, want %d; body:\n%s", res.status, want, res.body)
	}
}

func wantBody(t *testing.T, res page, substrings ...string) {
	t.Helper()
	for _, s := range substrings {
		if !strings.Contains(res.body, s) {
			t.Errorf("body lacks %q; body:\n%s", s, res.body)
		}
	}
}

package pproschema

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
)

// fakeSandbox answers PPRO's API under /sandbox/ppro with canned bodies, and records what it
// received.
type fakeSandbox struct {
	agreement []byte // body of 200 answers to POST /sandbox/ppro/v1/payment-agreements

	mu        sync.Mutex
	got       []byte // last request body received
	gotHeader http.Header
}

func (s *fakeSandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.got, s.gotHeader = body, r.Header.Clone()
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == "POST" && r.URL.Path == "/sandbox/ppro/v1/payment-agreements":
		_, _ = w.Write(s.agreement)
	case r.URL.Path == "/sandbox/ppro/v1/payment-agreements/agr_unknown":
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"status":404,"failureMessage":"Payment agreement not found","timestamp":"2025-02-17T21:18:20.003Z"}`)
	default:
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"error":"no route"}`)
	}
}

// send sends r to the proxy and returns the status and body the client sees.
func send(t *testing.T, r *http.Request) (int, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

func clientRequest(t *testing.T, method, url string, body []byte) *http.Request {
	t.Helper()
	r, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	r.Header.Set("Authorization", "Bearer key_sandbox_e14fxEqGY1wIJORfA7PtA")
	r.Header.Set("Merchant-Id", "merch_hW14dQxwNJiBA0buG4L2p")
	return r
}

func TestProxyPassesGoodExchanges(t *testing.T) {
	t.Parallel()
	v := Load(t)
	sandbox := &fakeSandbox{agreement: fixture(t, "amazon-pay-agreement.json")}
	backend := httptest.NewServer(sandbox)
	defer backend.Close()
	p := NewProxy(t, v, backend.URL, "/sandbox/ppro")

	create := fixture(t, "amazon-pay-create-agreement.json")
	status, body := send(t, clientRequest(t, "POST", p.URL+"/sandbox/ppro/v1/payment-agreements", create))
	if status != 200 || !bytes.Equal(body, sandbox.agreement) {
		t.Errorf("client got %d %s, want 200 and the sandbox's body unchanged", status, body)
	}
	sandbox.mu.Lock()
	got, merchant := sandbox.got, sandbox.gotHeader.Get("Merchant-Id")
	sandbox.mu.Unlock()
	if !bytes.Equal(got, create) || merchant != "merch_hW14dQxwNJiBA0buG4L2p" {
		t.Errorf("sandbox got body %s, Merchant-Id %q; want the client's request unchanged", got, merchant)
	}
	if status, _ := send(t, clientRequest(t, "GET", p.URL+"/sandbox/ppro/v1/payment-agreements/agr_unknown", nil)); status != 404 {
		t.Errorf("GET unknown agreement: status %d, want 404", status)
	}

	if vs := p.Violations(); len(vs) != 0 {
		t.Errorf("violations: %v", vs)
	}
	want := []string{"GET /v1/payment-agreements/{agreement-id} 404", "POST /v1/payment-agreements 200"}
	if got := p.Seen(); !slices.Equal(got, want) {
		t.Errorf("Seen() = %q, want %q", got, want)
	}
	if got := p.Count("POST /v1/payment-agreements 200"); got != 1 {
		t.Errorf("Count(POST /v1/payment-agreements 200) = %d, want 1", got)
	}
}

func TestProxyReportsViolations(t *testing.T) {
	t.Parallel()
	v := Load(t)
	sandbox := &fakeSandbox{agreement: edit(t, fixture(t, "amazon-pay-agreement.json"), func(m map[string]any) {
		m["status"] = "ENABLED"
	})}
	backend := httptest.NewServer(sandbox)
	defer backend.Close()

	f := newFakeTB(t)
	p := NewProxy(f, v, backend.URL, "/sandbox/ppro")
	noCountry := edit(t, fixture(t, "amazon-pay-create-agreement.json"), func(m map[string]any) {
		delete(m["consumer"].(map[string]any), "country")
	})
	if status, _ := send(t, clientRequest(t, "POST", p.URL+"/sandbox/ppro/v1/payment-agreements", noCountry)); status != 200 {
		t.Errorf("status %d, want the sandbox's 200 passed through", status)
	}
	if status, _ := send(t, clientRequest(t, "GET", p.URL+"/sandbox/ppro/v1/payment-agreements/agr_x", nil)); status != 404 {
		t.Errorf("status %d, want the sandbox's 404 passed through", status)
	}
	if len(f.errors) != 0 {
		t.Fatalf("test failed before cleanup: %q", f.errors)
	}

	f.finish()
	if len(f.errors) != 1 {
		t.Fatalf("cleanup reported %d errors, want 1: %q", len(f.errors), f.errors)
	}
	report := f.errors[0]
	for _, want := range []string{
		"2 exchange(s) through the proxy to " + backend.URL,
		"POST /sandbox/ppro/v1/payment-agreements -> 200",
		"request: $.consumer: missing property 'country'",
		"response: $.status: value must be one of",
		"GET /sandbox/ppro/v1/payment-agreements/agr_x -> 404",
		"response: $.failureMessage: missing",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report does not contain %q:\n%s", want, report)
		}
	}
	if _, err := http.Get(p.URL); err == nil {
		t.Error("proxy still serving after cleanup")
	}
}

func TestProxyUnreachableBackend(t *testing.T) {
	t.Parallel()
	v := Load(t)
	backend := httptest.NewServer(http.NotFoundHandler())
	backend.Close()

	f := newFakeTB(t)
	p := NewProxy(f, v, backend.URL, "")
	if status, _ := send(t, clientRequest(t, "GET", p.URL+"/v1/payment-charges/charge_x", nil)); status != http.StatusBadGateway {
		t.Errorf("status %d, want 502", status)
	}
	f.finish()
	if len(f.errors) != 1 || !strings.Contains(f.errors[0], "GET /v1/payment-charges/charge_x -> 502") ||
		!strings.Contains(f.errors[0], "proxy: forwarding to "+backend.URL) {
		t.Errorf("cleanup reported %q, want the unreachable backend", f.errors)
	}
}

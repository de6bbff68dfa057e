package pproschema

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
)

// Proxy is a validating reverse proxy for contract tests, started by [NewProxy]. Point the PPRO
// client at URL instead of at the backend: every request and every response passing through is
// validated against PPRO's documents, and every violation is recorded. At the end of the test
// the violations, if any, fail it.
type Proxy struct {
	URL string // base URL of the proxy, http://127.0.0.1:port

	v          *Validator
	mu         sync.Mutex
	violations []Violation
	seen       map[string]int
}

// Violation is one exchange through a [Proxy] that broke PPRO's documents.
type Violation struct {
	Method   string
	Path     string   // as the proxy received it, prefix included
	Status   int      // what the backend answered; 502 if the proxy could not reach it
	Problems []string // "request: …" and "response: …" lines from the validator
}

func (v Violation) String() string {
	return fmt.Sprintf("%s %s -> %d\n\t%s", v.Method, v.Path, v.Status, strings.Join(v.Problems, "\n\t"))
}

// exchange is what the proxy learns about one request/response pair.
type exchange struct {
	in       *http.Request
	op       string // "METHOD /template", or method and path when no operation matched
	matched  bool
	status   int
	problems []string
}

type exchangeKey struct{}

// NewProxy starts a reverse proxy on 127.0.0.1 in front of target (a base URL such as the
// sandbox's httptest server URL). Requests are forwarded to target with their path appended to
// target's path. prefix is the part of the request path before PPRO's /v1/… (for the sandbox,
// "/sandbox/ppro"; "" if the API is served at the root); it is stripped only for validation.
//
// The proxy validates each request with [Validator.Request] before forwarding it (it is
// forwarded either way) and each response with [Validator.Response]. When the test ends, the
// server is closed and the test fails listing every violation: method, path, status and the
// validator's messages.
func NewProxy(t testing.TB, v *Validator, target, prefix string) *Proxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil || u.Scheme == "" || u.Host == "" {
		t.Fatalf("pproschema: proxy target %q is not an absolute URL (%v)", target, err)
	}
	p := &Proxy{v: v.WithPrefix(prefix), seen: map[string]int{}}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			// Let the transport negotiate and undo compression, so bodies arrive plain.
			pr.Out.Header.Del("Accept-Encoding")
		},
		ModifyResponse: p.checkResponse,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if ex, ok := r.Context().Value(exchangeKey{}).(*exchange); ok {
				ex.status = http.StatusBadGateway
				ex.problems = append(ex.problems, "proxy: forwarding to "+target+": "+err.Error())
			}
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ex := &exchange{in: r}
		ex.op, ex.matched = p.v.Operation(r)
		if err := p.v.Request(r); err != nil {
			for _, line := range Problems(err) {
				ex.problems = append(ex.problems, "request: "+line)
			}
		}
		rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), exchangeKey{}, ex)))
		p.record(ex)
	}))
	p.URL = srv.URL
	// Cleanups run last-registered first: close the server (waiting for requests in flight),
	// then report.
	t.Cleanup(func() {
		vs := p.Violations()
		if len(vs) == 0 {
			return
		}
		var b strings.Builder
		for _, v := range vs {
			b.WriteString("\n")
			b.WriteString(v.String())
		}
		t.Errorf("pproschema: %d exchange(s) through the proxy to %s broke PPRO's OpenAPI documents:%s", len(vs), target, b.String())
	})
	t.Cleanup(srv.Close)
	return p
}

// checkResponse validates a backend response on its way back to the client. The body is read
// in full and replaced by an unread copy.
func (p *Proxy) checkResponse(resp *http.Response) error {
	ex, ok := resp.Request.Context().Value(exchangeKey{}).(*exchange)
	if !ok {
		return nil
	}
	ex.status = resp.StatusCode
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		ex.problems = append(ex.problems, "response: reading the body: "+err.Error())
		return nil
	}
	if !ex.matched {
		return nil // the request's problems already say that no operation matches
	}
	if err := p.v.Response(ex.in, resp.StatusCode, resp.Header, body); err != nil {
		for _, line := range Problems(err) {
			ex.problems = append(ex.problems, "response: "+line)
		}
	}
	return nil
}

func (p *Proxy) record(ex *exchange) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seen[fmt.Sprintf("%s %d", ex.op, ex.status)]++
	if len(ex.problems) > 0 {
		p.violations = append(p.violations, Violation{
			Method:   ex.in.Method,
			Path:     ex.in.URL.Path,
			Status:   ex.status,
			Problems: ex.problems,
		})
	}
}

// Seen returns the operations that passed through the proxy with the status answered, sorted,
// one entry per distinct pair, such as "POST /v1/payment-agreements 200" or
// "POST /v1/payment-agreements/{agreement-id}/payment-charges 200". Paths are the documents'
// templates, without the prefix; a request matching no operation appears with its own path.
func (p *Proxy) Seen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, 0, len(p.seen))
	for k := range p.seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Count returns how many exchanges of one [Proxy.Seen] entry passed through the proxy.
func (p *Proxy) Count(seen string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.seen[seen]
}

// Violations returns the violations recorded so far, in the order the exchanges completed.
func (p *Proxy) Violations() []Violation {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Violation(nil), p.violations...)
}

package stripeschema

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Proxy is a validating reverse proxy, started by [NewProxy]: point a
// Stripe client at URL instead of at the server, and every answer passing
// through is validated with [Validator.Response]. When the test ends, the
// violations, if any, fail it.
type Proxy struct {
	URL string // http://127.0.0.1:port, serving the target's paths

	v          *Validator
	prefix     string
	mu         sync.Mutex
	violations []string
	seen       map[string]int
}

// NewProxy starts a proxy on 127.0.0.1 in front of target (a base URL).
// prefix is the part of the path before Stripe's /v1/… ("/sandbox/stripe"
// for the sandbox); it is stripped only for validation.
func NewProxy(t testing.TB, v *Validator, target, prefix string) *Proxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil || u.Scheme == "" || u.Host == "" {
		t.Fatalf("stripeschema: proxy target %q is not an absolute URL (%v)", target, err)
	}
	p := &Proxy{v: v, prefix: strings.TrimSuffix(prefix, "/"), seen: map[string]int{}}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.Out.Header.Del("Accept-Encoding") // bodies arrive plain
		},
		ModifyResponse: p.check,
	}
	srv := httptest.NewServer(rp)
	p.URL = srv.URL
	// Cleanups run last-registered first: close the server (waiting for
	// requests in flight), then report.
	t.Cleanup(func() {
		if vs := p.Violations(); len(vs) > 0 {
			t.Errorf("stripeschema: %d answer(s) through the proxy to %s broke Stripe's OpenAPI spec:\n%s",
				len(vs), target, strings.Join(vs, "\n"))
		}
	})
	t.Cleanup(srv.Close)
	return p
}

// check validates an answer on its way back; the body is replaced by an
// unread copy.
func (p *Proxy) check(resp *http.Response) error {
	req := resp.Request
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	path, ok := strings.CutPrefix(req.URL.Path, p.prefix)
	op, _ := p.v.Operation(req.Method, path)
	var problems []string
	switch {
	case err != nil:
		problems = append(problems, "reading the body: "+err.Error())
	case !ok:
		problems = append(problems, fmt.Sprintf("path %s is not under the prefix %s", req.URL.Path, p.prefix))
	default:
		if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "application/json" {
			problems = append(problems, fmt.Sprintf("Content-Type %q, want application/json", resp.Header.Get("Content-Type")))
		}
		if err := p.v.Response(req.Method, path, resp.StatusCode, body); err != nil {
			problems = append(problems, Problems(err)...)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seen[fmt.Sprintf("%s %d", op, resp.StatusCode)]++
	if len(problems) > 0 {
		p.violations = append(p.violations, fmt.Sprintf("%s %s -> %d\n\t%s\n\tbody: %s",
			req.Method, req.URL.RequestURI(), resp.StatusCode, strings.Join(problems, "\n\t"), body))
	}
	return nil
}

// Seen returns each operation that passed through with the status
// answered, sorted, such as "GET /v1/charges/{charge} 200".
func (p *Proxy) Seen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, 0, len(p.seen))
	for k := range p.seen {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Answers returns how many answers passed through.
func (p *Proxy) Answers() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, c := range p.seen {
		n += c
	}
	return n
}

// Violations returns one text per answer that broke the spec, so far.
func (p *Proxy) Violations() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.violations)
}

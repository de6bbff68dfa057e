package loadtest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptrace"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// maxBody caps what the driver reads of one answer; the storefront's
// largest page (the home page with its country list) is about 20 KiB.
const maxBody = 4 << 20

// browser is one shopper: a cookie jar of its own on the shared transport,
// no JavaScript, and redirects left to the flow, which follows them one hop
// at a time and checks each.
type browser struct {
	client    *http.Client
	origin    *url.URL // the storefront's root (one instance's)
	sandbox   *url.URL // the sandbox's origin when it is a process of its own, else nil
	userAgent string
	rec       *collector // nil: neither timed nor counted (the preflight)
}

// newBrowser makes a shopper who visits only origin and, when not nil, the
// sandbox's origin.
func newBrowser(t http.RoundTripper, origin, sandbox *url.URL, timeout time.Duration, userAgent string, rec *collector) (*browser, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, fmt.Errorf("cookie jar: %w", err)
	}
	return &browser{
		client: &http.Client{
			Transport:     t,
			Jar:           jar,
			Timeout:       timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		origin:    origin,
		sandbox:   sandbox,
		userAgent: userAgent,
		rec:       rec,
	}, nil
}

// get fetches target as step, which must answer one of want.
func (b *browser) get(ctx context.Context, step string, target *url.URL, want ...int) (*page, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target.String(), nil)
	if err != nil {
		return nil, &stepError{Kind: KindParse, Step: step, Err: fmt.Errorf("request for %s: %w", target, err)}
	}
	return b.do(step, req, want...)
}

// follow takes the redirect p answered, as step.
func (b *browser) follow(ctx context.Context, step string, p *page, want ...int) (*page, error) {
	target, err := p.location()
	if err != nil {
		return nil, &stepError{Kind: KindParse, Step: step, Err: err}
	}
	return b.get(ctx, step, target, want...)
}

// submit sends the form f with values, as step.
func (b *browser) submit(ctx context.Context, step string, f *form, values url.Values, want ...int) (*page, error) {
	req, err := f.request(ctx, values)
	if err != nil {
		return nil, &stepError{Kind: KindParse, Step: step, Err: err}
	}
	return b.do(step, req, want...)
}

// press submits the form holding the control name=value, as a browser does
// when that button is pressed (or that hidden input's form is sent).
func (b *browser) press(ctx context.Context, step string, p *page, name, value string, want ...int) (*page, error) {
	f, err := p.formWith(fmt.Sprintf("form with %s=%s", name, value), control(name, value))
	if err != nil {
		return nil, &stepError{Kind: KindParse, Step: step, Err: err}
	}
	return b.submit(ctx, step, f, f.values(), want...)
}

// do sends req and reads the whole answer (so the connection goes back to
// the pool), timing the step from sending to the last byte. Only a step
// that answers as wanted is timed: a fast 429 or 500 would flatter the
// figures.
func (b *browser) do(step string, req *http.Request, want ...int) (*page, error) {
	if !sameOrigin(req.URL, b.origin) && (b.sandbox == nil || !sameOrigin(req.URL, b.sandbox)) {
		return nil, &stepError{Kind: KindParse, Step: step, Err: fmt.Errorf(
			"sent to %s, another origin than -url %s: the driver follows only the storefront and its sandbox "+
				"(if the storefront's BASE_URL differs from -url, its cookie would not come back: use -url %s://%s)",
			req.URL.Redacted(), b.origin, req.URL.Scheme, req.URL.Host)}
	}
	req.Header.Set("User-Agent", b.userAgent)
	if b.rec != nil {
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), b.rec.trace()))
	}
	start := time.Now()
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, &stepError{Kind: KindTransport, Step: step, Err: err}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	resp.Body.Close()
	elapsed := time.Since(start)
	if err != nil {
		return nil, &stepError{Kind: KindTransport, Step: step, Err: fmt.Errorf("%s %s: read body: %w", req.Method, req.URL.Path, err)}
	}
	if len(body) > maxBody {
		return nil, &stepError{Kind: KindParse, Step: step, Err: fmt.Errorf("%s %s: body larger than %d bytes", req.Method, req.URL.Path, maxBody)}
	}
	p := &page{url: req.URL, status: resp.StatusCode, header: resp.Header, body: body}
	if !slices.Contains(want, p.status) {
		return nil, statusError(step, p, req, want)
	}
	if b.rec != nil {
		b.rec.step(step, elapsed)
	}
	return p, nil
}

func sameOrigin(a, b *url.URL) bool { return a.Scheme == b.Scheme && a.Host == b.Host }

// userAgent names the driver and the flow, so the storefront's log lines
// can be matched to a flow.
func userAgent(run string, n int) string {
	return "storefront-loadtest/1 (run " + run + "; flow " + strconv.Itoa(n) + ")"
}

// Package pagetest drives the storefront's and the sandbox's HTML pages in
// tests the way a browser without JavaScript would: a cookie jar, forms
// submitted with their hidden fields and the pressed button, and redirects
// followed one at a time so each hop can be checked.
package pagetest

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// Browser is a cookie-keeping client that does not follow redirects by
// itself.
type Browser struct {
	t      testing.TB
	Client *http.Client
	// Header is added to every request (for example Sec-Fetch-Site).
	Header http.Header
}

// NewBrowser returns a browser with an empty cookie jar.
func NewBrowser(t testing.TB) *Browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &Browser{t: t, Header: http.Header{}, Client: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Page is one response, parsed.
type Page struct {
	t      testing.TB
	URL    *url.URL
	Status int
	Header http.Header
	Body   string
	doc    *html.Node
}

// Get fetches rawURL.
func (b *Browser) Get(rawURL string) *Page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.Do(req)
}

// Post submits a form to rawURL.
func (b *Browser) Post(rawURL string, form url.Values) *Page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, rawURL, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.Do(req)
}

// Do sends req with the browser's cookies and headers.
func (b *Browser) Do(req *http.Request) *Page {
	b.t.Helper()
	for k, v := range b.Header {
		req.Header[k] = v
	}
	resp, err := b.Client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatalf("%s %s: read body: %v", req.Method, req.URL, err)
	}
	p := &Page{t: b.t, URL: req.URL, Status: resp.StatusCode, Header: resp.Header, Body: string(body)}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		if p.doc, err = html.Parse(strings.NewReader(p.Body)); err != nil {
			b.t.Fatalf("%s %s: parse HTML: %v", req.Method, req.URL, err)
		}
	}
	return p
}

// Follow GETs the Location of a redirect, failing the test if p is not one.
func (b *Browser) Follow(p *Page) *Page {
	b.t.Helper()
	return b.Get(p.Location())
}

// Location is the absolute target of a redirect.
func (p *Page) Location() string {
	p.t.Helper()
	if p.Status < 300 || p.Status > 399 {
		p.t.Fatalf("%s: status %d, want a redirect; body:\n%s", p.URL, p.Status, excerpt(p.Body))
	}
	loc, err := p.URL.Parse(p.Header.Get("Location"))
	if err != nil {
		p.t.Fatalf("%s: bad Location %q", p.URL, p.Header.Get("Location"))
	}
	return loc.String()
}

// Expect fails the test unless the status is want.
func (p *Page) Expect(want int) *Page {
	p.t.Helper()
	if p.Status != want {
		p.t.Fatalf("%s: status %d, want %d; body:\n%s", p.URL, p.Status, want, excerpt(p.Body))
	}
	return p
}

// TestID returns the text of the first element with data-testid=id.
func (p *Page) TestID(id string) (string, bool) {
	n := p.find(func(n *html.Node) bool { return attr(n, "data-testid") == id })
	if n == nil {
		return "", false
	}
	return strings.Join(strings.Fields(text(n)), " "), true
}

// TestIDAttr returns an attribute of the first element with data-testid=id.
func (p *Page) TestIDAttr(id, name string) string {
	n := p.find(func(n *html.Node) bool { return attr(n, "data-testid") == id })
	if n == nil {
		return ""
	}
	return attr(n, name)
}

// Count returns how many elements have data-testid=id.
func (p *Page) Count(id string) int {
	count := 0
	p.walk(func(n *html.Node) bool {
		if attr(n, "data-testid") == id {
			count++
		}
		return false
	})
	return count
}

// InputValue returns the value attribute of the input named name.
func (p *Page) InputValue(name string) string {
	n := p.find(func(n *html.Node) bool { return n.Data == "input" && attr(n, "name") == name })
	if n == nil {
		return ""
	}
	return attr(n, "value")
}

// Text is the page's visible text, whitespace collapsed.
func (p *Page) Text() string {
	if p.doc == nil {
		return p.Body
	}
	return strings.Join(strings.Fields(text(p.doc)), " ")
}

// Submit finds the form holding the button (or input) name=value (or, with name "",
// the form whose action contains value), fills its fields (hidden inputs,
// checked boxes, selected options, and the values in fill), and returns the
// request a browser would send when the button is pressed.
func (p *Page) Submit(name, value string, fill url.Values) *http.Request {
	p.t.Helper()
	var form *html.Node
	p.walk(func(n *html.Node) bool {
		if form != nil || n.Data != "form" {
			return false
		}
		match := false
		if name == "" {
			match = strings.Contains(attr(n, "action"), value)
		} else {
			walk(n, func(c *html.Node) bool {
				if (c.Data == "button" || c.Data == "input") && attr(c, "name") == name && attr(c, "value") == value {
					match = true
				}
				return false
			})
		}
		if match {
			form = n
		}
		return false
	})
	if form == nil {
		p.t.Fatalf("%s: no form with a button %s=%q; body:\n%s", p.URL, name, value, excerpt(p.Body))
	}
	values := url.Values{}
	walk(form, func(n *html.Node) bool {
		fieldName := attr(n, "name")
		switch {
		case fieldName == "":
		case n.Data == "input":
			switch attr(n, "type") {
			case "checkbox", "radio":
				if hasAttr(n, "checked") || (fieldName == name && attr(n, "value") == value) {
					values.Add(fieldName, attrOr(n, "value", "on"))
				}
			case "submit", "button", "image", "reset":
			default:
				values.Add(fieldName, attr(n, "value"))
			}
		case n.Data == "select":
			walk(n, func(o *html.Node) bool {
				if o.Data == "option" && hasAttr(o, "selected") {
					values.Add(fieldName, attr(o, "value"))
				}
				return false
			})
		case n.Data == "textarea":
			values.Add(fieldName, text(n))
		}
		return false
	})
	if name != "" {
		values.Set(name, value)
	}
	for k, v := range fill {
		values[k] = v
	}
	action, err := p.URL.Parse(attr(form, "action"))
	if err != nil {
		p.t.Fatal(err)
	}
	method := strings.ToUpper(attrOr(form, "method", "GET"))
	var req *http.Request
	if method == http.MethodPost {
		req, err = http.NewRequest(method, action.String(), strings.NewReader(values.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	} else {
		action.RawQuery = values.Encode()
		req, err = http.NewRequest(http.MethodGet, action.String(), nil)
	}
	if err != nil {
		p.t.Fatal(err)
	}
	return req
}

func (p *Page) find(match func(*html.Node) bool) *html.Node {
	var found *html.Node
	p.walk(func(n *html.Node) bool {
		if found == nil && match(n) {
			found = n
			return true
		}
		return false
	})
	return found
}

func (p *Page) walk(fn func(*html.Node) bool) {
	if p.doc != nil {
		walk(p.doc, fn)
	}
}

// walk visits element nodes depth first; fn returning true stops descent.
func walk(n *html.Node, fn func(*html.Node) bool) {
	if n.Type == html.ElementNode && fn(n) {
		return
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, fn)
	}
}

func text(n *html.Node) string {
	var sb strings.Builder
	var rec func(*html.Node)
	rec = func(n *html.Node) {
		if n.Type == html.TextNode {
			sb.WriteString(n.Data)
			sb.WriteByte(' ')
		}
		if n.Type == html.ElementNode && (n.Data == "script" || n.Data == "style") {
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			rec(c)
		}
	}
	rec(n)
	return sb.String()
}

func attr(n *html.Node, name string) string { return attrOr(n, name, "") }

func attrOr(n *html.Node, name, def string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return def
}

func hasAttr(n *html.Node, name string) bool {
	for _, a := range n.Attr {
		if a.Key == name {
			return true
		}
	}
	return false
}

func excerpt(s string) string {
	if len(s) > 2000 {
		return s[:2000] + "…"
	}
	return s
}

package loadtest

import (
	"bytes"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/net/html"
)

// page is one answer, its HTML parsed on first use (a redirect's empty body
// never is).
type page struct {
	url    *url.URL
	status int
	header http.Header
	body   []byte
	doc    *html.Node
	err    error // from parsing
	parsed bool
}

// root is the parsed document, or why there is none.
func (p *page) root() (*html.Node, error) {
	if !p.parsed {
		p.parsed = true
		mediaType, _, _ := mime.ParseMediaType(p.header.Get("Content-Type"))
		if mediaType != "text/html" {
			p.err = fmt.Errorf("%s: content type %q, want text/html", p.url.Path, p.header.Get("Content-Type"))
		} else if p.doc, p.err = html.Parse(bytes.NewReader(p.body)); p.err != nil {
			p.err = fmt.Errorf("%s: parse HTML: %w", p.url.Path, p.err)
		}
	}
	return p.doc, p.err
}

// find is the first element matching, or nil (also when the page is not
// HTML).
func (p *page) find(match func(*html.Node) bool) *html.Node {
	doc, err := p.root()
	if err != nil {
		return nil
	}
	return findIn(doc, match)
}

// byTestID is the first element with data-testid=id.
func (p *page) byTestID(id string) *html.Node {
	return p.find(func(n *html.Node) bool { v, _ := attr(n, "data-testid"); return v == id })
}

// location is the absolute target of a redirect.
func (p *page) location() (*url.URL, error) {
	loc := p.header.Get("Location")
	if loc == "" {
		return nil, fmt.Errorf("%s: status %d without a Location", p.url.Path, p.status)
	}
	u, err := p.url.Parse(loc)
	if err != nil {
		return nil, fmt.Errorf("%s: bad Location %q: %w", p.url.Path, loc, err)
	}
	return u, nil
}

// errorSummary is what the storefront says about a failure, for an error's
// example: the error page's message, the form's field errors, the request
// id its logs carry. Empty when the page says nothing useful.
func (p *page) errorSummary() string {
	var parts []string
	if n := p.byTestID("error-message"); n != nil {
		parts = append(parts, fmt.Sprintf("%q", textOf(n)))
	}
	if doc, err := p.root(); err == nil {
		walk(doc, func(n *html.Node) bool {
			if id, _ := attr(n, "data-testid"); strings.HasPrefix(id, "error-") && id != "error-message" && id != "error-page" {
				parts = append(parts, fmt.Sprintf("%s: %q", strings.TrimPrefix(id, "error-"), textOf(n)))
			}
			return false
		})
	}
	if id := p.header.Get("X-Request-Id"); id != "" {
		parts = append(parts, "request id "+id)
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, "; ") + ")"
}

// walk visits element nodes depth first; fn returning true skips the
// node's children.
func walk(n *html.Node, fn func(*html.Node) bool) {
	if n.Type == html.ElementNode && fn(n) {
		return
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, fn)
	}
}

func findIn(n *html.Node, match func(*html.Node) bool) *html.Node {
	var found *html.Node
	walk(n, func(c *html.Node) bool {
		if found == nil && match(c) {
			found = c
		}
		return found != nil
	})
	return found
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

// textOf is an element's text, whitespace collapsed, scripts left out.
func textOf(n *html.Node) string {
	var sb strings.Builder
	var rec func(*html.Node)
	rec = func(n *html.Node) {
		switch {
		case n.Type == html.TextNode:
			sb.WriteString(n.Data)
			sb.WriteByte(' ')
		case n.Type == html.ElementNode && (n.Data == "script" || n.Data == "style"):
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			rec(c)
		}
	}
	rec(n)
	return strings.Join(strings.Fields(sb.String()), " ")
}

package loadtest

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/net/html"
)

// form is a form on a page, and the control that submits it.
type form struct {
	page      *page
	node      *html.Node
	submitter *html.Node // a named button or input, or nil
}

// formWith finds the form holding the element match accepts: a button
// (name=decision value=approve), a hidden input (method=amazon_pay), or the
// form element itself.
func (p *page) formWith(what string, match func(*html.Node) bool) (*form, error) {
	if _, err := p.root(); err != nil {
		return nil, err
	}
	n := p.find(match)
	if n == nil {
		return nil, fmt.Errorf("%s has no %s", p.url.Path, what)
	}
	f := &form{page: p, submitter: n}
	for f.node = n; f.node != nil && f.node.Data != "form"; f.node = f.node.Parent {
	}
	if f.node == nil {
		return nil, fmt.Errorf("%s: the %s is not inside a form", p.url.Path, what)
	}
	if n == f.node || !isSubmitter(n) {
		f.submitter = nil
	}
	return f, nil
}

// control matches a form control by name and value.
func control(name, value string) func(*html.Node) bool {
	return func(n *html.Node) bool {
		if n.Data != "button" && n.Data != "input" {
			return false
		}
		nv, _ := attr(n, "name")
		vv, _ := attr(n, "value")
		return nv == name && vv == value
	}
}

func isSubmitter(n *html.Node) bool {
	typ, _ := attr(n, "type")
	return (n.Data == "button" && (typ == "" || typ == "submit")) || (n.Data == "input" && (typ == "submit" || typ == "image"))
}

// values is what a browser sends: hidden and text inputs, checked boxes,
// selected options, text areas, and the pressed button's name and value.
func (f *form) values() url.Values {
	v := url.Values{}
	walk(f.node, func(n *html.Node) bool {
		name, _ := attr(n, "name")
		if name == "" {
			return false
		}
		if _, disabled := attr(n, "disabled"); disabled {
			return false
		}
		switch n.Data {
		case "input":
			typ, _ := attr(n, "type")
			switch typ {
			case "checkbox", "radio":
				if _, checked := attr(n, "checked"); checked {
					v.Add(name, valueOr(n, "on"))
				}
			case "submit", "button", "image", "reset", "file":
			default:
				v.Add(name, valueOr(n, ""))
			}
		case "select":
			if o := findIn(n, func(o *html.Node) bool { _, sel := attr(o, "selected"); return o.Data == "option" && sel }); o != nil {
				v.Add(name, valueOr(o, textOf(o)))
			}
		case "textarea":
			v.Add(name, textOf(n))
		}
		return false
	})
	if f.submitter != nil {
		if name, _ := attr(f.submitter, "name"); name != "" {
			v.Set(name, valueOr(f.submitter, ""))
		}
	}
	return v
}

func valueOr(n *html.Node, def string) string {
	if v, ok := attr(n, "value"); ok {
		return v
	}
	return def
}

// request is the request a browser sends for the form with these values.
func (f *form) request(ctx context.Context, values url.Values) (*http.Request, error) {
	action, _ := attr(f.node, "action")
	target, err := f.page.url.Parse(action)
	if err != nil {
		return nil, fmt.Errorf("%s: form action %q: %w", f.page.url.Path, action, err)
	}
	method, _ := attr(f.node, "method")
	if strings.EqualFold(method, http.MethodPost) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, target.String(), strings.NewReader(values.Encode()))
		if err != nil {
			return nil, fmt.Errorf("form request: %w", err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return req, nil
	}
	target.RawQuery = values.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("form request: %w", err)
	}
	return req, nil
}

package pagetest

import "golang.org/x/net/html"

// AllTestIDAttr returns an attribute of every element with data-testid=id,
// in document order.
func (p *Page) AllTestIDAttr(id, name string) []string {
	var out []string
	p.walk(func(n *html.Node) bool {
		if attr(n, "data-testid") == id {
			out = append(out, attr(n, name))
		}
		return false
	})
	return out
}

// Checked reports whether the checkbox named name is ticked.
func (p *Page) Checked(name string) bool {
	n := p.find(func(n *html.Node) bool {
		return n.Data == "input" && attr(n, "name") == name && attr(n, "type") == "checkbox"
	})
	return n != nil && hasAttr(n, "checked")
}

// CheckedValue returns the value of the ticked radio button named name, or "".
func (p *Page) CheckedValue(name string) string {
	n := p.find(func(n *html.Node) bool {
		return n.Data == "input" && attr(n, "name") == name && attr(n, "type") == "radio" && hasAttr(n, "checked")
	})
	if n == nil {
		return ""
	}
	return attr(n, "value")
}

// SelectedValue returns the value of the selected option of the select
// named name, or "".
func (p *Page) SelectedValue(name string) string {
	sel := p.find(func(n *html.Node) bool { return n.Data == "select" && attr(n, "name") == name })
	if sel == nil {
		return ""
	}
	var value string
	walk(sel, func(n *html.Node) bool {
		if n.Data == "option" && hasAttr(n, "selected") {
			value = attr(n, "value")
			return true
		}
		return false
	})
	return value
}

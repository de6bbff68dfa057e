package notify

import (
	"strings"

	"example.com/storefront/terms"
)

// emailText is the plain-text part: everything the HTML part says, in the
// same order, for text-only mail clients and screen readers.
func emailText(c content) string {
	var b strings.Builder
	line := func(s ...string) {
		for _, p := range s {
			b.WriteString(p)
		}
		b.WriteString("\n")
	}
	underline := func(s string, ch string) {
		line(s)
		line(strings.Repeat(ch, len([]rune(s))))
	}
	line(c.Merchant)
	line()
	underline(c.Heading, "=")
	line()
	line(c.Greeting)
	line()
	for _, p := range c.Intro {
		line(p)
		line()
	}
	if len(c.Facts) > 0 {
		for _, f := range c.Facts {
			line("  ", f.Label, ": ", f.Value)
		}
		line()
	}
	for _, p := range c.After {
		line(p)
		line()
	}
	for _, a := range c.Actions {
		line(a.Label, ":")
		line(a.URL)
		if a.Note != "" {
			line(a.Note)
		}
		line()
	}
	if c.Terms != nil {
		underline("The terms you agreed to (version "+c.Terms.Version+")", "-")
		line()
		line("You agreed: \"", c.Terms.Authorization, "\"")
		line()
		for _, bl := range c.Terms.Blocks {
			switch bl.Kind {
			case terms.Heading:
				line(strings.Repeat("#", max(bl.Level, 1)), " ", bl.Text)
			case terms.List:
				for _, item := range bl.Items {
					line("- ", item)
				}
			default:
				line(bl.Text)
			}
			line()
		}
	}
	line("-- ")
	line(c.Merchant)
	line("Questions? Write to ", c.Contact, ".")
	line(c.Why)
	return b.String()
}

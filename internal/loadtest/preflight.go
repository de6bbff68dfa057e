package loadtest

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/net/html"
)

// offer is a provider as the home page shows it.
type offer struct {
	name        string
	mode        string // from the header's mode badge: sandbox, test, live
	unavailable string // why the plan does not fit it, or ""
}

// preflight reads an instance's home page once, before any flow, and
// refuses a mix it cannot serve: a provider it does not offer (or not for
// this plan), a provider that is not on the sandbox (the driver must never
// load a real provider), or pay-now when there is no such box. It answers
// the origin of the instance's sandbox when that is a process of its own
// (SANDBOX_URL), nil when the sandbox is the instance's own /sandbox/.
func preflight(ctx context.Context, t http.RoundTripper, origin *url.URL, opts Options) (*url.URL, error) {
	b, err := newBrowser(t, origin, nil, opts.RequestTimeout, "storefront-loadtest/1 (preflight)", nil)
	if err != nil {
		return nil, err
	}
	home, err := b.get(ctx, StepHome, origin.JoinPath("/"), http.StatusOK)
	if err != nil {
		return nil, fmt.Errorf("the storefront at %s (is it running?): %w", origin, err)
	}
	doc, err := home.root()
	if err != nil {
		return nil, fmt.Errorf("the storefront's home page: %w", err)
	}
	sandbox, err := sandboxOrigin(home, origin, opts.AllowRemote)
	if err != nil {
		return nil, err
	}
	if err := checkOffers(home, doc, origin, opts); err != nil {
		return nil, err
	}
	return sandbox, nil
}

// sandboxOrigin reads the footer's link to the sandbox: a path on the
// instance for the built-in sandbox (nil), or another origin for a sandbox
// process, which must be loopback as -url must.
func sandboxOrigin(home *page, origin *url.URL, allowRemote bool) (*url.URL, error) {
	link := home.byTestID("sandbox-link")
	if link == nil {
		return nil, nil // no link: only the instance's own origin is followed
	}
	href, _ := attr(link, "href")
	u, err := origin.Parse(href)
	if err != nil {
		return nil, fmt.Errorf("the storefront at %s links to its sandbox at %q: %w", origin, href, err)
	}
	if sameOrigin(u, origin) {
		return nil, nil
	}
	sandbox := &url.URL{Scheme: u.Scheme, Host: u.Host}
	if err := checkURL(sandbox.String(), allowRemote); err != nil {
		return nil, fmt.Errorf("the sandbox the storefront at %s uses: %w", origin, err)
	}
	return sandbox, nil
}

// checkOffers refuses providers and pay-now that the home page does not
// offer on the sandbox.
func checkOffers(home *page, doc *html.Node, origin *url.URL, opts Options) error {
	offers := homeOffers(home, doc)
	var names []string
	for _, o := range offers {
		names = append(names, o.name)
	}
	for _, want := range opts.Providers.active() {
		i := slices.IndexFunc(offers, func(o offer) bool { return o.name == want })
		switch {
		case i < 0:
			return fmt.Errorf("-providers: the storefront at %s does not offer %q (it offers: %s)", origin, want, strings.Join(names, ", "))
		case offers[i].unavailable != "":
			return fmt.Errorf("-providers: the storefront at %s offers %q, but not for its plan: %s", origin, want, offers[i].unavailable)
		case offers[i].mode != "sandbox":
			mode := offers[i].mode
			if mode == "" {
				mode = "an unknown"
			}
			return fmt.Errorf("-providers: %q runs in %s mode on the storefront at %s, not on the built-in sandbox: the driver drives only the sandbox, so that it never loads a real provider", want, mode, origin)
		}
	}
	if opts.PayNow > 0 && slices.Contains(opts.Providers.active(), ProviderPPRO) {
		if findIn(doc, func(n *html.Node) bool { v, _ := attr(n, "name"); return n.Data == "input" && v == "pay_now" }) == nil {
			return fmt.Errorf("-pay-now: the storefront at %s has no pay-now box for PPRO", origin)
		}
	}
	return nil
}

// homeOffers lists the provider radios, with the mode each header badge
// ("Stripe: sandbox") gives and the reason shown when one is unavailable.
func homeOffers(home *page, doc *html.Node) []offer {
	modes := map[string]string{}
	walk(doc, func(n *html.Node) bool {
		if id, _ := attr(n, "data-testid"); id == "mode-badge" {
			label, mode, ok := strings.Cut(textOf(n), ":")
			if ok {
				modes[strings.ToLower(strings.TrimSpace(label))] = strings.ToLower(strings.TrimSpace(mode))
			}
		}
		return false
	})
	var offers []offer
	walk(doc, func(n *html.Node) bool {
		name, _ := attr(n, "name")
		typ, _ := attr(n, "type")
		if n.Data != "input" || typ != "radio" || name != "provider" {
			return false
		}
		o := offer{name: valueOr(n, "")}
		o.mode = modes[o.name]
		if _, disabled := attr(n, "disabled"); disabled {
			o.unavailable = "it is disabled on the form"
			if note := home.byTestID("unavailable-" + o.name); note != nil {
				o.unavailable = textOf(note)
			}
		}
		offers = append(offers, o)
		return false
	})
	return offers
}

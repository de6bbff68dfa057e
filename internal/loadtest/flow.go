package loadtest

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/net/html"
)

// Step names, in the order a flow takes them. Each is one HTTP request, so
// its figures are one round trip each; a Stripe decline repeats
// provider_page, choose_method, approval_page and decision for the retry,
// so those steps have more samples than flows.
const (
	StepHome         = "home"          // GET /
	StepCreate       = "create"        // POST /create-checkout-session: 303, or 200 with a form for a POST redirect
	StepProviderPage = "provider_page" // the provider's first page: Stripe's checkout page, PPRO's approval page
	StepChooseMethod = "choose_method" // Stripe: Amazon Pay chosen on the checkout page (POST, 303)
	StepApprovalPage = "approval_page" // Stripe: the Amazon-Pay-style approval page
	StepDecision     = "decision"      // the approve, decline or cancel button (POST, 303)
	StepReturnPage   = "return_page"   // the storefront's outcome page: /success, /cancel or /return
)

// stepNames is the report's order.
func stepNames() []string {
	return []string{StepHome, StepCreate, StepProviderPage, StepChooseMethod, StepApprovalPage, StepDecision, StepReturnPage}
}

// target is one instance a run drives: its root and, when its sandbox is
// a process of its own, that sandbox's origin (else nil).
type target struct {
	origin, sandbox *url.URL
}

// runner holds what every flow of a run shares.
type runner struct {
	opts      Options
	targets   []target // one per -url entry; a flow goes to targets[spec.Instance]
	transport http.RoundTripper
	rec       *collector
	run       string // this run's id, in names, emails and the User-Agent
}

// flow drives one shopper from the home page to the outcome page and checks
// the outcome, all on the instance it was dealt to (and that instance's
// sandbox). The error, if any, is a *stepError.
func (r *runner) flow(ctx context.Context, spec flowSpec) error {
	t := r.targets[spec.Instance]
	b, err := newBrowser(r.transport, t.origin, t.sandbox, r.opts.RequestTimeout, userAgent(r.run, spec.N), r.rec)
	if err != nil {
		return &stepError{Kind: KindTransport, Step: StepHome, Err: err}
	}
	home, err := b.get(ctx, StepHome, t.origin.JoinPath("/"), http.StatusOK)
	if err != nil {
		return err
	}
	checkout, values, err := fillHome(home, spec, r.run)
	if err != nil {
		return err
	}
	created, err := b.submit(ctx, StepCreate, checkout, values, http.StatusSeeOther, http.StatusOK)
	if err != nil {
		return err
	}
	first, err := providerPage(ctx, b, created)
	if err != nil {
		return err
	}
	var decided *page
	switch spec.Case.Provider {
	case ProviderStripe:
		decided, err = stripeFlow(ctx, b, spec, first)
	default:
		decided, err = b.press(ctx, StepDecision, first, "decision", spec.Case.Decision, http.StatusSeeOther)
	}
	if err != nil {
		return err
	}
	outcome, err := b.follow(ctx, StepReturnPage, decided, http.StatusOK)
	if err != nil {
		return err
	}
	return checkOutcome(outcome, spec, r.opts.Expectations[spec.Case])
}

// fillHome fills the checkout form as a shopper would: a name and email
// unique to the flow, the United States (PPRO serves only the US), the
// provider, the opt-in ticked, and pay-now as dealt. The hidden terms
// version and hash are sent as the page gave them.
func fillHome(home *page, spec flowSpec, run string) (*form, url.Values, error) {
	fail := func(format string, args ...any) (*form, url.Values, error) {
		return nil, nil, &stepError{Kind: KindParse, Step: StepHome, Err: fmt.Errorf("the home page's form: "+format, args...)}
	}
	f, err := home.formWith("checkout form", func(n *html.Node) bool {
		action, _ := attr(n, "action")
		return n.Data == "form" && strings.HasSuffix(action, "/create-checkout-session")
	})
	if err != nil {
		return fail("%v", err)
	}
	values := f.values()
	for _, hidden := range []string{"terms_version", "terms_sha256"} {
		if values.Get(hidden) == "" {
			return fail("no %s", hidden)
		}
	}
	has := func(match func(n *html.Node) bool) *html.Node { return findIn(f.node, match) }
	named := func(tag, name string) func(*html.Node) bool {
		return func(n *html.Node) bool { v, _ := attr(n, "name"); return n.Data == tag && v == name }
	}
	for _, name := range []string{"name", "email"} {
		if has(named("input", name)) == nil {
			return fail("no %s field", name)
		}
	}
	country := has(named("select", "country"))
	if country == nil || findIn(country, func(n *html.Node) bool { v, _ := attr(n, "value"); return n.Data == "option" && v == "US" }) == nil {
		return fail("no country list with US")
	}
	radio := has(control("provider", spec.Case.Provider))
	if radio == nil {
		return fail("no provider %q", spec.Case.Provider)
	}
	if _, disabled := attr(radio, "disabled"); disabled {
		return fail("provider %q is unavailable", spec.Case.Provider)
	}
	consent := has(named("input", "consent"))
	if consent == nil {
		return fail("no consent checkbox")
	}
	values.Set("name", fmt.Sprintf("Load Shopper %s-%d", run, spec.N))
	values.Set("email", fmt.Sprintf("loadtest+%s-%d@example.com", run, spec.N))
	values.Set("country", "US")
	values.Set("provider", spec.Case.Provider)
	values.Set("consent", valueOr(consent, "on"))
	values.Del("pay_now")
	if spec.PayNow {
		payNow := has(named("input", "pay_now"))
		if payNow == nil {
			return fail("no pay_now checkbox")
		}
		values.Set("pay_now", valueOr(payNow, "on"))
	}
	return f, values, nil
}

// providerPage goes from the storefront's answer to the provider's first
// page: a 303 to follow, or (PPRO asking for a POST redirect) a page whose
// form a script would submit, submitted here with its button.
func providerPage(ctx context.Context, b *browser, created *page) (*page, error) {
	if created.status == http.StatusSeeOther {
		target, err := created.location()
		if err != nil {
			return nil, &stepError{Kind: KindParse, Step: StepCreate, Err: err}
		}
		if err := onSandbox(StepCreate, target); err != nil {
			return nil, err
		}
		return b.get(ctx, StepProviderPage, target, http.StatusOK)
	}
	f, err := created.formWith("redirect form (data-autosubmit)", func(n *html.Node) bool {
		_, auto := attr(n, "data-autosubmit")
		return n.Data == "form" && auto
	})
	if err != nil {
		return nil, &stepError{Kind: KindParse, Step: StepCreate, Err: fmt.Errorf("status 200 but %w%s", err, created.errorSummary())}
	}
	action, _ := attr(f.node, "action")
	if target, err := created.url.Parse(action); err != nil {
		return nil, &stepError{Kind: KindParse, Step: StepCreate, Err: fmt.Errorf("redirect form action %q: %w", action, err)}
	} else if err := onSandbox(StepCreate, target); err != nil {
		return nil, err
	}
	return b.submit(ctx, StepProviderPage, f, f.values(), http.StatusOK)
}

// stripeFlow chooses Amazon Pay on Stripe's checkout page and takes the
// decision. After a decline Stripe sends the shopper back to its checkout
// page, which must say so; the flow then tries again and approves, as the
// flow tests do. The answer is the redirect back to the storefront.
func stripeFlow(ctx context.Context, b *browser, spec flowSpec, checkout *page) (*page, error) {
	decision := spec.Case.Decision
	for {
		chosen, err := b.press(ctx, StepChooseMethod, checkout, "method", "amazon_pay", http.StatusSeeOther)
		if err != nil {
			return nil, err
		}
		if target, err := chosen.location(); err != nil {
			return nil, &stepError{Kind: KindParse, Step: StepChooseMethod, Err: err}
		} else if err := onSandbox(StepChooseMethod, target); err != nil {
			return nil, err
		}
		approval, err := b.follow(ctx, StepApprovalPage, chosen, http.StatusOK)
		if err != nil {
			return nil, err
		}
		decided, err := b.press(ctx, StepDecision, approval, "decision", decision, http.StatusSeeOther)
		if err != nil || decision != DecisionDecline {
			return decided, err
		}
		target, err := decided.location()
		if err != nil {
			return nil, &stepError{Kind: KindParse, Step: StepDecision, Err: err}
		}
		if !strings.HasPrefix(target.Path, "/sandbox/") {
			return nil, &stepError{Kind: KindUnexpected, Step: StepDecision,
				Err: fmt.Errorf("after a decline Stripe sent the shopper to %s, want back to its checkout page", target.Path)}
		}
		if checkout, err = b.follow(ctx, StepProviderPage, decided, http.StatusOK); err != nil {
			return nil, err
		}
		if doc, err := checkout.root(); err != nil {
			return nil, &stepError{Kind: KindParse, Step: StepProviderPage, Err: err}
		} else if !strings.Contains(strings.ToLower(textOf(doc)), "declined") {
			return nil, &stepError{Kind: KindUnexpected, Step: StepProviderPage,
				Err: fmt.Errorf("the checkout page after a decline (%s) does not say the attempt was declined", checkout.url.Path)}
		}
		decision = DecisionApprove
	}
}

// onSandbox refuses a provider page outside the built-in sandbox: the
// driver must never drive a real provider's pages.
func onSandbox(step string, target *url.URL) error {
	if strings.HasPrefix(target.Path, "/sandbox/") {
		return nil
	}
	return &stepError{Kind: KindParse, Step: step,
		Err: fmt.Errorf("sent to %s, not a page of the built-in sandbox (/sandbox/…): the driver drives only the sandbox", target.Redacted())}
}

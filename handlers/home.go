package handlers

import (
	"net/http"
	"strings"

	"github.com/a-h/templ"

	"example.com/storefront/countries"
	"example.com/storefront/views"
)

// home shows the plan, the terms, the form and the opt-in. The empty page
// depends only on the configuration, so it is rendered once, in New, and
// served as such until a price change takes effect (then it is rendered
// at the price in effect).
// "Try again" after a failed or cancelled setup comes back with
// ?again=<mandate id>: the form is filled in with what the shopper typed
// then (this browser's own mandate only), the opt-in left for them to tick.
func (h *handler) home(w http.ResponseWriter, r *http.Request) error {
	o, err := h.offer(r.Context())
	if err != nil {
		return err
	}
	if id := r.URL.Query().Get("again"); id != "" && h.owns(r, id) {
		if m, err := h.store.Mandate(r.Context(), id); err == nil {
			f := h.emptyForm(o)
			f.Name, f.Email, f.Country = m.Customer.Name, m.Customer.Email, m.Customer.Country
			if _, ok := h.providers[m.Provider]; ok {
				f.Provider = m.Provider
			}
			f.PayNow = m.FirstPayment != nil
			h.renderHome(w, r, http.StatusOK, o, f, nil)
			return nil
		}
	}
	if o.plan != h.plan { // a price change in effect: not the page rendered in New
		h.renderHome(w, r, http.StatusOK, o, h.emptyForm(o), nil)
		return nil
	}
	writeHTML(w, http.StatusOK, h.homePage)
	return nil
}

// emptyForm is the form as a new visitor sees it.
func (h *handler) emptyForm(o offer) views.Form {
	f := views.Form{TermsVersion: o.terms.Version, TermsSHA256: o.terms.SHA256}
	var available []string
	for _, p := range h.order {
		if p.Eligible("", o.plan.Price) == nil {
			available = append(available, p.Name())
		}
	}
	if len(available) == 1 {
		f.Provider = available[0]
	}
	return f
}

func (h *handler) renderHome(w http.ResponseWriter, r *http.Request, status int, o offer, f views.Form, errs map[string]string) {
	h.render(w, r, status, h.homeComponent(o, f, errs))
}

func (h *handler) homeComponent(o offer, f views.Form, errs map[string]string) templ.Component {
	m := views.Home{
		Chrome:    h.chrome("Set up "+o.plan.Interval.Adverb()+" payments", views.StepTerms),
		Plan:      h.planView(o.plan),
		Terms:     o.terms,
		Form:      f,
		Errors:    errs,
		Countries: countries.ByName(),
	}
	var payNow []string // the providers that can take the first payment for this plan
	for _, p := range h.order {
		opt := views.ProviderOption{Name: p.Name(), Label: providerLabel(p.Name()), Mode: string(p.Mode()), Note: providerNote(p.Name())}
		if err := p.Eligible("", o.plan.Price); err != nil {
			opt.Unavailable = err.Error()
		} else if p.Features().FirstPayment {
			payNow = append(payNow, opt.Label)
		}
		m.Providers = append(m.Providers, opt)
	}
	price, every := o.plan.Price.String(), string(o.plan.Interval)
	m.FinePrint = "You approve the payment method on the provider's page. Your first payment of " + price +
		" is taken as your subscription starts, as soon as your approval is confirmed; then one payment every " + every + ", on the same day."
	if len(payNow) > 0 {
		m.PayNowLabel = "Pay the first " + every + " (" + price + ") together with your approval, on the Amazon Pay page (" +
			strings.Join(payNow, " or ") + " only)."
		m.FinePrint = "You approve the payment method on the provider's page. Your first payment of " + price +
			" is taken as your subscription starts: together with your approval if you tick the box above, otherwise as soon as your approval is confirmed. Then one payment every " +
			every + ", on the same day."
	}
	return views.HomePage(m)
}

func providerNote(name string) string {
	switch name {
	case "stripe":
		return "Stripe's hosted Checkout: approve with Amazon Pay (or save a card)."
	case "ppro":
		return "Amazon Pay through PPRO: shoppers in the United States, USD only."
	}
	return ""
}

package handlers

import (
	"net/http"
	"strings"

	"github.com/a-h/templ"

	"example.com/storefront/countries"
	"example.com/storefront/views"
)

// home shows the plan, the terms, the form and the opt-in. The empty page
// depends only on the configuration, so it is rendered once, in New.
func (h *handler) home(w http.ResponseWriter, r *http.Request) error {
	writeHTML(w, http.StatusOK, h.homePage)
	return nil
}

// emptyForm is the form as a new visitor sees it.
func (h *handler) emptyForm() views.Form {
	f := views.Form{TermsVersion: h.terms.Version, TermsSHA256: h.terms.SHA256}
	var available []string
	for _, p := range h.order {
		if p.Eligible("", h.plan.Price) == nil {
			available = append(available, p.Name())
		}
	}
	if len(available) == 1 {
		f.Provider = available[0]
	}
	return f
}

func (h *handler) renderHome(w http.ResponseWriter, r *http.Request, status int, f views.Form, errs map[string]string) {
	h.render(w, r, status, h.homeComponent(f, errs))
}

func (h *handler) homeComponent(f views.Form, errs map[string]string) templ.Component {
	m := views.Home{
		Chrome:    h.chrome("Set up "+h.plan.Interval.Adverb()+" payments", views.StepTerms),
		Plan:      h.planView(h.plan),
		Terms:     h.terms,
		Form:      f,
		Errors:    errs,
		Countries: countries.ByName(),
	}
	var payNow []string // the providers that can take the first payment for this plan
	for _, p := range h.order {
		o := views.ProviderOption{Name: p.Name(), Label: providerLabel(p.Name()), Mode: string(p.Mode()), Note: providerNote(p.Name())}
		if err := p.Eligible("", h.plan.Price); err != nil {
			o.Unavailable = err.Error()
		} else if p.Features().FirstPayment {
			payNow = append(payNow, o.Label)
		}
		m.Providers = append(m.Providers, o)
	}
	if len(payNow) > 0 {
		m.PayNowLabel = "Also pay the first " + string(h.plan.Interval) + " (" + h.plan.Price.String() + ") now, with " + strings.Join(payNow, " or ") + "."
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

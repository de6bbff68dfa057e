package handlers

import (
	"net/http"

	"example.com/storefront/countries"
	"example.com/storefront/views"
)

// home shows the plan, the terms, the form and the opt-in.
func (h *handler) home(w http.ResponseWriter, r *http.Request) error {
	f := views.Form{TermsVersion: h.terms.Version, TermsSHA256: h.terms.SHA256}
	if len(h.order) == 1 {
		f.Provider = h.order[0].Name()
	}
	h.renderHome(w, r, http.StatusOK, f, nil)
	return nil
}

func (h *handler) renderHome(w http.ResponseWriter, r *http.Request, status int, f views.Form, errs map[string]string) {
	m := views.Home{
		Chrome:    h.chrome("Set up "+h.plan.Interval.Adverb()+" payments", views.StepTerms),
		Plan:      h.planView(h.plan),
		Terms:     h.terms,
		Form:      f,
		Errors:    errs,
		Countries: countries.ByName(),
	}
	for _, p := range h.order {
		m.Providers = append(m.Providers, views.ProviderOption{
			Name: p.Name(), Label: providerLabel(p.Name()), Mode: string(p.Mode()), Note: providerNote(p.Name()),
		})
	}
	h.render(w, r, status, views.HomePage(m))
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

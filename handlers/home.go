package handlers

import (
	"net/http"

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
	if len(h.order) == 1 {
		f.Provider = h.order[0].Name()
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
	for _, p := range h.order {
		m.Providers = append(m.Providers, views.ProviderOption{
			Name: p.Name(), Label: providerLabel(p.Name()), Mode: string(p.Mode()), Note: providerNote(p.Name()),
		})
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

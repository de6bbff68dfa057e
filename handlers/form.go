package handlers

import (
	"errors"
	"net/mail"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"example.com/storefront/countries"
	"example.com/storefront/payments"
	"example.com/storefront/views"
)

// parseForm reads and validates the checkout form. Values come back as
// typed (trimmed) so the page can show them again; errors are keyed by field.
// The terms agreed to must be o's, the ones shown now.
func (h *handler) parseForm(v url.Values, o offer) (views.Form, map[string]string) {
	f := views.Form{
		Name:         strings.TrimSpace(v.Get("name")),
		Email:        strings.TrimSpace(v.Get("email")),
		Country:      strings.ToUpper(strings.TrimSpace(v.Get("country"))),
		Provider:     v.Get("provider"),
		Consent:      v.Get("consent") == "yes",
		PayNow:       v.Get("pay_now") == "yes",
		TermsVersion: v.Get("terms_version"),
		TermsSHA256:  v.Get("terms_sha256"),
	}
	errs := map[string]string{}

	switch n := utf8.RuneCountInString(f.Name); {
	case !utf8.ValidString(f.Name):
		errs["name"] = "Your name contains characters that are not text."
	case n == 0:
		errs["name"] = "Enter your full name."
	case n > 100:
		errs["name"] = "Your name must be at most 100 characters."
	case strings.IndexFunc(f.Name, unicode.IsControl) >= 0:
		errs["name"] = "Your name must not contain control characters."
	case strings.IndexFunc(f.Name, isFormat) >= 0:
		// Bidi overrides and zero-width characters make a name read
		// differently from what is stored (in the dashboard, in exports).
		errs["name"] = "Your name must not contain invisible formatting characters (such as direction marks or zero-width spaces)."
	}

	switch {
	case f.Email == "":
		errs["email"] = "Enter your email address."
	case len(f.Email) > 254 || !validEmail(f.Email):
		errs["email"] = "Enter an email address like name@example.com."
	}

	if f.Country == "" {
		errs["country"] = "Choose your country."
	} else if _, ok := countries.Name(f.Country); !ok {
		errs["country"] = "Choose a country from the list."
		f.Country = ""
	}

	p, ok := h.providers[f.Provider]
	switch {
	case !ok && f.Provider == "":
		errs["provider"] = "Choose a payment provider."
	case !ok:
		errs["provider"] = "Choose one of the payment providers listed."
		f.Provider = ""
	default:
		// The provider's own limits, checked before any API call.
		var ie *payments.IneligibleError
		if err := p.Eligible(f.Country, o.plan.Price); errors.As(err, &ie) {
			field := "provider"
			if ie.Field == "country" && errs["country"] == "" {
				field = "country"
			}
			errs[field] = ie.Reason
		} else if err != nil {
			errs["provider"] = err.Error()
		}
		if f.PayNow && !p.Features().FirstPayment {
			errs["pay_now"] = providerLabel(p.Name()) + " cannot take the first payment now; untick the box or choose another provider."
		}
	}

	switch {
	case f.TermsVersion != o.terms.Version || f.TermsSHA256 != o.terms.SHA256:
		// The shopper agreed to a text we no longer show: ask again.
		errs["consent"] = "The terms changed since this page was loaded. Please read the current terms and tick the box again."
		f.Consent = false
	case !f.Consent:
		errs["consent"] = "Tick the box to give your permission; we cannot set up future payments without it."
	}
	return f, errs
}

// isFormat reports Unicode format characters (category Cf): bidi
// overrides, zero-width joiners and spaces, soft hyphens.
func isFormat(r rune) bool { return unicode.Is(unicode.Cf, r) }

// validEmail accepts a bare address (no display name) with a dotted domain.
func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	domain := s[at+1:]
	return at > 0 && strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

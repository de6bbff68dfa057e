package handlers

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"example.com/storefront/countries"
	"example.com/storefront/payments"
	"example.com/storefront/payments/ppro"
	"example.com/storefront/payments/stripeprovider"
	"example.com/storefront/terms"
)

// fuzzHandler is a handler with real providers (whose Eligible and
// Features make no API call) and the real terms, enough for the form and
// the session cookie.
func fuzzHandler(t testing.TB) *handler {
	t.Helper()
	sp, err := stripeprovider.New(stripeprovider.Config{SecretKey: "sk_test_fuzz", APIURL: "http://127.0.0.1:1", Sandbox: true})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := ppro.NewClient(ppro.Config{BaseURL: "http://127.0.0.1:1", Token: "t", MerchantID: "m"})
	if err != nil {
		t.Fatal(err)
	}
	plan := payments.Plan{Name: "Coffee Club", Price: payments.Money{Amount: 1200, Currency: "USD"}, Interval: payments.Month}
	doc, err := terms.Render(terms.Current, "Northwind Coffee", "support@northwind.example", plan)
	if err != nil {
		t.Fatal(err)
	}
	h := &handler{
		providers: map[string]payments.Provider{},
		plan:      plan,
		terms:     doc,
		sessions:  NewSessionStore([][]byte{[]byte(strings.Repeat("k", 32))}, false),
		log:       slog.New(slog.DiscardHandler),
	}
	for _, p := range []payments.Provider{sp, ppro.NewProvider(pc, payments.ModeSandbox, "")} {
		h.providers[p.Name()] = p
		h.order = append(h.order, p)
	}
	return h
}

// FuzzCheckoutForm feeds the checkout form's body through the same parsing
// as POST /create-checkout-session. Whatever comes in, a form without
// errors must be one the shop can act on: every rule the validation states
// holds for it.
func FuzzCheckoutForm(f *testing.F) {
	h := fuzzHandler(f)
	valid := url.Values{
		"name": {"Ada Lovelace"}, "email": {"ada@example.com"}, "country": {"US"}, "provider": {"ppro"},
		"consent": {"yes"}, "pay_now": {"yes"}, "terms_version": {h.terms.Version}, "terms_sha256": {h.terms.SHA256},
	}
	f.Add(valid.Encode())
	stripe := url.Values{}
	for k, v := range valid {
		stripe[k] = v
	}
	stripe.Set("provider", "stripe")
	stripe.Del("pay_now")
	stripe.Set("country", "de")
	stripe.Set("name", "  Zoë  Ångström-Ødegaard ")
	f.Add(stripe.Encode())
	f.Add("name=%E2%80%AEevil&email=a%40b.co&country=US&provider=stripe&consent=yes")
	f.Add("name=x&name=y&email=not-an-email&country=ZZ&provider=paypal&consent=no")
	f.Add("email=%22a%20b%22%40example.com&country=us&provider=ppro")
	f.Add("%zz=1&name=%00")
	f.Add("")

	f.Fuzz(func(t *testing.T, body string) {
		v, err := url.ParseQuery(body)
		if err != nil {
			return // the handler answers 400 before validating
		}
		form, errs := h.parseForm(v, h.configured())
		for field, msg := range errs {
			switch field {
			case "name", "email", "country", "provider", "pay_now", "consent":
			default:
				t.Fatalf("error on unknown field %q", field)
			}
			if msg == "" {
				t.Fatalf("empty error message for %q", field)
			}
		}
		if len(errs) > 0 {
			return
		}
		if n := utf8.RuneCountInString(form.Name); !utf8.ValidString(form.Name) || n == 0 || n > 100 ||
			strings.IndexFunc(form.Name, unicode.IsControl) >= 0 || strings.IndexFunc(form.Name, isFormat) >= 0 ||
			form.Name != strings.TrimSpace(form.Name) {
			t.Fatalf("accepted name %q", form.Name)
		}
		if len(form.Email) > 254 || !validEmail(form.Email) {
			t.Fatalf("accepted email %q", form.Email)
		}
		if _, ok := countries.Name(form.Country); !ok {
			t.Fatalf("accepted country %q", form.Country)
		}
		p, ok := h.providers[form.Provider]
		if !ok {
			t.Fatalf("accepted provider %q", form.Provider)
		}
		if err := p.Eligible(form.Country, h.plan.Price); err != nil {
			t.Fatalf("accepted %s for %s: %v", form.Provider, form.Country, err)
		}
		if form.PayNow && !p.Features().FirstPayment {
			t.Fatalf("accepted pay_now for %s", form.Provider)
		}
		if !form.Consent || form.TermsVersion != h.terms.Version || form.TermsSHA256 != h.terms.SHA256 {
			t.Fatalf("accepted without consent to the current terms: %+v", form)
		}
	})
}

// FuzzSessionCookie sends arbitrary session cookies. A cookie that does not
// decode starts a new, empty session; only a cookie this shop signed (the
// seeds; the fuzzer runs in other processes, where they are made anew)
// may name mandates, and only those it signed.
func FuzzSessionCookie(f *testing.F) {
	h := fuzzHandler(f)
	signed := map[string]bool{"md_abc": true, "md_def": true, "md_ghi": true}
	for _, ids := range []string{"md_abc", "md_abc md_def md_ghi"} {
		rec := httptest.NewRecorder()
		s, _ := h.sessions.New(httptest.NewRequest(http.MethodGet, "/", nil), sessionName)
		s.Values[mandatesKey] = ids
		if err := s.Save(httptest.NewRequest(http.MethodGet, "/", nil), rec); err != nil {
			f.Fatal(err)
		}
		c := rec.Result().Cookies()[0]
		f.Add(c.Value)
		f.Add(c.Value[:len(c.Value)/2])
		f.Add(strings.ToUpper(c.Value))
	}
	other := NewSessionStore([][]byte{[]byte(strings.Repeat("o", 32))}, false)
	rec := httptest.NewRecorder()
	s, _ := other.New(httptest.NewRequest(http.MethodGet, "/", nil), sessionName)
	s.Values[mandatesKey] = "md_stolen"
	if err := s.Save(httptest.NewRequest(http.MethodGet, "/", nil), rec); err != nil {
		f.Fatal(err)
	}
	f.Add(rec.Result().Cookies()[0].Value) // signed with another key
	f.Add("")
	f.Add("MTcwMDAwMDAwMHx8")
	f.Add(`"quoted|value"`)

	f.Fuzz(func(t *testing.T, value string) {
		r := httptest.NewRequest(http.MethodGet, "/return", nil)
		r.Header.Set("Cookie", sessionName+"="+value)
		s := h.session(r)
		if s == nil {
			t.Fatal("no session")
		}
		ids := remembered(s)
		if s.IsNew && len(ids) > 0 {
			t.Fatalf("a new session names mandates %q", ids)
		}
		for _, id := range ids {
			if !signed[id] {
				t.Fatalf("a cookie this shop never signed opened a session with %q", ids)
			}
		}
		// The session can always be saved again (a new cookie).
		if err := s.Save(r, httptest.NewRecorder()); err != nil {
			t.Fatalf("save: %v", err)
		}
	})
}

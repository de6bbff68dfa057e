package sandbox

import (
	"bytes"
	"embed"
	"io/fs"
	"net/http"
	"strings"

	"github.com/a-h/templ"
)

// Provider-neutral page plumbing: security headers, rendering, static
// files, and the pages that belong to no provider.

// pageCSP allows the sandbox's own stylesheet and nothing else to load.
// form-action must also allow http: and https:, because browsers check
// the target of the 303 that follows a form post, and the sandbox sends
// shoppers back to the merchant's site.
const pageCSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self' http: https:; " +
	"frame-ancestors 'none'; base-uri 'none'"

// pageHeaders sets the headers every sandbox page carries.
func pageHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", pageCSP)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("Cache-Control", "no-store") // pages show live state
		h.ServeHTTP(w, r)
	})
}

//go:embed static
var staticFiles embed.FS

// staticHandler serves the embedded stylesheet under /sandbox/static/.
func staticHandler() http.Handler {
	sub, err := fs.Sub(staticFiles, "static")
	if err != nil {
		panic(err) // the directory is embedded at build time
	}
	files := http.StripPrefix("/sandbox/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") { // no directory listings
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=300")
		files.ServeHTTP(w, r)
	})
}

// Page themes: each provider's pages look like that provider's site.
const (
	themeSandbox   = "sandbox"
	themeStripe    = "stripe"
	themeAmazonPay = "amazon"
)

// pageMeta is what the layout needs.
type pageMeta struct {
	Title    string
	Theme    string
	Base     string // path prefix of the sandbox ("/sandbox")
	Provider string // whose page this imitates ("Stripe"), or ""
	Merchant string
}

func (s *Sandbox) meta(title, theme, provider string) pageMeta {
	return pageMeta{Title: title, Theme: theme, Base: s.basePath, Provider: provider, Merchant: s.cfg.MerchantName}
}

// messageView is a page that says one thing: an outcome or an error.
type messageView struct {
	Title    string
	Body     string
	LinkURL  string
	LinkText string
}

// render renders c fully before writing, so that a failure can still
// become a proper error page.
func (s *Sandbox) render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) {
	var buf bytes.Buffer
	if err := c.Render(r.Context(), &buf); err != nil {
		s.log.Error("sandbox page render", "path", r.URL.Path, "err", err)
		http.Error(w, "The sandbox could not render this page.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	buf.WriteTo(w)
}

// renderMessage renders a one-message page with the given theme.
func (s *Sandbox) renderMessage(w http.ResponseWriter, r *http.Request, status int, m pageMeta, v messageView) {
	s.render(w, r, status, messagePage(m, v))
}

// serverError logs err and shows a generic page: causes stay in the log.
func (s *Sandbox) serverError(w http.ResponseWriter, r *http.Request, m pageMeta, err error) {
	s.log.Error("sandbox page", "method", r.Method, "path", r.URL.Path, "err", err)
	s.renderMessage(w, r, http.StatusInternalServerError, m, messageView{
		Title: "Something went wrong in the sandbox",
		Body:  "The sandbox could not handle this request. The details are in the server log.",
	})
}

func (s *Sandbox) handleIndex(w http.ResponseWriter, r *http.Request) {
	v := indexView{
		Stripe:        s.cfg.Stripe.enabled(),
		StripeAPIBase: s.pageURL("/stripe"),
		Webhooks:      s.cfg.Stripe.WebhookURL != "",
	}
	if c := s.cfg.PPRO; c.enabled() {
		v.PPRO = &pproIndexView{
			APIBase:        s.pageURL("/ppro"),
			RedirectMethod: c.RedirectMethod,
			Webhooks:       c.WebhookURL != "",
		}
	}
	s.render(w, r, http.StatusOK, indexPage(s.meta("Payment sandbox", themeSandbox, ""), v))
}

// indexView describes what the sandbox simulates.
type indexView struct {
	Stripe        bool   // the Stripe part is on
	StripeAPIBase string // what stripe-go's backend URL would be from a browser's point of view
	Webhooks      bool
	PPRO          *pproIndexView // nil when the PPRO part is off
}

// pproIndexView describes the PPRO part.
type pproIndexView struct {
	APIBase        string // the PPRO client's base URL, from a browser's point of view
	RedirectMethod string
	Webhooks       bool
}

func (s *Sandbox) handlePageNotFound(w http.ResponseWriter, r *http.Request) {
	s.renderMessage(w, r, http.StatusNotFound, s.meta("Not found", themeSandbox, ""), messageView{
		Title:    "There is no sandbox page here",
		Body:     "Check the address, or start again from the sandbox's index.",
		LinkURL:  s.basePath + "/",
		LinkText: "Sandbox index",
	})
}

// handleCrossOrigin answers form posts that another site made, which
// http.CrossOriginProtection refuses.
func (s *Sandbox) handleCrossOrigin(w http.ResponseWriter, r *http.Request) {
	s.renderMessage(w, r, http.StatusForbidden, s.meta("Request refused", themeSandbox, ""), messageView{
		Title: "This form was sent from another site",
		Body:  "The sandbox only accepts its own forms. Go back to the page and submit it again.",
	})
}

// knownDecision answers 400, changing nothing, unless decision is one of
// the approval pages' three buttons.
func (s *Sandbox) knownDecision(w http.ResponseWriter, r *http.Request, m pageMeta, decision string) bool {
	switch decision {
	case decisionApprove, decisionDecline, decisionCancel:
		return true
	}
	s.renderMessage(w, r, http.StatusBadRequest, m, messageView{
		Title: "Choose approve, decline or cancel",
		Body:  "The sandbox did not understand the answer; nothing was changed.",
	})
	return false
}

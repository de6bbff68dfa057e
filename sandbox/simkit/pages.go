package simkit

import (
	"bytes"
	"context"
	"embed"
	"io/fs"
	"net/http"
	"net/url"
	"strings"

	"github.com/a-h/templ"
)

// Provider-neutral page plumbing: security headers, cross-origin
// refusals, rendering, static files, and the messages every provider's
// pages share.

// pageCSP allows the sandbox's own stylesheet and nothing else to load.
// form-action must also allow http: and https:, because browsers check
// the target of the 303 that follows a form post, and the sandbox sends
// shoppers back to the merchant's site.
const pageCSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self' http: https:; " +
	"frame-ancestors 'none'; base-uri 'none'"

// AllowSelfFrames lets the page being served embed the sandbox's own
// pages in an iframe, on top of the policy every page has: the mailbox's
// message page frames the message's HTML part so.
func AllowSelfFrames(w http.ResponseWriter) {
	w.Header().Set("Content-Security-Policy", pageCSP+"; frame-src 'self'")
}

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

// Pages wraps the handlers of the sandbox's pages (not of its APIs, which
// are called server to server and authenticate by key): every page carries
// the same security headers, and form posts that another site made are
// refused with one refusal page.
type Pages struct {
	cop     *http.CrossOriginProtection
	refused http.Handler
}

// NewPages returns the page wrappers; refused answers the form posts that
// another site made.
func NewPages(refused http.Handler) *Pages {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(refused)
	return &Pages{cop: cop, refused: refused}
}

// Page wraps a page: security headers, and cross-origin form posts refused.
func (p *Pages) Page(h http.HandlerFunc) http.Handler {
	return pageHeaders(p.cop.Handler(h))
}

// Headers wraps h in the pages' security headers only, for a handler that
// accepts some cross-origin posts and checks the others with SameOrigin.
func (p *Pages) Headers(h http.Handler) http.Handler {
	return pageHeaders(h)
}

// SameOrigin reports whether r passes the cross-origin check that Page
// applies. When it does not, SameOrigin has answered with the refusal page.
func (p *Pages) SameOrigin(w http.ResponseWriter, r *http.Request) bool {
	if err := p.cop.Check(r); err != nil {
		p.refused.ServeHTTP(w, r)
		return false
	}
	return true
}

//go:embed static
var staticFiles embed.FS

// StaticHandler serves the embedded stylesheet under /sandbox/static/.
func StaticHandler() http.Handler {
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
	ThemeSandbox   = "sandbox"
	ThemeStripe    = "stripe"
	ThemeAmazonPay = "amazon"
)

// PageMeta is what the layout needs.
type PageMeta struct {
	Title    string
	Theme    string
	Base     string // path prefix of the sandbox ("/sandbox")
	Provider string // whose page this imitates ("Stripe"), or ""
	Merchant string
}

// Meta describes a page with the given title and theme, imitating
// provider ("" for the sandbox's own pages).
func (h *Host) Meta(title, theme, provider string) PageMeta {
	return PageMeta{Title: title, Theme: theme, Base: h.basePath, Provider: provider, Merchant: h.merchant}
}

// MessageView is a page that says one thing: an outcome or an error.
type MessageView struct {
	Title    string
	Body     string
	LinkURL  string
	LinkText string
}

// Render renders c fully before writing, so that a failure can still
// become a proper error page. c can read the request's query with
// PageQuery.
func (h *Host) Render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) {
	var buf bytes.Buffer
	ctx := context.WithValue(r.Context(), pageQueryKey{}, r.URL.Query())
	if err := c.Render(ctx, &buf); err != nil {
		h.log.Error("sandbox page render", "path", r.URL.Path, "err", err)
		http.Error(w, "The sandbox could not render this page.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	buf.WriteTo(w)
}

type pageQueryKey struct{}

// PageQuery is the query of the page request that Render is rendering (nil
// outside Render). It is for components built before the request is known,
// such as a provider's section of the index page, which shows the
// confirmation that its forms redirect back with.
func PageQuery(ctx context.Context) url.Values {
	q, _ := ctx.Value(pageQueryKey{}).(url.Values)
	return q
}

// RenderMessage renders a one-message page with the given theme.
func (h *Host) RenderMessage(w http.ResponseWriter, r *http.Request, status int, m PageMeta, v MessageView) {
	h.Render(w, r, status, messagePage(m, v))
}

// ServerError logs err and shows a generic page: causes stay in the log.
func (h *Host) ServerError(w http.ResponseWriter, r *http.Request, m PageMeta, err error) {
	h.log.Error("sandbox page", "method", r.Method, "path", r.URL.Path, "err", err)
	h.RenderMessage(w, r, http.StatusInternalServerError, m, MessageView{
		Title: "Something went wrong in the sandbox",
		Body:  "The sandbox could not handle this request. The details are in the server log.",
	})
}

// NotFound is the page for a provider page whose id is unknown, in the
// provider's theme.
func (h *Host) NotFound(w http.ResponseWriter, r *http.Request, theme, provider string) {
	h.RenderMessage(w, r, http.StatusNotFound, h.Meta("Not found", theme, provider), MessageView{
		Title: "This page does not exist",
		Body:  "The link may be mistyped, or it belongs to another sandbox database.",
	})
}

// Decisions on the approval pages, as their buttons send them. Both
// providers' Amazon Pay pages offer the same three.
const (
	DecisionApprove = "approve"
	DecisionDecline = "decline"
	DecisionCancel  = "cancel"
)

// KnownDecision answers 400, changing nothing, unless decision is one of
// the approval pages' three buttons.
func (h *Host) KnownDecision(w http.ResponseWriter, r *http.Request, m PageMeta, decision string) bool {
	switch decision {
	case DecisionApprove, DecisionDecline, DecisionCancel:
		return true
	}
	h.RenderMessage(w, r, http.StatusBadRequest, m, MessageView{
		Title: "Choose approve, decline or cancel",
		Body:  "The sandbox did not understand the answer; nothing was changed.",
	})
	return false
}

// Package handlers is the storefront's HTTP layer: one file per page or
// flow, a routes.go listing every route, and middleware. Handlers depend on
// the small interfaces below and on payments.Provider, never on a concrete
// provider client.
package handlers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/gorilla/sessions"

	"example.com/storefront/mandate"
	"example.com/storefront/payments"
	"example.com/storefront/store"
	"example.com/storefront/terms"
	"example.com/storefront/views"
)

// Store is what the handlers need from the database.
type Store interface {
	CreateMandate(ctx context.Context, n store.NewMandate) (store.Mandate, error)
	SetProviderRef(ctx context.Context, id, ref, firstPaymentRef string) error
	UpdateFirstPayment(ctx context.Context, mandateID string, r payments.ChargeResult) (bool, error)
	ProviderCustomerRef(ctx context.Context, customerID int64, provider string) (string, error)
	SetProviderCustomerRef(ctx context.Context, customerID int64, provider, ref string) error
	Mandate(ctx context.Context, id string) (store.Mandate, error)
	MandateByProviderRef(ctx context.Context, provider, ref string) (store.Mandate, error)
	Transition(ctx context.Context, id string, to mandate.Status, c store.Change) (store.Mandate, mandate.Decision, error)
	NoteError(ctx context.Context, id, problem string) error
	WebhookEventSeen(ctx context.Context, provider, eventID string) (bool, error)
	RecordWebhookEvent(ctx context.Context, provider, eventID, eventType, mandateID string) error
}

// Config is everything the handlers depend on.
type Config struct {
	Store Store
	// Providers in the order the form offers them.
	Providers []payments.Provider
	// Sessions stores the browser session; see NewSessionStore.
	Sessions *sessions.CookieStore
	Merchant string
	Plan     payments.Plan
	// BaseURL is the public URL of the app, without a trailing slash; the
	// providers send the shopper back to it.
	BaseURL string
	// FormActionOrigins are extra origins the checkout form may end up at
	// after its redirect (browsers check CSP form-action on redirects);
	// https: is always allowed, so this is for plain-http provider pages
	// such as a sandbox on another port.
	FormActionOrigins []string
	Logger            *slog.Logger
}

type handler struct {
	store     Store
	providers map[string]payments.Provider
	order     []payments.Provider
	sessions  *sessions.CookieStore
	merchant  string
	plan      payments.Plan
	terms     terms.Document
	baseURL   string
	log       *slog.Logger
	csp       string
	homePage  []byte // GET / as a new visitor sees it
}

// New returns the storefront's handler with its middleware.
func New(cfg Config) (http.Handler, error) {
	if cfg.Store == nil || cfg.Sessions == nil || len(cfg.Providers) == 0 {
		return nil, errors.New("handlers: Store, Sessions and at least one provider are required")
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("handlers: BaseURL %q is not an absolute http(s) URL", cfg.BaseURL)
	}
	doc, err := terms.Render(terms.Current, cfg.Merchant, cfg.Plan)
	if err != nil {
		return nil, fmt.Errorf("handlers: %w", err)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	h := &handler{
		store:     cfg.Store,
		providers: make(map[string]payments.Provider),
		order:     cfg.Providers,
		sessions:  cfg.Sessions,
		merchant:  cfg.Merchant,
		plan:      cfg.Plan,
		terms:     doc,
		baseURL:   strings.TrimSuffix(cfg.BaseURL, "/"),
		log:       logger,
		csp:       contentSecurityPolicy(cfg.FormActionOrigins),
	}
	for _, p := range cfg.Providers {
		h.providers[p.Name()] = p
	}
	var buf bytes.Buffer
	if err := h.homeComponent(h.emptyForm(), nil).Render(context.Background(), &buf); err != nil {
		return nil, fmt.Errorf("handlers: render home page: %w", err)
	}
	h.homePage = buf.Bytes()
	return h.routes(), nil
}

// chrome is the layout data for a page.
func (h *handler) chrome(title string, step views.Step) views.Chrome {
	c := views.Chrome{Title: title, Merchant: h.merchant, Step: step}
	for _, p := range h.order {
		c.Badges = append(c.Badges, views.Badge{Provider: providerLabel(p.Name()), Mode: string(p.Mode())})
	}
	return c
}

func (h *handler) planView(p payments.Plan) views.Plan {
	return views.Plan{Name: p.Name, Price: p.Price.String(), Interval: string(p.Interval), Adverb: p.Interval.Adverb()}
}

func providerLabel(name string) string {
	switch name {
	case "stripe":
		return "Stripe"
	case "ppro":
		return "PPRO"
	}
	return name
}

func methodLabel(t string) string {
	switch t {
	case "amazon_pay", "AMAZON_PAY":
		return "Amazon Pay account"
	case "card":
		return "card"
	case "":
		return "payment method"
	}
	return strings.ReplaceAll(t, "_", " ")
}

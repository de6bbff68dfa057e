// Package handlers is the storefront's HTTP layer: one file per page or
// flow, a routes.go listing every route, and middleware. Handlers depend on
// the small interfaces below and on payments.Provider, never on a concrete
// provider client.
package handlers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/sessions"

	"example.com/storefront/mandate"
	"example.com/storefront/payments"
	"example.com/storefront/service"
	"example.com/storefront/shopperlink"
	"example.com/storefront/store"
	"example.com/storefront/terms"
	"example.com/storefront/views"
)

// Store is what the handlers read and write directly; everything that
// involves a provider goes through the service.
type Store interface {
	CreateMandate(ctx context.Context, n store.NewMandate) (store.Mandate, error)
	SetSetupRefs(ctx context.Context, id, ref, firstPaymentRef, customerRef string) error
	SetCustomerRef(ctx context.Context, mandateID, ref string) error
	Mandate(ctx context.Context, id string) (store.Mandate, error)
	MandateByProviderRef(ctx context.Context, provider, ref string) (store.Mandate, error)
	Transition(ctx context.Context, id string, to mandate.Status, c store.Change) (store.Mandate, mandate.Decision, error)
	NoteError(ctx context.Context, id, problem string) error
	UpdateFirstPayment(ctx context.Context, mandateID string, r payments.ChargeResult) (bool, error)
	StoreWebhookEvent(ctx context.Context, provider string, ev payments.Event) (store.WebhookEvent, bool, error)
	StoreWebhookEventClaimed(ctx context.Context, provider string, ev payments.Event, lease time.Duration) (store.WebhookEvent, bool, error)
	ClaimWebhookEvent(ctx context.Context, id int64, lease time.Duration) (bool, error)
	FinishWebhookEvent(ctx context.Context, id int64, status, outcome, mandateID string) error
	RetryWebhookEvent(ctx context.Context, id int64, problem string, next time.Time) error
	// EnqueueMessage writes a message no other change causes (a fresh
	// link the shopper asked for) to the outbox.
	EnqueueMessage(ctx context.Context, m store.NewMessage) (bool, error)

	// The merchant's dashboard.
	CreateAdminSession(ctx context.Context, ttl time.Duration) (string, error)
	AdminSession(ctx context.Context, token string) error
	EndAdminSession(ctx context.Context, token string) error
	IssueFormToken(ctx context.Context, mandateID, purpose string) (string, error)
	UseFormToken(ctx context.Context, token, purpose, mandateID string) error
	IssueAdminToken(ctx context.Context, purpose string) (string, error)
	UseAdminToken(ctx context.Context, token, purpose string) error
	ListMandates(ctx context.Context, f store.ListFilter) ([]store.MandateSummary, string, error)
	CountMandates(ctx context.Context, provider string) (store.Counts, error)
	EachConsent(ctx context.Context, fn func(store.ConsentRow) error) error
	EachListedConsent(ctx context.Context, f store.ListFilter, fn func(store.ConsentRow) error) error
	EachPayment(ctx context.Context, f store.ListFilter, fn func(store.PaymentRow) error) error
	EachRefund(ctx context.Context, f store.ListFilter, fn func(store.RefundRow) error) error
	History(ctx context.Context, id string) ([]store.Event, error)
	Charges(ctx context.Context, mandateID string) ([]store.Charge, error)
	Operations(ctx context.Context, mandateID string) (map[int64][]store.Operation, error)
	Refunds(ctx context.Context, mandateID string) ([]store.Refund, error)
	Disputes(ctx context.Context, mandateID string) ([]store.Dispute, error)
	Billing(ctx context.Context, mandateID string) (store.Billing, error)
	BillingEvents(ctx context.Context, mandateID string) ([]store.BillingEvent, error)
	TermsPrice(ctx context.Context, m store.Mandate) (store.Price, error)
	PriceFor(ctx context.Context, m store.Mandate, due time.Time) (store.Price, error)
	CancelAtPeriodEnd(ctx context.Context, mandateID string) (store.Billing, bool, error)
	TakeLoginAttempt(ctx context.Context, client string, limit int, window time.Duration) (int64, bool, time.Duration, error)
	ReturnLoginAttempt(ctx context.Context, id int64) error

	// Price changes of the plan (the dashboard, new checkouts).
	CurrentPlan(ctx context.Context, plan payments.Plan) (payments.Plan, error)
	PriceChanges(ctx context.Context, limit int) ([]store.PriceChange, error)
	MandatePrices(ctx context.Context, mandateID string) ([]store.MandatePrice, error)

	// The activity log: the shop's, a page at a time, and one mandate's.
	Activity(ctx context.Context, cursor string, limit int) ([]store.Activity, string, error)
	MandateActivity(ctx context.Context, mandateID string) ([]store.Activity, error)
	// The money view, and each mandate's paid to date and next payment.
	Money(ctx context.Context, from, to time.Time) (store.Money, error)
	MandatesMoney(ctx context.Context, ids []string) (map[string]store.MandateMoney, error)

	// Emails to shoppers, in the outbox.
	Messages(ctx context.Context, mandateID string) ([]store.Message, error)
	CountMessages(ctx context.Context) (store.MessageCounts, error)
	UndeliveredMessages(ctx context.Context, status string, limit int) ([]store.Message, error)
	ResendMessage(ctx context.Context, id int64) (bool, error)

	// Ping says whether the database answers (/healthz).
	Ping(ctx context.Context) error
}

// Config is everything the handlers depend on.
type Config struct {
	Store   Store
	Service *service.Service
	// Providers in the order the form offers them.
	Providers []payments.Provider
	// Sessions stores the browser session; see NewSessionStore.
	Sessions *sessions.CookieStore
	Merchant string
	Plan     payments.Plan
	// BaseURL is the public URL of the app, without a trailing slash; the
	// providers send the shopper back to it.
	BaseURL string
	// FormActionOrigins are the origins the checkout form may end up at
	// after its redirect (browsers check CSP form-action on redirects): the
	// providers' pages.
	FormActionOrigins []string
	// SandboxURL is the sandbox's index page, which the footer links to
	// in an all-sandbox demo: another origin for a sandbox in its own
	// process; "" → /sandbox/ on this listener.
	SandboxURL string
	// SetupLifetime is how long an unfinished setup stays open at a
	// provider that takes an expiry (Stripe); 0 leaves the provider's.
	SetupLifetime time.Duration
	// Limits are the per-client request limits; the zero value is off.
	Limits Limits
	// TrustedProxies are the networks whose X-Forwarded-For is believed
	// for the client's address; none means the connection's address.
	TrustedProxies []netip.Prefix
	// ProcessLater hands a stored webhook event to the background worker
	// (nil: it is processed on its next pass).
	ProcessLater func()
	// RetryNow makes the next scheduled attempt of a past-due period now,
	// if it still has failures declines (the worker's RetryNow); nil: the
	// dashboard offers no "retry now".
	RetryNow func(ctx context.Context, mandateID string, failures int) (store.Charge, error)
	// Draining, when it says true, makes /healthz answer 503 so that a
	// load balancer sends no new requests while the process finishes the
	// ones it has (after SIGTERM); nil: never.
	Draining func() bool
	// Admin is the merchant's dashboard: its password, and the demo clock.
	Admin Admin
	// LinkKey signs the links to a shopper's own mandate page (at least
	// 32 bytes).
	LinkKey []byte
	// MerchantEmail is where shoppers write to cancel or ask.
	MerchantEmail string
	// MailDelivery says that messages to shoppers are delivered (SMTP_URL,
	// or the sandbox's mailbox); false: they wait in the outbox, and the
	// dashboard says so.
	MailDelivery bool
	// Retries is the billing worker's retry schedule, for the dashboard.
	Retries []time.Duration
	// Now is the clock of records (the demo clock in an all-sandbox demo).
	Now    func() time.Time
	Logger *slog.Logger
}

type handler struct {
	store          Store
	svc            *service.Service
	providers      map[string]payments.Provider
	order          []payments.Provider
	sessions       *sessions.CookieStore
	merchant       string
	plan           payments.Plan
	terms          terms.Document
	baseURL        string
	setupLifetime  time.Duration
	limits         *limiters
	loginFailures  int // per loginWindow and client
	trustedProxies []netip.Prefix
	processLater   func()
	retryNow       func(ctx context.Context, mandateID string, failures int) (store.Charge, error)
	draining       func() bool
	admin          Admin
	links          shopperlink.Signer
	adminKey       []byte // signs admin session cookies; changes with the password
	merchantEmail  string
	mailDelivery   bool
	retries        []time.Duration
	now            func() time.Time
	log            *slog.Logger
	csp            string
	homePage       homeCache // GET / as a new visitor sees it
	sandboxURL     string
}

// New returns the storefront's handler with its middleware.
func New(cfg Config) (http.Handler, error) {
	if cfg.Store == nil || cfg.Service == nil || cfg.Sessions == nil || len(cfg.Providers) == 0 {
		return nil, errors.New("handlers: Store, Service, Sessions and at least one provider are required")
	}
	if cfg.Admin.Password == "" || len(cfg.LinkKey) < 32 || cfg.MerchantEmail == "" {
		return nil, errors.New("handlers: an admin password, a link key of 32 bytes or more and the merchant's email are required")
	}
	if cfg.Admin.SessionTTL <= 0 {
		cfg.Admin.SessionTTL = 8 * time.Hour
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("handlers: BaseURL %q is not an absolute http(s) URL", cfg.BaseURL)
	}
	doc, err := terms.Render(terms.Current, cfg.Merchant, cfg.MerchantEmail, cfg.Plan)
	if err != nil {
		return nil, fmt.Errorf("handlers: %w", err)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	h := &handler{
		store:          cfg.Store,
		svc:            cfg.Service,
		providers:      make(map[string]payments.Provider),
		order:          cfg.Providers,
		sessions:       cfg.Sessions,
		merchant:       cfg.Merchant,
		plan:           cfg.Plan,
		terms:          doc,
		baseURL:        strings.TrimSuffix(cfg.BaseURL, "/"),
		setupLifetime:  cfg.SetupLifetime,
		limits:         newLimiters(cfg.Limits),
		loginFailures:  cmp.Or(max(cfg.Limits.LoginFailures, 0), 5),
		trustedProxies: cfg.TrustedProxies,
		processLater:   cfg.ProcessLater,
		retryNow:       cfg.RetryNow,
		draining:       cfg.Draining,
		admin:          cfg.Admin,
		links:          shopperlink.New(cfg.LinkKey, shopperLinkTTL),
		adminKey:       derive(cfg.LinkKey, "admin-session\x00"+cfg.Admin.Password),
		merchantEmail:  cfg.MerchantEmail,
		mailDelivery:   cfg.MailDelivery,
		retries:        cfg.Retries,
		now:            cfg.Now,
		log:            logger,
		csp:            contentSecurityPolicy(cfg.FormActionOrigins),
		sandboxURL:     cmp.Or(cfg.SandboxURL, "/sandbox/"),
	}
	if h.draining == nil {
		h.draining = func() bool { return false }
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.processLater == nil {
		h.processLater = func() {}
	}
	for _, p := range cfg.Providers {
		h.providers[p.Name()] = p
	}
	if h.homePage.configured, err = h.renderHomePage(h.configured()); err != nil {
		return nil, fmt.Errorf("handlers: %w", err)
	}
	return h.routes(), nil
}

// chrome is the layout data for a page.
func (h *handler) chrome(title string, step views.Step) views.Chrome {
	c := views.Chrome{Title: title, Merchant: h.merchant, Step: step, Contact: h.merchantEmail, Sandbox: true, SandboxURL: h.sandboxURL}
	for _, p := range h.order {
		c.Badges = append(c.Badges, views.Badge{Provider: providerLabel(p.Name()), Mode: string(p.Mode())})
		c.Sandbox = c.Sandbox && p.Mode() == payments.ModeSandbox
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

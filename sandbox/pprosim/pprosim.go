// Package pprosim is the sandbox's stand-in for PPRO: the subset of PPRO's
// API the storefront calls (payment agreements for Amazon Pay with REDIRECT
// authentication, their charges and revocations, the charge search and
// refunds) with PPRO's paths, JSON bodies, ids, statuses, failures, error
// bodies, bearer token, Merchant-Id and idempotency keys, so that the app's
// PPRO client runs against it unchanged; the Amazon Pay approval page a
// shopper reaches through PPRO; what happens outside the app in real life
// (a shopper or Amazon Pay revoking an agreement), on the sandbox's index
// page; and PPRO's webhooks (CloudEvents), signed.
//
// It also plays PPRO's hard cases on demand: magic amounts for pending,
// asynchronous and charged-back charges and for refunds that fail
// (later.go, chargebacks.go), and Settings for what no amount can carry
// (an unechoed charge reference, a revocation read late, a key in flight).
//
// It runs on a simkit.Host, which it shares with the other providers'
// stand-ins; package sandbox mounts it.
package pprosim // import "example.com/storefront/sandbox/pprosim"

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"example.com/storefront/sandbox/simkit"
	"github.com/a-h/templ"
)

// Provider names the PPRO part in the rows it shares with other providers
// (events, idempotency keys) and in the Host's webhook endpoints.
const Provider = "ppro"

// Config configures the PPRO part.
type Config struct {
	APIToken   string // the only bearer token the API accepts; required
	MerchantID string // the Merchant-Id the API requires on every call (e.g. "merch_…"); required
	// RedirectMethod is the requestMethod the agreements' REDIRECT
	// authentication method names: "GET" ("" means GET) or "POST". With
	// POST the authentication page accepts the shopper's cross-site form
	// POST (which carries no state change).
	RedirectMethod string
}

// Sim is the PPRO stand-in: its API and its approval page.
type Sim struct {
	host     *simkit.Host
	cfg      Config
	settings settingsBox
}

// New returns the PPRO part, running on host.
func New(host *simkit.Host, cfg Config) *Sim {
	if cfg.RedirectMethod == "" {
		cfg.RedirectMethod = http.MethodGet
	}
	s := &Sim{host: host, cfg: cfg}
	// What a previous run left due is done once a settle delay has
	// passed in real time, as if its timers had survived the restart:
	// everything due by then on the clock as it stood at the start, which
	// is all a previous run set up with the default delay, and nothing
	// set up later with a longer one.
	start := host.Now()
	host.After(DefaultSettleAfter, func(ctx context.Context) { s.pproCatchUpTo(ctx, start.Add(DefaultSettleAfter)) })
	return s
}

// Routes mounts the API under /sandbox/ppro/v1/, the approval page under
// /sandbox/ppro/authenticate/ and the index page's forms under
// /sandbox/ppro/agreements/, wrapped by pages.
func (s *Sim) Routes(mux *http.ServeMux, pages *simkit.Pages) {
	s.pproAPIRoutes(mux)
	s.pproPageRoutes(mux, pages)
	s.pproOutsideRoutes(mux, pages)
	s.pproSettingsRoutes(mux, pages)
}

// IndexSection describes the PPRO part, its magic amounts and the
// merchant's newest agreements (with what a shopper or Amazon Pay can do to
// them) on the sandbox's index page. The agreements are read when the
// section renders, so the component carries the request's context.
func (s *Sim) IndexSection() templ.Component {
	return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		agreements, err := s.indexAgreements(ctx)
		if err != nil {
			return fmt.Errorf("ppro index section: %w", err)
		}
		chargebacks, err := s.Chargebacks(ctx)
		if err != nil {
			return fmt.Errorf("ppro index section: %w", err)
		}
		return indexSection(indexView{
			APIBase:        s.host.PageURL("/ppro"),
			RedirectMethod: s.cfg.RedirectMethod,
			Webhooks:       s.host.WebhooksEnabled(Provider),
			Agreements:     agreements,
			ListLimit:      indexAgreementLimit,
			Settings:       s.Settings(),
			SettingsAction: s.host.BasePath() + "/ppro/settings",
			Chargebacks:    s.indexChargebacks(chargebacks),
			Notice:         revocationNotice(simkit.PageQuery(ctx)),
		}).Render(ctx, w)
	})
}

// indexView is what the index section shows.
type indexView struct {
	APIBase        string // the PPRO client's base URL, from a browser's point of view
	RedirectMethod string
	Webhooks       bool
	Agreements     []indexAgreement // newest first
	ListLimit      int
	Settings       Settings
	SettingsAction string
	Chargebacks    []indexChargeback // newest first
	// Notice confirms the last revocation, beside the agreements (the
	// page comes back there): "" when the page was not reached by one.
	Notice string
}

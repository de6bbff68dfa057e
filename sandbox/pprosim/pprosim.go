// Package pprosim is the sandbox's stand-in for PPRO: the subset of PPRO's
// API the storefront calls (payment agreements for Amazon Pay with REDIRECT
// authentication, their charges and revocations) with PPRO's paths, JSON
// bodies, ids, statuses, failures, error bodies, bearer token, Merchant-Id
// and idempotency keys, so that the app's PPRO client runs against it
// unchanged; the Amazon Pay approval page a shopper reaches through PPRO;
// and PPRO's webhooks (CloudEvents).
//
// It runs on a simkit.Host, which it shares with the other providers'
// stand-ins; package sandbox mounts it.
package pprosim // import "example.com/storefront/sandbox/pprosim"

import (
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
	host *simkit.Host
	cfg  Config
}

// New returns the PPRO part, running on host.
func New(host *simkit.Host, cfg Config) *Sim {
	if cfg.RedirectMethod == "" {
		cfg.RedirectMethod = http.MethodGet
	}
	return &Sim{host: host, cfg: cfg}
}

// Routes mounts the API under /sandbox/ppro/v1/ and the approval page
// under /sandbox/ppro/authenticate/, wrapped by pages.
func (s *Sim) Routes(mux *http.ServeMux, pages *simkit.Pages) {
	s.pproAPIRoutes(mux)
	s.pproPageRoutes(mux, pages)
}

// IndexSection describes the PPRO part and its magic amounts on the
// sandbox's index page.
func (s *Sim) IndexSection() templ.Component {
	return indexSection(indexView{
		APIBase:        s.host.PageURL("/ppro"),
		RedirectMethod: s.cfg.RedirectMethod,
		Webhooks:       s.host.WebhooksEnabled(Provider),
	})
}

// indexView is what the index section shows.
type indexView struct {
	APIBase        string // the PPRO client's base URL, from a browser's point of view
	RedirectMethod string
	Webhooks       bool
}

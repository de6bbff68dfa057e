// Package stripesim is the sandbox's stand-in for Stripe: the subset of
// Stripe's API the storefront calls (customers, Checkout Sessions in setup
// mode, SetupIntents, PaymentMethods) with Stripe's paths, parameters,
// ids, statuses, errors, API keys and idempotency keys, so that stripe-go
// runs against it unchanged; the hosted Checkout page and the Amazon Pay
// approval page a shopper sees; and signed webhook events.
//
// It runs on a simkit.Host, which it shares with the other providers'
// stand-ins; package sandbox mounts it.
package stripesim // import "example.com/storefront/sandbox/stripesim"

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"

	"example.com/storefront/sandbox/simkit"
	"github.com/a-h/templ"
)

// Provider names the Stripe part in the rows it shares with other
// providers (events, idempotency keys) and in the Host's webhook
// endpoints.
const Provider = "stripe"

// Config configures the Stripe part.
type Config struct {
	SecretKey string // the only API key the API accepts (e.g. "sk_test_sandbox_…"); required
}

// Sim is the Stripe stand-in: its API and its hosted pages.
type Sim struct {
	host *simkit.Host
	cfg  Config

	// scope scopes idempotency keys to the API key without storing the
	// key itself.
	scope string
}

// New returns the Stripe part, running on host.
func New(host *simkit.Host, cfg Config) *Sim {
	return &Sim{host: host, cfg: cfg, scope: keyScope(cfg.SecretKey)}
}

// Routes mounts the API under /sandbox/stripe/v1/ and the hosted pages
// under /sandbox/stripe/, wrapped by pages.
func (s *Sim) Routes(mux *http.ServeMux, pages *simkit.Pages) {
	s.stripeAPIRoutes(mux)
	s.stripePageRoutes(mux, pages)
}

// IndexSection describes the Stripe part on the sandbox's index page.
func (s *Sim) IndexSection() templ.Component {
	return indexSection(indexView{
		APIBase:  s.host.PageURL("/stripe"),
		Webhooks: s.host.WebhooksEnabled(Provider),
	})
}

// indexView is what the index section shows.
type indexView struct {
	APIBase  string // what stripe-go's backend URL would be from a browser's point of view
	Webhooks bool
}

// keyScope names an API key in the database without storing it.
func keyScope(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:8])
}

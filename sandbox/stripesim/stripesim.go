// Package stripesim is the sandbox's stand-in for Stripe: the subset of
// Stripe's API the storefront calls (the account, customers, Checkout
// Sessions in setup mode, SetupIntents, PaymentMethods and their
// mandates, off-session PaymentIntents, charges, refunds and disputes)
// with Stripe's paths, parameters, ids, statuses, errors, API keys and
// idempotency keys, so that stripe-go runs against it unchanged; Stripe's
// hard cases on demand (magic amounts, charges.go and refunds.go, and
// Settings), with what Stripe does later on its own (due.go); the
// hosted Checkout page and the Amazon Pay approval page a shopper sees;
// the index page's list of saved payment methods, with what happens to
// them outside the app (a detach, Amazon revoking a mandate); and signed
// webhook events.
//
// It runs on a simkit.Host, which it shares with the other providers'
// stand-ins; package sandbox mounts it.
package stripesim // import "example.com/storefront/sandbox/stripesim"

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"example.com/storefront/sandbox/simkit"
)

// Provider names the Stripe part in the rows it shares with other
// providers (events, idempotency keys) and in the Host's webhook
// endpoints.
const Provider = "stripe"

// Config configures the Stripe part.
type Config struct {
	SecretKey string // the only API key the API accepts (e.g. "sk_test_sandbox_…"); required
	// AccountCountry is the sandbox account's country (ISO 3166-1 alpha-2),
	// one of the countries where Stripe offers Amazon Pay; "" → "US". It
	// sets the account's default currency, and a US account charges Amazon
	// Pay in usd only.
	AccountCountry string
}

// Validate reports what is wrong with c, if anything.
func (c Config) Validate() error {
	if c.SecretKey == "" {
		return errors.New("SecretKey is required")
	}
	if c.AccountCountry != "" && !slices.Contains(amazonPayCountries, c.AccountCountry) {
		return fmt.Errorf("AccountCountry %q is not a country where Stripe offers Amazon Pay (%s)",
			c.AccountCountry, strings.Join(amazonPayCountries, ", "))
	}
	return nil
}

// Sim is the Stripe stand-in: its API and its hosted pages.
type Sim struct {
	host *simkit.Host
	cfg  Config

	// scope scopes idempotency keys to the API key without storing the
	// key itself.
	scope string

	mu       sync.Mutex // guards settings
	settings Settings
}

// New returns the Stripe part, running on host. cfg must be valid (see
// Config.Validate).
func New(host *simkit.Host, cfg Config) *Sim {
	if cfg.AccountCountry == "" {
		cfg.AccountCountry = DefaultAccountCountry
	}
	s := &Sim{host: host, cfg: cfg, scope: keyScope(cfg.SecretKey)}
	s.resumeLater()
	return s
}

// Routes mounts the API under /sandbox/stripe/v1/, and the hosted pages
// and the index page's forms under /sandbox/stripe/, wrapped by pages.
func (s *Sim) Routes(mux *http.ServeMux, pages *simkit.Pages) {
	s.stripeAPIRoutes(mux)
	s.stripePageRoutes(mux, pages)
	s.stripeIndexRoutes(mux, pages)
}

// keyScope names an API key in the database without storing it.
func keyScope(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:8])
}

// Package service carries out what the storefront's pages, its merchant
// dashboard and its background worker ask of a payment provider, and
// records the provider's answers: start and verify a setup, charge, refund,
// revoke, and process a stored webhook event.
//
// Two rules hold everywhere. Truth comes from the provider's API: a page,
// a webhook payload or a form says what to look at, never what happened.
// And where money moves, the row is written before the provider is called
// and its idempotency key comes from that row, so a retry after a timeout,
// a crash or a restart finds the same payment at the provider, never a
// second one.
package service

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"example.com/storefront/mandate"
	"example.com/storefront/payments"
	"example.com/storefront/store"
)

// Config is what a Service needs.
type Config struct {
	Store *store.Store
	// Providers by name; a mandate whose provider is missing, or whose mode
	// differs from its provider's now, is left alone.
	Providers []payments.Provider
	Logger    *slog.Logger
	// FetchLimit bounds how often one object (an agreement, a payment) is
	// fetched because webhooks asked: at most once per FetchLimit; 0 means
	// two seconds. A flood of forged or repeated events about one object
	// then costs one provider call.
	FetchLimit time.Duration
	// OnActive, if set, is called after a mandate became active, by any
	// path (a webhook, the return page, reconciliation): billing starts
	// then, so main wakes the worker with it (Worker.Nudge) and period 1
	// is charged at once, not at the next pass. It must not block.
	OnActive func(mandateID string)
	// UnsignedEvents bounds how many events a minute from a provider whose
	// webhooks are not signed (PPRO without a webhook secret) are
	// processed, all objects together; 0 means 60. Anyone can send those,
	// naming a new id in each, and each could cost a provider call.
	UnsignedEvents int
}

// Service carries out provider work and records its outcome.
type Service struct {
	store     *store.Store
	providers map[string]payments.Provider
	log       *slog.Logger
	fetches   *objectLimiter
	realNow   func() time.Time
	onActive  func(mandateID string)
	unsigned  *budget                // events of unsigned webhooks, all objects together
	revokes   flights[store.Mandate] // one revocation per mandate at a time
	verifies  flights[store.Mandate] // one setup fetch per mandate at a time
}

// New returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || len(cfg.Providers) == 0 {
		return nil, errors.New("service: a store and at least one provider are required")
	}
	s := &Service{store: cfg.Store, providers: map[string]payments.Provider{}, log: cfg.Logger,
		// Real time, whatever the demo clock says (a provider keeps keys for
		// 24 hours of it): the store's, on which leases are measured too.
		realNow: cfg.Store.RealNow, onActive: cfg.OnActive}
	if s.onActive == nil {
		s.onActive = func(string) {}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	for _, p := range cfg.Providers {
		s.providers[p.Name()] = p
	}
	limit := cfg.FetchLimit
	if limit <= 0 {
		limit = 2 * time.Second
	}
	s.fetches = newObjectLimiter(limit, 10_000)
	if cfg.UnsignedEvents <= 0 {
		cfg.UnsignedEvents = 60
	}
	s.unsigned = newBudget(cfg.UnsignedEvents)
	return s, nil
}

// ErrModeMismatch refuses work on a mandate made in another mode than its
// provider runs in now (a sandbox mandate after switching to live keys).
var ErrModeMismatch = errors.New("the mandate was made in another mode than its provider runs in now")

// ErrNoProvider says a mandate's provider is not configured.
var ErrNoProvider = errors.New("the mandate's provider is not configured")

// Provider returns the provider a mandate was made with, if it is
// configured in the same mode.
func (s *Service) Provider(m store.Mandate) (payments.Provider, error) {
	p, ok := s.providers[m.Provider]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNoProvider, m.Provider)
	}
	if p.Mode() != m.Mode {
		return nil, fmt.Errorf("%w: mandate %s is %s, %s is %s", ErrModeMismatch, m.ID, m.Mode, m.Provider, p.Mode())
	}
	return p, nil
}

// Undecided reports whether the provider may still change what we know of a
// setup: the mandate is pending, or it is active with its first payment
// still pending.
func Undecided(m store.Mandate) bool {
	firstPaymentPending := m.FirstPayment != nil && m.FirstPayment.Status == payments.ChargePending
	return m.Status == mandate.Pending || (m.Status == mandate.Active && firstPaymentPending)
}

// Transient reports whether a provider failure may pass if tried again
// (the provider was unreachable, timed out, answered 5xx/429, or was still
// working on the key's first request: 409), as
// opposed to a refusal or an unknown object.
func Transient(err error) bool {
	if err == nil {
		return false
	}
	if pe, ok := payments.AsError(err); ok {
		// In flight: the provider is still working on the first request
		// with the key; a look-up later tells what it made.
		return pe.Kind == payments.ErrUnavailable || pe.Kind == payments.ErrInFlight
	}
	return !errors.Is(err, ErrModeMismatch) && !errors.Is(err, ErrNoProvider)
}

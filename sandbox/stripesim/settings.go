package stripesim

import "time"

// Settings are the Stripe part's hard cases that no amount can carry. The
// sandbox's index page has a form for them; tests set them through
// (*sandbox.Sandbox).StripeSim().SetSettings. They live in memory: a
// restart starts with the defaults.
type Settings struct {
	// SettleAfter is how long, on the wall clock and on the sandbox's
	// clock (whichever passes it first), the asynchronous outcomes take:
	// a refund settling (or failing), a processing charge succeeding, a
	// dispute being opened. 0 → DefaultSettleAfter.
	SettleAfter time.Duration
	// SetupWithoutMandate makes the SetupIntents that Checkout completes
	// carry no mandate (mandate: null), as Stripe's may.
	SetupWithoutMandate bool
	// FailNext makes the next N API requests fail with HTTP 500 after they
	// started: their work is undone, and the 500 is stored under their
	// idempotency key and replayed to a retry with the same key for 24
	// hours, as Stripe stores a request that failed while it ran. Each
	// failed request counts it down.
	FailNext int
	// InFlight keeps each API request running this long after its work
	// is done, before it answers: meanwhile a request with the same
	// idempotency key is answered 409 idempotency_key_in_use. (The
	// sandbox's APILatency instead holds answers after the request has
	// finished, when a retry with the key replays the answer.) 0 → none.
	InFlight time.Duration
	// HoldBefore keeps each API request with an idempotency key waiting
	// this long after its key is reserved and before its work, as a
	// request still on its way into Stripe: it has done nothing yet, and
	// meanwhile a request with the same key is answered 409
	// idempotency_key_in_use. A caller that gives up meanwhile leaves
	// nothing done and its key free. 0 → none.
	HoldBefore time.Duration
}

// DefaultSettleAfter is the settle delay when none is set: long enough to
// see the pending state in a demo, short enough not to wait for it.
const DefaultSettleAfter = 3 * time.Second

// Settings returns the current settings, FailNext counted down by the
// requests that failed since they were set.
func (s *Sim) Settings() Settings {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.settings
}

// SetSettings replaces the settings; negative durations and counts mean 0.
func (s *Sim) SetSettings(v Settings) {
	v.SettleAfter, v.InFlight = max(v.SettleAfter, 0), max(v.InFlight, 0)
	v.HoldBefore = max(v.HoldBefore, 0)
	v.FailNext = max(v.FailNext, 0)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settings = v
}

// settleAfter is the settle delay in force.
func (s *Sim) settleAfter() time.Duration {
	if d := s.Settings().SettleAfter; d > 0 {
		return d
	}
	return DefaultSettleAfter
}

// takeFailure reports whether this request is one of the FailNext ones,
// counting it down.
func (s *Sim) takeFailure() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.settings.FailNext <= 0 {
		return false
	}
	s.settings.FailNext--
	return true
}

package pprosim

import (
	"sync"
	"time"
)

// Settings are the hard cases of the PPRO stand-in that no magic amount
// can carry. They are changed on the sandbox's index page and, in tests,
// with SetSettings; they last as long as the process.
type Settings struct {
	// SettleAfter is how long PPRO takes to do what it does on its own
	// after answering: a pending refund or charge settles, a refund of an
	// amount ending in 06 fails, a charge of one ending in 04 is charged
	// back. It runs in real time, and at once when the sandbox's clock
	// has moved past it. 0 means DefaultSettleAfter.
	SettleAfter time.Duration
	// EchoChargeReference puts a charge's merchantPaymentChargeReference
	// on its authorizations. PPRO's OpenAPI marks the field optional and
	// the Amazon Pay guide's example has none, so the default (false)
	// leaves it out.
	EchoChargeReference bool
	// RevocationLag is how long, on the sandbox's clock, an agreement the
	// merchant revoked still reads ACTIVE after the revocation's answer
	// said REVOKED. 0: none.
	RevocationLag time.Duration
	// Processing is how long a POST with a Request-Idempotency-Key is in
	// flight before its work is done; another request with the key
	// meanwhile is answered 409, as PPRO documents. 0: none.
	Processing time.Duration
}

// DefaultSettleAfter is SettleAfter's default: a few seconds, so that a
// demo shows the pending state and then the change.
const DefaultSettleAfter = 3 * time.Second

// settingsBox holds a Sim's settings; requests and the page read and
// change them concurrently.
type settingsBox struct {
	mu sync.Mutex
	s  Settings
}

// Settings returns the stand-in's settings, with SettleAfter's default
// filled in.
func (s *Sim) Settings() Settings {
	s.settings.mu.Lock()
	defer s.settings.mu.Unlock()
	v := s.settings.s
	if v.SettleAfter <= 0 {
		v.SettleAfter = DefaultSettleAfter
	}
	return v
}

// SetSettings replaces the stand-in's settings. Negative durations count
// as 0. What is already due keeps its time.
func (s *Sim) SetSettings(v Settings) {
	v.SettleAfter = max(v.SettleAfter, 0)
	v.RevocationLag = max(v.RevocationLag, 0)
	v.Processing = max(v.Processing, 0)
	s.settings.mu.Lock()
	defer s.settings.mu.Unlock()
	s.settings.s = v
}

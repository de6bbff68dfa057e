package pprosim

import (
	"errors"
	"testing"
	"time"

	"example.com/storefront/payments/ppro"
)

// The signer makes a new signature for each attempt, at the time it is
// called, and the app's verifier accepts each at its own time.
func TestPPROSignerSignsEachAttempt(t *testing.T) {
	t.Parallel()
	const secret = "ppro_whsec_signer_test"
	payload := []byte(`{"specversion":"1.0.2","id":"DBmK364tFeNGuHIJM9Fb4","type":"PAYMENT_AGREEMENT_ACTIVE"}`)
	headers := WebhookEndpoint("https://shop.test/webhooks/ppro", secret).Headers

	first := time.Unix(1_800_000_000, 0)
	retry := first.Add(30 * time.Second)
	s1 := headers(payload, first).Get(ppro.SignatureHeader)
	s2 := headers(payload, retry).Get(ppro.SignatureHeader)
	if s1 == "" || s1 == s2 {
		t.Fatalf("signatures %q and %q: want one per attempt, each with its own time", s1, s2)
	}
	for _, tc := range []struct {
		sig string
		at  time.Time
	}{{s1, first}, {s2, retry}} {
		if err := ppro.VerifySignature(tc.sig, payload, secret, tc.at); err != nil {
			t.Errorf("the app refuses %q at %v: %v", tc.sig, tc.at, err)
		}
		if got := ppro.Sign(payload, secret, tc.at); got != tc.sig {
			t.Errorf("signed %q, the app signs %q", tc.sig, got)
		}
		if err := ppro.VerifySignature(tc.sig, payload, "another secret", tc.at); !errors.Is(err, ppro.ErrBadSignature) {
			t.Errorf("another secret verified %q: %v", tc.sig, err)
		}
	}
}

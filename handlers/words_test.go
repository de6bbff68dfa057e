package handlers_test

import (
	"strings"
	"testing"

	"example.com/storefront/internal/pagetest"
)

// providerWords are the providers' own codes and phrasings, which belong
// in the mandate's history and the merchant's view, never on a shopper's
// page.
var providerWords = []string{
	"AUTHENTICATION_FAILED", "CANCELED_BY_CONSUMER", "PAYMENT_METHOD_TIMEOUT", "INSUFFICIENT_FUNDS", "GENERIC_DECLINE",
	"CAPTURED", "CAPTURE_PENDING", "AUTHENTICATION_PENDING", "REVOKED_BY", "AGREEMENT_", "PROVIDER_DECLINE",
	"insufficient_funds", "generic_decline", "payment_method_provider_decline", "card_declined", "requires_payment_method",
	"setup_intent", "payment_intent", "checkout_session", "left_checkout", "mandate_inactive", "setup_not_started",
	"PPRO reports", "The buyer", "The customer declined", "The shopper left", "HTTP ", "agr_", "cs_test_", "pm_",
}

// noProviderWords fails if a shopper's page shows a provider's code or
// wording.
func noProviderWords(t *testing.T, p *pagetest.Page) {
	t.Helper()
	text := p.Text()
	for _, w := range providerWords {
		if strings.Contains(text, w) {
			t.Errorf("the shopper's page at %s shows the provider's %q:\n%s", p.URL.Path, w, text)
		}
	}
}

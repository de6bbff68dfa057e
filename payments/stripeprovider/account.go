package stripeprovider

import (
	"fmt"
	"strings"

	"example.com/storefront/payments"
)

// CheckAccount asks Stripe which country the account is in and remembers
// whether it can charge price's currency with Amazon Pay: Stripe's Amazon
// Pay page allows any supported currency "regardless of the country your
// business operates in with the exception of the US", where it is USD
// only (reference/stripe-api.md §1). Until it answers, nothing is refused.
// It makes one API call without a context (stripe-go v76's Accounts.Get
// takes none), so callers run it in the background; the HTTP client's
// timeout bounds it.
func (p *Provider) CheckAccount(price payments.Money) error {
	acct, err := p.api.Accounts.Get()
	if err != nil {
		return wrap("retrieve account", err)
	}
	if strings.EqualFold(acct.Country, "US") && price.Currency != "USD" {
		p.ineligible.Store(&payments.IneligibleError{Field: "price", Reason: fmt.Sprintf(
			"Amazon Pay through this Stripe account takes USD only (the account is in the United States), and this plan is priced in %s.",
			price.Currency)})
		return nil
	}
	p.ineligible.Store(nil)
	return nil
}

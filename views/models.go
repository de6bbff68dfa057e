// Package views holds the templ components of the storefront and the view
// models they take. Handlers fill the models; components never call
// services.
package views

import (
	"example.com/storefront/countries"
	"example.com/storefront/terms"
)

// Chrome is what every page's layout needs.
type Chrome struct {
	Title    string
	Merchant string
	Badges   []Badge
	Step     Step
}

// Badge names how real one provider is on every page.
type Badge struct {
	Provider string // "Stripe"
	Mode     string // "sandbox", "test", "live"
}

// Step is the position in the flow shown by the step indicator.
type Step int

const (
	StepNone Step = iota
	StepTerms
	StepProvider
	StepApprove
	StepDone
)

var stepNames = []string{"Terms", "Provider", "Approve", "Done"}

// Plan is the plan as shown.
type Plan struct {
	Name     string
	Price    string // "12.00 USD"
	Interval string // "month"
	Adverb   string // "monthly"
}

// ProviderOption is one choice of payment provider on the form.
type ProviderOption struct {
	Name  string // form value: "stripe"
	Label string // "Stripe"
	Mode  string
	Note  string // one line under the label
	// Unavailable says why the provider cannot take this plan ("" when it can).
	Unavailable string
}

// Form is what the shopper typed, kept when the page comes back with errors.
type Form struct {
	Name         string
	Email        string
	Country      string
	Provider     string
	Consent      bool
	PayNow       bool // pay the first period together with the setup
	TermsVersion string
	TermsSHA256  string
}

// Home is the storefront page.
type Home struct {
	Chrome
	Plan      Plan
	Terms     terms.Document
	Form      Form
	Errors    map[string]string // by field name; "" is a message for the whole form
	Countries []countries.Country
	Providers []ProviderOption
	// PayNowLabel offers to pay the first period now ("" when no provider can).
	PayNowLabel string
}

// Outcome is the page after the shopper came back from the provider.
type Outcome struct {
	Chrome
	Status        string // pending, active, failed, canceled, revoked
	MandateID     string
	ProviderLabel string
	MethodLabel   string // "Amazon Pay", "card"
	Plan          Plan
	Email         string
	Reason        string // why failed or canceled, or the latest problem while pending
	// RetryURL re-checks a pending setup (the same page).
	RetryURL string
	// FirstPayment is the payment taken with the setup, or nil.
	FirstPayment *Payment
}

// Payment is one payment's outcome as shown.
type Payment struct {
	Amount         string // "12.00 USD"
	Status         string // pending, succeeded, failed
	ProviderStatus string // the provider's own word: CAPTURED, FAILED, …
	Reason         string
}

// Redirect is the page that sends the shopper to a provider by POST.
type Redirect struct {
	Chrome
	ProviderLabel string
	URL           string
}

// Error is an error page.
type Error struct {
	Chrome
	Status    int
	Heading   string
	Message   string
	RequestID string
}

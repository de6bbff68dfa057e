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
	// StepFailed marks Step as where the flow stopped (a cancelled or
	// failed approval): it is crossed, not ticked, and Done is not reached.
	StepFailed bool
	// Contact is the merchant's address, in the footer.
	Contact string
	// Sandbox links the footer to the payment sandbox (all-sandbox demo).
	Sandbox bool
	// SandboxURL is the sandbox's index page ("/sandbox/", or another
	// origin's for a sandbox in its own process).
	SandboxURL string
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
	// FinePrint says, under the button, what happens when: which is what
	// the form will do, box ticked or not.
	FinePrint string
}

// Outcome is the page after the shopper came back from the provider. Its
// words are the shopper's: no provider code appears in it.
type Outcome struct {
	Chrome
	Status        string // pending, active, failed, canceled, revoked
	MandateID     string
	ProviderLabel string
	MethodLabel   string // "Amazon Pay account", "card"
	Plan          Plan
	Email         string
	Heading       string
	Lead          string // what happened, in one sentence
	Reason        string // why it did not go through, in plain words
	// FirstPayment is the first payment (taken with the setup, or by the
	// schedule as it started), or nil before there is one.
	FirstPayment *Payment
	// FirstPaymentNote says when the first payment was or will be taken,
	// and NextPayment when the next one is due ("29 December 2026").
	FirstPaymentNote string
	NextPayment      string
	// RetryURL re-checks a pending setup (the same page); AgainURL starts
	// again with the shopper's details kept; SubscriptionURL is the
	// shopper's own page of the mandate, where they can cancel.
	RetryURL        string
	AgainURL        string
	SubscriptionURL string
	// SubscriptionLink is the signed link to that page, which works from any
	// browser (to keep, or to send by email) until SubscriptionLinkExpires.
	SubscriptionLink        string
	SubscriptionLinkExpires string
}

// Payment is one payment's outcome as shown to the shopper.
type Payment struct {
	Amount string // "12.00 USD"
	Status string // pending, succeeded, failed, refunded, partially_refunded
	Text   string // in plain words: "Paid.", "Declined: …"
	Date   string
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

// ShopperLink is the page of a genuine link to a shopper's page that has
// expired: it offers to email a fresh one to the subscription's own
// address, shown masked and never editable (Sent false), or says it was
// sent (Sent true).
type ShopperLink struct {
	Chrome
	PlanName    string
	ExpiredOn   string // "6 January 2027"
	MaskedEmail string // "a•••@example.com"
	// Action is where the offer posts, with the expired link's fields.
	Action      string
	LinkExpires string
	LinkSig     string
	Sent        bool
	CanCancel   bool // the subscription is active
	// Every says how often a link is sent at most ("10 minutes").
	Every string
}

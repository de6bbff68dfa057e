// Package payments is the provider-neutral surface that handlers see: the
// Provider interface, normalised statuses and the typed errors providers
// return. One sub-package per provider implements it.
package payments

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// Mode says how real a provider is: the built-in sandbox, the provider's
// test environment, or live money.
type Mode string

const (
	ModeSandbox Mode = "sandbox"
	ModeTest    Mode = "test"
	ModeLive    Mode = "live"
)

// Provider is one payment provider able to set up a mandate.
type Provider interface {
	// Name is the stable identifier stored with each mandate: "stripe", "ppro".
	Name() string
	// Mode is shown in a badge on every page.
	Mode() Mode
	// Features says what the provider can do beyond the basics.
	Features() Features
	// Eligible says whether the provider can set up a mandate for a shopper
	// in this country ("" when not known yet) for this price, before any API
	// call; the error is an *IneligibleError whose reason a shopper can read.
	Eligible(country string, price Money) error
	// BeginSetup asks the provider to start collecting the shopper's
	// permission and says where to send the shopper.
	BeginSetup(ctx context.Context, req SetupRequest) (Setup, error)
	// SetupStatus fetches the authoritative status of a setup by the
	// provider's reference; it never trusts anything the browser said.
	SetupStatus(ctx context.Context, ref string) (SetupResult, error)
	// CancelSetup abandons a setup that has not completed, so that it can no
	// longer complete; it returns the status after the attempt.
	CancelSetup(ctx context.Context, ref, idempotencyKey string) (SetupResult, error)
	// ParseWebhook verifies a webhook delivery (its signature, where the
	// provider signs) and says which setup it concerns. The caller then
	// fetches the status with SetupStatus: payloads can be stale or out of
	// order, so their contents are never trusted for the status itself.
	ParseWebhook(r *http.Request) (Event, error)
}

// Event is a verified webhook delivery.
type Event struct {
	ID   string // the provider's event id, for dropping duplicates
	Type string
	// SetupRef is the setup the event is about (cs_…, agr_…), or "".
	SetupRef string
	// MandateID is our mandate id when the event carries it instead.
	MandateID string
}

// MaxEventField bounds a webhook event's id and type. Providers' own are far
// shorter; a longer one is refused, so a forged delivery cannot make the
// store or the log grow by megabytes.
const MaxEventField = 128

// CheckEvent refuses an event whose id or type is missing or too long.
func CheckEvent(e Event) error {
	switch {
	case e.ID == "" || e.Type == "":
		return errors.New("webhook event without an id or a type")
	case len(e.ID) > MaxEventField || len(e.Type) > MaxEventField:
		return fmt.Errorf("webhook event id or type longer than %d bytes", MaxEventField)
	}
	return nil
}

// ErrWebhooksDisabled is returned by ParseWebhook when no webhook secret is
// configured for the provider.
var ErrWebhooksDisabled = errors.New("webhooks are not configured for this provider")

// Features are optional abilities of a provider.
type Features struct {
	// FirstPayment: the setup can also take the first payment
	// (SetupRequest.InitialCharge).
	FirstPayment bool
}

// Customer is the shopper as the provider needs to know them.
type Customer struct {
	Name    string
	Email   string
	Country string // ISO 3166-1 alpha-2
	// Ref is the provider's id for this customer from an earlier setup, if
	// any; the provider checks it still exists before reusing it.
	Ref string
}

// SetupRequest is what a provider needs to start a setup.
type SetupRequest struct {
	MandateID string
	Customer  Customer
	// Terms is the one-sentence authorisation the shopper agreed to, shown
	// again on the provider's page where the provider allows it.
	Terms string
	// Summary is what is agreed in a few words ("Coffee Club: 12.00 USD
	// every month"), for providers that take a short description.
	Summary string
	// ReturnURL is where the provider sends the shopper back; it may
	// contain a provider-specific placeholder (Stripe: {CHECKOUT_SESSION_ID}).
	ReturnURL string
	// CancelURL is where a provider that has a cancel button sends the
	// shopper; providers without one ignore it.
	CancelURL string
	// InitialCharge, when set, asks for a first payment together with the
	// setup (PPRO's initialPaymentCharge).
	InitialCharge *Money
	// IdempotencyKey is derived from our mandate id; every create call
	// carries it (with a suffix per call), so a retry never creates twice.
	IdempotencyKey string
}

// Setup is a started setup: the provider's reference and where the shopper
// goes next.
type Setup struct {
	Ref         string // cs_…, agr_…
	CustomerRef string // cus_…, or "" when the provider has no customer object
	Redirect    Redirect
	// InitialChargeRef is the provider's id of the first payment, when one
	// was asked for.
	InitialChargeRef string
}

// Redirect is how to send the shopper to the provider.
type Redirect struct {
	URL    string
	Method string // "GET" or "POST"
}

// SetupState is the normalised state of a setup at the provider.
type SetupState string

const (
	SetupPending   SetupState = "pending"   // not decided yet (the shopper may still approve)
	SetupSucceeded SetupState = "succeeded" // permission granted; Handle is set
	SetupFailed    SetupState = "failed"    // declined or broken for good
	SetupCanceled  SetupState = "canceled"  // abandoned or expired
	SetupRevoked   SetupState = "revoked"   // granted, then withdrawn; Handle is set
)

// SetupResult is the authoritative outcome of a setup.
type SetupResult struct {
	State SetupState
	// ProviderStatus is the provider's own status words, for the history.
	ProviderStatus string
	// Handle is what later charges use (pm_…, agr_…); HandleType says what
	// it is ("amazon_pay", "card").
	Handle     string
	HandleType string
	// Reason explains a failure, or the last problem of a pending setup
	// (for example a declined attempt the shopper may retry).
	Reason string
	// InitialCharge is the first payment's outcome, when one was asked for.
	// It is reported on its own: an agreement can be active while its first
	// payment failed.
	InitialCharge *ChargeResult
}

// ChargeState is the normalised state of a payment.
type ChargeState string

const (
	ChargePending   ChargeState = "pending"
	ChargeSucceeded ChargeState = "succeeded"
	ChargeFailed    ChargeState = "failed"
)

// ChargeResult is the authoritative outcome of a payment.
type ChargeResult struct {
	Ref            string
	State          ChargeState
	ProviderStatus string
	Reason         string
}

// IneligibleError says why a provider cannot serve a shopper or a plan.
type IneligibleError struct {
	// Field is what is wrong: "country" (the shopper's) or "price" (the
	// merchant's plan).
	Field  string
	Reason string
}

func (e *IneligibleError) Error() string { return e.Reason }

// ErrorKind classifies provider failures for the page the shopper sees.
type ErrorKind string

const (
	// ErrUnavailable: the provider could not be reached or failed (network,
	// timeout, 5xx). Trying again later may work.
	ErrUnavailable ErrorKind = "unavailable"
	// ErrRejected: the provider refused the request (4xx).
	ErrRejected ErrorKind = "rejected"
	// ErrNotFound: the provider does not know the object.
	ErrNotFound ErrorKind = "not_found"
)

// Error is a failed provider call.
type Error struct {
	Provider   string
	Op         string // what we were doing: "create checkout session"
	Kind       ErrorKind
	StatusCode int    // HTTP status, 0 when no answer came
	Code       string // provider's error code, if any
	Message    string // provider's message, for logs and the mandate record
	RequestID  string // provider's request id, for support
	Err        error
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%s: %s: %s", e.Provider, e.Op, e.Kind)
	if e.StatusCode != 0 {
		s += fmt.Sprintf(" (HTTP %d", e.StatusCode)
		if e.Code != "" {
			s += " " + e.Code
		}
		s += ")"
	}
	if e.Message != "" {
		s += ": " + e.Message
	} else if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// AsError returns the provider error inside err, if there is one.
func AsError(err error) (*Error, bool) {
	var pe *Error
	ok := errors.As(err, &pe)
	return pe, ok
}

// Package payments is the provider-neutral surface that handlers see: the
// Provider interface, normalised statuses and the typed errors providers
// return. One sub-package per provider implements it.
package payments

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Mode says how real a provider is: the built-in sandbox, the provider's
// test environment, or live money.
type Mode string

const (
	ModeSandbox Mode = "sandbox"
	ModeTest    Mode = "test"
	ModeLive    Mode = "live"
)

// Provider is one payment provider: it sets up a mandate, charges it,
// refunds its charges and revokes it. Every call that creates something at
// the provider carries an idempotency key derived from our own row, so a
// retry (after a timeout, a crash, a restart) never creates twice.
type Provider interface {
	// Name is the stable identifier stored with each mandate: "stripe", "ppro".
	Name() string
	// Mode is shown in a badge on every page and stored with each mandate.
	Mode() Mode
	// Features says what the provider can do beyond the basics.
	Features() Features
	// Eligible says whether the provider can set up a mandate for a shopper
	// in this country ("" when not known yet) for this price, before any API
	// call; the error is an *IneligibleError whose reason a shopper can read.
	Eligible(country string, price Money) error
	// BeginSetup asks the provider to start collecting the shopper's
	// permission and says where to send the shopper. On an error the Setup
	// may still carry what was created before it (a customer), so that a
	// retry reuses it.
	BeginSetup(ctx context.Context, req SetupRequest) (Setup, error)
	// SetupStatus fetches the authoritative status of a setup by the
	// provider's reference; it never trusts anything the browser said.
	SetupStatus(ctx context.Context, ref string) (SetupResult, error)
	// CancelSetup abandons a setup that has not completed, so that it can no
	// longer complete; it returns the status after the attempt.
	CancelSetup(ctx context.Context, ref, idempotencyKey string) (SetupResult, error)
	// MandateStatus fetches whether an active mandate can still be charged:
	// SetupSucceeded, or SetupRevoked with who revoked it. Revocations can
	// start outside the app (the shopper in their Amazon account).
	MandateStatus(ctx context.Context, m MandateRef) (SetupResult, error)
	// Revoke withdraws the mandate at the provider, so that it can no longer
	// be charged, and returns its status after the attempt.
	Revoke(ctx context.Context, m MandateRef, idempotencyKey string) (SetupResult, error)
	// Charge takes a payment on an active mandate. A decline is not an
	// error: the result is a failed charge with the provider's reason.
	Charge(ctx context.Context, req ChargeRequest) (ChargeResult, error)
	// ChargeStatus fetches a charge's authoritative status by the
	// provider's reference.
	ChargeStatus(ctx context.Context, ref string) (ChargeResult, error)
	// FindCharge looks a charge up by our own reference (ChargeRequest.
	// Reference), for a charge whose answer was lost; found is false when
	// the provider never made it.
	FindCharge(ctx context.Context, m MandateRef, reference string) (res ChargeResult, found bool, err error)
	// Refund refunds part or all of a succeeded charge.
	Refund(ctx context.Context, req RefundRequest) (RefundResult, error)
	// RefundStatus fetches a refund's authoritative status.
	RefundStatus(ctx context.Context, chargeRef, refundRef string) (RefundResult, error)
	// Disputes fetches every dispute of a charge by the charge's reference,
	// or ErrNoDisputeAPI when the provider has no API to read them.
	Disputes(ctx context.Context, chargeRef string) ([]Dispute, error)
	// FindRefund looks a refund of the charge up by our own reference
	// (RefundRequest.Reference), for a refund whose answer was lost and
	// whose idempotency key the provider may have forgotten; found is false
	// when the provider never made it.
	FindRefund(ctx context.Context, chargeRef, reference string) (res RefundResult, found bool, err error)
	// ParseWebhook verifies a webhook delivery (its signature, where the
	// provider signs) and says what it concerns. The caller then fetches the
	// object's status: payloads can be stale or out of order, so their
	// contents are never trusted for the status itself.
	ParseWebhook(r *http.Request) (Event, error)
}

// MandateRef is what a provider needs to act on an active mandate: the
// references stored when it became active.
type MandateRef struct {
	MandateID string // ours, md_…
	SetupRef  string // cs_…, agr_…
	// Handle is what charges use: pm_… (Stripe), agr_… (PPRO).
	Handle     string
	HandleType string // "amazon_pay", "card"
	// CustomerRef is the provider's customer (Stripe cus_…), or "".
	CustomerRef string
	// ProviderMandateRef is the provider's own mandate object (Stripe
	// mandate_…), or "".
	ProviderMandateRef string
}

// Event is a verified webhook delivery and what it is about. Any reference
// may be empty.
type Event struct {
	ID   string // the provider's event id, for dropping duplicates
	Type string
	// SetupRef is the setup the event is about (cs_…, agr_…).
	SetupRef string
	// MandateID is our mandate id when the event carries it.
	MandateID string
	// ChargeRef and RefundRef name a payment (pi_…, charge_…) and a refund
	// (re_…, refund_…).
	ChargeRef string
	RefundRef string
	// RefundReference is our own reference for the refund as the event
	// carries it (Stripe's metadata, PPRO's merchantRefundReference): a
	// refund whose answer was lost is matched to its row by it.
	RefundReference string
	// PaymentMethodRef and ProviderMandateRef name what a revocation is
	// about at Stripe (pm_…, mandate_…).
	PaymentMethodRef   string
	ProviderMandateRef string
	// SetupOnly says the event can only tell of the setup's outcome, never
	// of a revocation (Stripe's checkout.session.* and setup_intent.*):
	// once the setup is decided it has nothing to fetch.
	SetupOnly bool `json:",omitempty"`
	// DisputeRef names a dispute (dp_…, PPRO's dispute id); ChargeRef is
	// then the disputed payment.
	DisputeRef string
	// Dispute is what a signed event says of a dispute, for a provider whose
	// API has no dispute to fetch (PPRO); nil otherwise, and always nil for
	// an unsigned delivery, whose payload is never trusted.
	Dispute *Dispute `json:",omitempty"`
}

// AboutNothing reports whether the event names nothing the app keeps: a
// type it does not use, which needs neither storing nor a fetch.
func (e Event) AboutNothing() bool {
	return e.SetupRef == "" && e.MandateID == "" && e.ChargeRef == "" && e.RefundRef == "" && e.RefundReference == "" &&
		e.PaymentMethodRef == "" && e.ProviderMandateRef == "" && e.DisputeRef == "" && e.Dispute == nil
}

// MaxEventField bounds a webhook event's id and type. Providers' own are far
// shorter; a longer one is refused, so a forged delivery cannot make the
// store or the log grow by megabytes.
const MaxEventField = 128

// CheckEvent refuses an event whose id or type is missing, or any of whose
// fields is too long.
func CheckEvent(e Event) error {
	if e.ID == "" || e.Type == "" {
		return errors.New("webhook event without an id or a type")
	}
	fields := []string{e.ID, e.Type, e.SetupRef, e.MandateID, e.ChargeRef, e.RefundRef, e.RefundReference, e.PaymentMethodRef, e.ProviderMandateRef, e.DisputeRef}
	if d := e.Dispute; d != nil {
		fields = append(fields, d.Ref, d.ChargeRef, d.ProviderStatus, d.Reason, d.Amount.Currency, string(d.State))
	}
	for _, f := range fields {
		if len(f) > MaxEventField {
			return fmt.Errorf("webhook event field longer than %d bytes", MaxEventField)
		}
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
	// ExactAmount: every charge on a mandate must be its plan's price, as
	// the mandate states it (PPRO's agreements: amountType EXACT). The
	// provider refuses another amount.
	ExactAmount bool
}

// Customer is the shopper as the provider needs to know them.
type Customer struct {
	Name    string
	Email   string
	Country string // ISO 3166-1 alpha-2
	// Ref is the provider's id for this customer, when this browser's
	// earlier setup already made one (a retry after a failure); "" makes a
	// new one. A typed email alone never selects a customer.
	Ref string
	// IP and UserAgent are the shopper's, as recorded with the consent.
	IP        string
	UserAgent string
}

// SetupRequest is what a provider needs to start a setup.
type SetupRequest struct {
	MandateID string
	Customer  Customer
	// Plan is what the shopper agreed to pay, and how often; providers that
	// can state it in the agreement do.
	Plan Plan
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
	// WebhookURL is where the provider should send this setup's events,
	// for providers that take one per request; "" leaves the account's.
	WebhookURL string
	// ExpiresAt is when an unfinished setup should lapse, for providers
	// that take it (Stripe's Checkout Session expires_at); zero leaves the
	// provider's default.
	ExpiresAt time.Time
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
	// Decided is set when the provider answered the create with a final
	// status (PPRO: ACTIVE or FAILED at once): there is nowhere to send the
	// shopper, and the result is applied as it is.
	Decided *SetupResult
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

// Revoker says who withdrew a mandate.
type Revoker string

const (
	RevokedByShopper  Revoker = "shopper"  // on our page, or in their Amazon account
	RevokedByMerchant Revoker = "merchant" // the merchant, in our dashboard or the provider's
	RevokedByProvider Revoker = "provider" // the provider or Amazon Pay
)

// SetupResult is the authoritative outcome of a setup, or of an active
// mandate's standing.
type SetupResult struct {
	State SetupState
	// ProviderStatus is the provider's own status words, for the history.
	ProviderStatus string
	// Handle is what later charges use (pm_…, agr_…); HandleType says what
	// it is ("amazon_pay", "card").
	Handle     string
	HandleType string
	// CustomerRef, SetupIntentRef and ProviderMandateRef are the provider's
	// other objects behind an active mandate (Stripe: cus_…, seti_…,
	// mandate_…), stored with it.
	CustomerRef        string
	SetupIntentRef     string
	ProviderMandateRef string
	// Code is the provider's code for a failure or a cancellation
	// (AUTHENTICATION_FAILED, CANCELED_BY_CONSUMER, expired, …): the
	// shopper's page words it, the history keeps it.
	Code string
	// Reason explains a failure in the provider's words, or the last
	// problem of a pending setup (a declined attempt the shopper may retry).
	Reason string
	// RevokedBy says who withdrew a revoked mandate.
	RevokedBy Revoker
	// InitialCharge is the first payment's outcome, when one was asked for.
	// It is reported on its own: an agreement can be active while its first
	// payment failed.
	InitialCharge *ChargeResult
}

// ChargeState is the normalised state of a payment. It moves forward:
// pending → succeeded | failed; succeeded → partially_refunded → refunded,
// with one honest exception: the refunded states follow the sum of the
// charge's succeeded refunds, and a refund can fail after it succeeded
// (Stripe documents succeeded → failed), so a refunded or partially
// refunded charge moves back towards succeeded when one does. Only a
// refund's own failure moves it back (store.ApplyRefund); a charge's
// status report never does.
type ChargeState string

const (
	ChargePending           ChargeState = "pending"
	ChargeSucceeded         ChargeState = "succeeded"
	ChargeFailed            ChargeState = "failed"
	ChargePartiallyRefunded ChargeState = "partially_refunded"
	ChargeRefunded          ChargeState = "refunded"
)

// CodeAuthenticationRequired is Stripe's code for an off-session payment
// that would have needed the shopper (its answer to
// error_on_requires_action); PPRO's charge that waited for the shopper
// (AUTHENTICATION_PENDING) fails with CodeAuthenticationFailed.
const (
	CodeAuthenticationRequired = "authentication_required"
	CodeAuthenticationFailed   = "AUTHENTICATION_FAILED"
)

// NeedsShopper reports whether a failed charge's code says the payment
// needed the shopper to confirm it: a decline, which an automatic payment
// cannot overcome by itself; the shopper has to act.
func NeedsShopper(code string) bool {
	return code == CodeAuthenticationRequired || code == CodeAuthenticationFailed
}

// Rank orders charge states along their one-way path; a report of a lower
// rank than what is known is stale.
func (s ChargeState) Rank() int {
	switch s {
	case ChargePending:
		return 0
	case ChargeSucceeded, ChargeFailed:
		return 1
	case ChargePartiallyRefunded:
		return 2
	case ChargeRefunded:
		return 3
	}
	return -1
}

// Paid reports whether money was taken (whether or not some came back).
func (s ChargeState) Paid() bool {
	return s == ChargeSucceeded || s == ChargePartiallyRefunded || s == ChargeRefunded
}

// ChargeRequest is a payment on an active mandate.
type ChargeRequest struct {
	Mandate MandateRef
	Amount  Money
	// Reference is our own name for the charge (sent as metadata or
	// merchantPaymentChargeReference), by which FindCharge finds it.
	Reference string
	// Description is shown on the shopper's statement where the provider
	// takes one.
	Description string
	// Scheduled: a payment on the plan's schedule (not one the merchant
	// started by hand); Retry: a scheduled payment tried again after a
	// decline.
	Scheduled bool
	Retry     bool
	// IdempotencyKey is derived from our charge row.
	IdempotencyKey string
}

// OperationKind names a step of a payment at the provider.
type OperationKind string

const (
	OpAuthorization OperationKind = "authorization"
	OpCapture       OperationKind = "capture"
	OpRefund        OperationKind = "refund"
)

// Operation is one authorization, capture or refund of a payment, as the
// provider reports it (PPRO's authz_…, capture_…, refund_…; Stripe's re_…).
type Operation struct {
	Kind   OperationKind
	Ref    string
	Amount int64 // minor units
	Status string
}

// ChargeResult is the authoritative outcome of a payment.
type ChargeResult struct {
	Ref string
	// Reference is our own reference as the provider keeps it (the
	// ChargeRequest's), by which a charge reported by id is matched to our
	// row.
	Reference string
	// Handle is the mandate's handle the payment was made on (PPRO's
	// agreementId), when the provider says: a payment reported without our
	// reference is matched through its mandate (FindCharge).
	Handle         string
	State          ChargeState
	ProviderStatus string
	// Code is the provider's decline or failure code (insufficient_funds,
	// INSUFFICIENT_FUNDS, AGREEMENT_REVOKED, …); Reason its message.
	Code   string
	Reason string
	// Refunded is how much of it the provider counts as refunded, in minor
	// units. Stripe's amount_refunded counts pending refunds too, so this
	// is for display; the app counts its own succeeded refunds.
	Refunded int64
	// Operations are the provider's authorizations, captures and refunds.
	Operations []Operation
}

// RefundRequest refunds part or all of a succeeded charge.
type RefundRequest struct {
	ChargeRef string
	Amount    Money
	// Reference is our own name for the refund.
	Reference      string
	IdempotencyKey string
}

// RefundState is the normalised state of a refund: pending → succeeded |
// failed, and succeeded → failed (Stripe documents a refund that fails
// after it succeeded).
type RefundState string

const (
	RefundPending   RefundState = "pending"
	RefundSucceeded RefundState = "succeeded"
	RefundFailed    RefundState = "failed"
)

// RefundResult is the authoritative outcome of a refund.
type RefundResult struct {
	Ref string // re_…, refund_…
	// Reference is our own reference as the provider keeps it (the
	// RefundRequest's), by which a refund reported by id is matched to our
	// row.
	Reference      string
	State          RefundState
	Amount         int64
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
	// ErrInFlight: the provider is still working on the first request made
	// with this idempotency key (Stripe's 409 idempotency_key_in_use,
	// PPRO's 409). It is neither a refusal nor an outage: the outcome is
	// not known yet, so the caller looks the object up later or waits, and
	// never records it as failed.
	ErrInFlight ErrorKind = "in_flight"
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

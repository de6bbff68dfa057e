package pprosim

import (
	"fmt"
	"time"
)

// The PPRO objects the sandbox stores and returns, with the field names,
// enums and shapes of PPRO's OpenAPI documents (ppro-payment-agreements.json
// for agreements and agreement charges, ppro-payment-charges.json for
// GET /v1/payment-charges/{id}). Optional fields the sandbox has no value
// for are left out rather than sent as null, because the documents type
// them as plain strings, objects or arrays.

// Agreement statuses (AgreementResponse.status).
const (
	agreementInitializing          = "INITIALIZING"
	agreementAuthenticationPending = "AUTHENTICATION_PENDING"
	agreementActive                = "ACTIVE"
	agreementRevokedByConsumer     = "REVOKED_BY_CONSUMER"
	agreementRevokedByMerchant     = "REVOKED_BY_MERCHANT"
	agreementRevokedByProvider     = "REVOKED_BY_PROVIDER"
	agreementFailed                = "FAILED"
)

// Charge statuses (PaymentChargeResponse.status) and operation statuses.
const (
	chargeAuthorizationProcessing = "AUTHORIZATION_PROCESSING"
	chargeAuthorizationAsync      = "AUTHORIZATION_ASYNC"
	chargeAuthenticationPending   = "AUTHENTICATION_PENDING"
	chargeCapturePending          = "CAPTURE_PENDING"
	chargeCaptured                = "CAPTURED"
	chargeRefunded                = "REFUNDED"
	chargeDiscarded               = "DISCARDED"
	chargeFailed                  = "FAILED"

	authorizationAuthorized            = "AUTHORIZED"
	authorizationAuthenticationPending = "AUTHENTICATION_PENDING"
	authorizationProviderPending       = "PROVIDER_CONFIRMATION_PENDING"
	authorizationFailed                = "FAILED"
	captureCaptured                    = "CAPTURED"
	discardDiscarded                   = "DISCARDED"
	refundRefunded                     = "REFUNDED"
	refundPending                      = "PENDING"
	refundFailed                       = "FAILED"

	discardTypeAuthenticationTimeout = "AUTHENTICATION_TIMEOUT"

	amountTypeExact = "EXACT"
)

// Revocation statuses: the answer to POST …/revocations, and the status of
// a revocations[] entry.
const (
	revocationAnswerRevoked = "REVOKED"
	revocationAnswerFailed  = "FAILED"
	revocationFailedEntry   = "REVOCATION_FAILED"
)

// Failure types (ProcessingFailure.failureType) and the PPRO failure codes
// the sandbox uses (PPRO's failure-code list, ppro-api.md §4.2).
const (
	failureInternalDecline = "INTERNAL_DECLINE"
	failureProviderDecline = "PROVIDER_DECLINE"

	codeAgreementInactive    = "AGREEMENT_INACTIVE"
	codeAgreementRevoked     = "AGREEMENT_REVOKED"
	codePaymentMethodTimeout = "PAYMENT_METHOD_TIMEOUT"
	codeCanceledByConsumer   = "CANCELED_BY_CONSUMER"
	codeAuthenticationFailed = "AUTHENTICATION_FAILED"
	codeGenericDecline       = "GENERIC_DECLINE"
	codeInsufficientFunds    = "INSUFFICIENT_FUNDS"
	codeRefundPeriodExpired  = "REFUND_PERIOD_EXPIRED"
)

// What Amazon Pay through PPRO takes (PPRO's Amazon Pay page, ppro-api.md
// §9): consumers in the US, USD, 0.50 to 20,000.00 USD, REDIRECT only, one
// hour for the shopper to authenticate, and refunds (full, partial,
// multiple) for six months.
//
// amazonPayCaptureDelay is the sandbox's own: PPRO documents no delay for
// a charge requested with autoCapture false, which Amazon Pay captures by
// itself (it has no separate captures). Ten seconds is the default delay
// of PPRO's mock processor for its asynchronous steps
// (providerConfirmationDelay, ppro-api.md §9).
const (
	amazonPayCaptureDelay  = 10 * time.Second
	amazonPayRefundMonths  = 6
	pproAmazonPay          = "AMAZON_PAY"
	amazonPayCountry       = "US"
	amazonPayCurrency      = "USD"
	amazonPayMinAmount     = 50
	amazonPayMaxAmount     = 2_000_000
	amazonPayAuthTimeout   = time.Hour
	authTypeRedirect       = "REDIRECT"
	paymentMediumECommerce = "ECOMMERCE"
	initiatorMerchant      = "MERCHANT"
	initiatorConsumer      = "CONSUMER"
)

// pproTimeLayout is how PPRO writes date-times: ISO-8601, UTC, milliseconds.
const pproTimeLayout = "2006-01-02T15:04:05.000Z"

func pproTime(t time.Time) string { return t.UTC().Format(pproTimeLayout) }

// pproMillis is the stored form of a time; fromMillis reads it back.
func pproMillis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// formatUSD writes an amount in minor units as "12.00 USD"; every currency
// the sandbox accepts (USD only) has two decimals.
func formatUSD(value int64, currency string) string {
	return fmt.Sprintf("%d.%02d %s", value/100, value%100, currency)
}

// pproMoney is PPRO's Money: both fields required.
type pproMoney struct {
	Value    int64  `json:"value"`
	Currency string `json:"currency"`
}

// pproFrequency is PPRO's Frequency.
type pproFrequency struct {
	Type     string `json:"type"`
	Interval int32  `json:"interval"`
}

// pproConsumer is PPRO's Consumer, in requests and responses alike.
type pproConsumer struct {
	Name                      string       `json:"name,omitempty"`
	Email                     string       `json:"email,omitempty"`
	Phone                     string       `json:"phone,omitempty"`
	BirthDate                 string       `json:"birthDate,omitempty"`
	Country                   string       `json:"country"`
	Locale                    string       `json:"locale,omitempty"`
	Client                    *pproClient  `json:"client,omitempty"`
	TaxIdentification         string       `json:"taxIdentification,omitempty"`
	MerchantConsumerReference string       `json:"merchantConsumerReference,omitempty"`
	BillingAddress            *pproAddress `json:"billingAddress,omitempty"`
	Profile                   *pproProfile `json:"profile,omitempty"`
}

type pproClient struct {
	IP        string `json:"ip,omitempty"`
	UserAgent string `json:"userAgent,omitempty"`
}

type pproAddress struct {
	FirstName   string `json:"firstName,omitempty"`
	LastName    string `json:"lastName,omitempty"`
	PhoneNumber string `json:"phoneNumber,omitempty"`
	Street      string `json:"street,omitempty"`
	PostalCode  string `json:"postalCode,omitempty"`
	City        string `json:"city,omitempty"`
	Region      string `json:"region,omitempty"`
	Country     string `json:"country,omitempty"`
}

type pproProfile struct {
	CreatedDate                string `json:"createdDate,omitempty"`
	FirstOrderDate             string `json:"firstOrderDate,omitempty"`
	LastOrderDate              string `json:"lastOrderDate,omitempty"`
	LifetimeOrderCount         *int64 `json:"lifetimeOrderCount,omitempty"`
	LifetimeOrderValue         *int64 `json:"lifetimeOrderValue,omitempty"`
	LifetimeCanceledOrderCount *int64 `json:"lifetimeCanceledOrderCount,omitempty"`
}

// pproFailure is PPRO's ProcessingFailure. The sandbox has no upstream
// provider, so providerFailureCode is never set, and it makes no claim about
// isRetryable, which PPRO says not every payment method supports.
type pproFailure struct {
	FailureType    string `json:"failureType"`
	FailureCode    string `json:"failureCode"`
	FailureMessage string `json:"failureMessage"`
}

// pproAuthMethod is a REDIRECT AuthenticationMethod.
type pproAuthMethod struct {
	Type    string             `json:"type"`
	Details pproRedirectDetail `json:"details"`
}

type pproRedirectDetail struct {
	RequestURL    string `json:"requestUrl"`
	RequestMethod string `json:"requestMethod"`
}

// pproHistoryEntry is a HistoryEntryResponse. Its failure is never set: the
// document declares it as {"type": "null", "$ref": ProcessingFailure}, which
// no value satisfies, so the agreement-level failure carries the reason.
type pproHistoryEntry struct {
	ID        string `json:"id"`
	Status    string `json:"status"`
	CreatedAt string `json:"createdAt"`
}

// pproRevocation is a RevocationResponse (failure left out, as above).
type pproRevocation struct {
	ID               string `json:"id"`
	RevocationStatus string `json:"revocationStatus"`
	CreatedAt        string `json:"createdAt"`
}

// pproAgreement is an AgreementResponse. The unexported fields are what the
// sandbox keeps for itself.
type pproAgreement struct {
	ID                                  string             `json:"id"`
	Status                              string             `json:"status"`
	Failure                             *pproFailure       `json:"failure,omitempty"`
	Description                         string             `json:"description,omitempty"`
	MerchantPaymentAgreementReference   string             `json:"merchantPaymentAgreementReference,omitempty"`
	PaymentMethod                       string             `json:"paymentMethod"`
	Frequency                           *pproFrequency     `json:"frequency,omitempty"`
	StartDate                           string             `json:"startDate"`
	EndDate                             string             `json:"endDate,omitempty"`
	Amount                              *pproMoney         `json:"amount,omitempty"`
	InstrumentID                        string             `json:"instrumentId"`
	AmountType                          string             `json:"amountType,omitempty"`
	Consumer                            pproConsumer       `json:"consumer"`
	AuthenticationMethods               []pproAuthMethod   `json:"authenticationMethods,omitempty"`
	History                             []pproHistoryEntry `json:"history"`
	Revocations                         []pproRevocation   `json:"revocations,omitempty"`
	InitialPaymentChargeID              string             `json:"initialPaymentChargeId,omitempty"`
	InitialSchemeAuthorizationReference string             `json:"initialSchemeAuthorizationReference,omitempty"`
	InitialTransactionLinkReference     string             `json:"initialTransactionLinkReference,omitempty"`
	CreatedAt                           string             `json:"createdAt"`
	UpdatedAt                           string             `json:"updatedAt"`
	Labels                              map[string]string  `json:"labels,omitempty"`

	merchantID    string
	paymentMedium string
	returnURL     string
	webhooksURL   string
	created       time.Time
}

// pending reports whether the agreement still waits for the shopper.
func (a *pproAgreement) pending() bool { return a.Status == agreementAuthenticationPending }

// pproAuthorization, pproCapture and pproDiscard are a charge's operations
// (PaymentChargeAuthorization(Response), PaymentChargeCapture(Response),
// PaymentChargeDiscardResponse).
type pproAuthorization struct {
	ID                             string       `json:"id"`
	Amount                         int64        `json:"amount"`
	Status                         string       `json:"status"`
	MerchantPaymentChargeReference string       `json:"merchantPaymentChargeReference,omitempty"`
	Failure                        *pproFailure `json:"failure,omitempty"`
	CreatedAt                      string       `json:"createdAt"`
	UpdatedAt                      string       `json:"updatedAt"`
}

type pproCapture struct {
	ID        string       `json:"id"`
	Amount    int64        `json:"amount"`
	Status    string       `json:"status"`
	Failure   *pproFailure `json:"failure,omitempty"`
	CreatedAt string       `json:"createdAt"`
	UpdatedAt string       `json:"updatedAt"`
}

type pproDiscard struct {
	ID        string `json:"id"`
	Status    string `json:"status"`
	Type      string `json:"type"`
	CreatedAt string `json:"createdAt"`
	UpdatedAt string `json:"updatedAt"`
}

// pproRefund is a PaymentChargeRefundResponse: the answer to POST
// …/refunds, an entry of GET …/refunds and of a charge's refunds[]. The
// agreements document's narrower PaymentChargeRefund (in an agreement
// charge's answer) allows the extra fields.
type pproRefund struct {
	ID                      string            `json:"id"`
	Amount                  int64             `json:"amount"`
	Status                  string            `json:"status"`
	MerchantRefundReference string            `json:"merchantRefundReference,omitempty"`
	RefundReason            string            `json:"refundReason,omitempty"`
	RefundDescriptor        string            `json:"refundDescriptor,omitempty"`
	Failure                 *pproFailure      `json:"failure,omitempty"`
	CreatedAt               string            `json:"createdAt"`
	UpdatedAt               string            `json:"updatedAt"`
	Labels                  map[string]string `json:"labels,omitempty"`
}

// pproNoOperation stands for voids, which the sandbox never makes (Amazon
// Pay captures at once, and a captured charge cannot be voided): the array
// is always there and always empty, as in PPRO's Amazon Pay example.
type pproNoOperation struct{}

// pproCharge is a PaymentChargeResponse (GET /v1/payment-charges/{id}).
// agreementChargeView narrows it to an AgreementChargeResponse, which lacks
// the GET-only fields.
type pproCharge struct {
	ID                    string              `json:"id"`
	PaymentMethod         string              `json:"paymentMethod"`
	PaymentMedium         string              `json:"paymentMedium,omitempty"` // GET only
	Initiator             string              `json:"initiator,omitempty"`     // GET only
	InstrumentID          string              `json:"instrumentId"`
	AgreementID           string              `json:"agreementId,omitempty"` // GET only
	Currency              string              `json:"currency"`
	Country               string              `json:"country"`
	PaymentDescriptor     string              `json:"paymentDescriptor,omitempty"`
	Status                string              `json:"status"`
	Consumer              pproConsumer        `json:"consumer"`
	Failure               *pproFailure        `json:"failure,omitempty"`
	AuthenticationMethods []pproAuthMethod    `json:"authenticationMethods,omitempty"` // GET only
	Authorizations        []pproAuthorization `json:"authorizations"`
	Captures              []pproCapture       `json:"captures"`
	Refunds               []pproRefund        `json:"refunds"`
	Discards              *[]pproDiscard      `json:"discards,omitempty"` // GET only
	Voids                 []pproNoOperation   `json:"voids"`
	CreatedAt             string              `json:"createdAt"`
	UpdatedAt             string              `json:"updatedAt"`
	Labels                map[string]string   `json:"labels,omitempty"`

	merchantID     string
	amount         int64
	scheduleType   string
	merchantRef    string
	webhooksURL    string
	discards       []pproDiscard
	paymentMedium  string
	initiator      string
	agreementID    string
	authentication []pproAuthMethod
	autoCapture    bool      // as requested; absent means true
	captureDue     time.Time // when a CAPTURE_PENDING charge captures itself; zero otherwise
	capturedAt     time.Time // its first capture, the start of the refund period; zero if none
	echoReference  bool      // its authorizations and webhooks carry merchantRef (Settings.EchoChargeReference)
}

// capturedAmount is what the charge's successful captures took.
func (c *pproCharge) capturedAmount() int64 {
	var n int64
	for _, op := range c.Captures {
		if op.Status == captureCaptured {
			n += op.Amount
		}
	}
	return n
}

// refundAmount is what the charge's refunds in status give back:
// REFUNDED ones have, PENDING ones will if they succeed (and so are not
// left to refund).
func (c *pproCharge) refundAmount(status string) int64 {
	var n int64
	for _, r := range c.Refunds {
		if r.Status == status {
			n += r.Amount
		}
	}
	return n
}

// paymentChargeView is the charge as GET /v1/payment-charges/{id} shows it.
func (c *pproCharge) paymentChargeView() *pproCharge {
	v := *c
	v.PaymentMedium, v.Initiator, v.AgreementID = c.paymentMedium, c.initiator, c.agreementID
	v.AuthenticationMethods = c.authentication
	discards := c.discards
	if discards == nil {
		discards = []pproDiscard{}
	}
	v.Discards = &discards
	return &v
}

// agreementChargeView is the charge as POST …/payment-charges answers it
// (AgreementChargeResponse).
func (c *pproCharge) agreementChargeView() *pproCharge {
	v := *c
	v.PaymentMedium, v.Initiator, v.AgreementID = "", "", ""
	v.AuthenticationMethods, v.Discards = nil, nil
	return &v
}

// pproRevocationAnswer is an AgreementRevocationResponse.
type pproRevocationAnswer struct {
	Status  string       `json:"status"`
	Failure *pproFailure `json:"failure,omitempty"`
}

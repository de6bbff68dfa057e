package ppro

import "time"

// The JSON shapes of PPRO's Global API v1, as its OpenAPI documents name
// them (ppro-payment-agreements.json, ppro-payment-charges.json). Only the
// fields this app uses are typed; decoding ignores the rest, so fields PPRO
// adds later do no harm.

// AgreementStatus is a payment agreement's status.
type AgreementStatus string

// Every agreement status PPRO documents.
const (
	AgreementInitializing            AgreementStatus = "INITIALIZING"
	AgreementAuthenticationPending   AgreementStatus = "AUTHENTICATION_PENDING"
	AgreementAuthorizationProcessing AgreementStatus = "AUTHORIZATION_PROCESSING"
	AgreementActive                  AgreementStatus = "ACTIVE"
	AgreementRevokedByConsumer       AgreementStatus = "REVOKED_BY_CONSUMER"
	AgreementRevokedByMerchant       AgreementStatus = "REVOKED_BY_MERCHANT"
	AgreementRevokedByProvider       AgreementStatus = "REVOKED_BY_PROVIDER"
	AgreementFailed                  AgreementStatus = "FAILED"
)

// Revoked reports whether s is one of the REVOKED_BY_* statuses.
func (s AgreementStatus) Revoked() bool {
	return s == AgreementRevokedByConsumer || s == AgreementRevokedByMerchant || s == AgreementRevokedByProvider
}

// ChargeStatus is a payment charge's status.
type ChargeStatus string

// Every payment charge status PPRO documents (ppro-payment-charges.json;
// DISCARD_PROCESSING appears only there, not in the agreement-charge answer).
const (
	ChargeAuthorizationProcessing ChargeStatus = "AUTHORIZATION_PROCESSING"
	ChargeAuthorizationAsync      ChargeStatus = "AUTHORIZATION_ASYNC"
	ChargeAuthenticationPending   ChargeStatus = "AUTHENTICATION_PENDING"
	ChargeCapturePending          ChargeStatus = "CAPTURE_PENDING"
	ChargeCaptureProcessing       ChargeStatus = "CAPTURE_PROCESSING"
	ChargeCaptured                ChargeStatus = "CAPTURED"
	ChargeRefundProcessing        ChargeStatus = "REFUND_PROCESSING"
	ChargeRefunded                ChargeStatus = "REFUNDED"
	ChargeVoidProcessing          ChargeStatus = "VOID_PROCESSING"
	ChargeVoided                  ChargeStatus = "VOIDED"
	ChargeDiscardProcessing       ChargeStatus = "DISCARD_PROCESSING"
	ChargeDiscarded               ChargeStatus = "DISCARDED"
	ChargeFailed                  ChargeStatus = "FAILED"
)

// FailureType classifies a processing failure.
type FailureType string

// Every failure type PPRO documents.
const (
	FailureInternalError   FailureType = "INTERNAL_ERROR"
	FailureInternalDecline FailureType = "INTERNAL_DECLINE"
	FailureProviderError   FailureType = "PROVIDER_ERROR"
	FailureProviderDecline FailureType = "PROVIDER_DECLINE"
)

// RevocationStatus is the answer to a merchant's revocation request.
type RevocationStatus string

const (
	RevocationRevoked RevocationStatus = "REVOKED"
	RevocationFailed  RevocationStatus = "FAILED"
)

// PaymentMethodAmazonPay is the only payment method this app uses.
const PaymentMethodAmazonPay = "AMAZON_PAY"

// Money is an amount in minor units with an ISO 4217 currency.
type Money struct {
	Value    int64  `json:"value"`
	Currency string `json:"currency"`
}

// Consumer is the shopper.
type Consumer struct {
	Name    string          `json:"name,omitempty"`
	Email   string          `json:"email,omitempty"`
	Country string          `json:"country"`
	Client  *ConsumerClient `json:"client,omitempty"`
}

// ConsumerClient is the shopper's browser, as recorded with their consent.
type ConsumerClient struct {
	IP        string `json:"ip,omitempty"`
	UserAgent string `json:"userAgent,omitempty"` // at most 500 characters
}

// Frequency is how often an agreement is charged.
type Frequency struct {
	Type     string `json:"type"`               // DAILY, WEEKLY, MONTHLY, YEARLY
	Interval int    `json:"interval,omitempty"` // 1..1000; 1 when absent
}

// AmountTypeExact: every later charge is exactly the agreement's amount.
const AmountTypeExact = "EXACT"

// AuthenticationSetting asks for one authentication flow; Amazon Pay takes
// REDIRECT only.
type AuthenticationSetting struct {
	Type     string           `json:"type"`
	Settings RedirectSettings `json:"settings"`
}

// RedirectSettings says where PPRO sends the shopper back. PPRO appends
// nothing to it, so it must identify the agreement itself.
type RedirectSettings struct {
	ReturnURL string `json:"returnUrl"`
}

// Redirect builds the REDIRECT authentication setting.
func Redirect(returnURL string) AuthenticationSetting {
	return AuthenticationSetting{Type: "REDIRECT", Settings: RedirectSettings{ReturnURL: returnURL}}
}

// PaymentCharge is the initial charge made together with the agreement.
type PaymentCharge struct {
	Amount                         Money  `json:"amount"`
	AutoCapture                    *bool  `json:"autoCapture,omitempty"`
	MerchantPaymentChargeReference string `json:"merchantPaymentChargeReference,omitempty"`
	PaymentDescriptor              string `json:"paymentDescriptor,omitempty"`
}

// AgreementRequest creates a payment agreement.
type AgreementRequest struct {
	PaymentMethod                     string                  `json:"paymentMethod"`
	Description                       string                  `json:"description,omitempty"`
	MerchantPaymentAgreementReference string                  `json:"merchantPaymentAgreementReference,omitempty"`
	Frequency                         *Frequency              `json:"frequency,omitempty"`
	Amount                            *Money                  `json:"amount,omitempty"`
	AmountType                        string                  `json:"amountType,omitempty"`
	Consumer                          Consumer                `json:"consumer"`
	AuthenticationSettings            []AuthenticationSetting `json:"authenticationSettings"`
	InitialPaymentCharge              *PaymentCharge          `json:"initialPaymentCharge,omitempty"`
	WebhooksURL                       string                  `json:"webhooksUrl,omitempty"`
}

// Agreement is a payment agreement.
type Agreement struct {
	ID                                string                 `json:"id"`
	Status                            AgreementStatus        `json:"status"`
	Failure                           *Failure               `json:"failure"`
	PaymentMethod                     string                 `json:"paymentMethod"`
	Description                       string                 `json:"description"`
	MerchantPaymentAgreementReference string                 `json:"merchantPaymentAgreementReference"`
	InstrumentID                      string                 `json:"instrumentId"`
	Consumer                          Consumer               `json:"consumer"`
	AuthenticationMethods             []AuthenticationMethod `json:"authenticationMethods"`
	History                           []HistoryEntry         `json:"history"`
	Revocations                       []Revocation           `json:"revocations"`
	InitialPaymentChargeID            string                 `json:"initialPaymentChargeId"`
	StartDate                         time.Time              `json:"startDate"`
	CreatedAt                         time.Time              `json:"createdAt"`
	UpdatedAt                         time.Time              `json:"updatedAt"`
}

// RedirectMethod returns the REDIRECT authentication method, if offered.
func (a Agreement) RedirectMethod() (AuthenticationMethod, bool) {
	for _, m := range a.AuthenticationMethods {
		if m.Type == "REDIRECT" && m.Details.RequestURL != "" {
			return m, true
		}
	}
	return AuthenticationMethod{}, false
}

// AuthenticationMethod is how the shopper authenticates: for REDIRECT, the
// URL and HTTP method to send them with.
type AuthenticationMethod struct {
	Type    string `json:"type"`
	Details struct {
		RequestURL    string `json:"requestUrl"`
		RequestMethod string `json:"requestMethod"`
	} `json:"details"`
}

// HistoryEntry is one status an agreement went through.
type HistoryEntry struct {
	ID        string          `json:"id"`
	Status    AgreementStatus `json:"status"`
	Failure   *Failure        `json:"failure"`
	CreatedAt time.Time       `json:"createdAt"`
}

// Revocation is one revocation of an agreement.
type Revocation struct {
	ID               string    `json:"id"`
	RevocationStatus string    `json:"revocationStatus"`
	Failure          *Failure  `json:"failure"`
	CreatedAt        time.Time `json:"createdAt"`
}

// Failure is PPRO's ProcessingFailure.
type Failure struct {
	FailureType         FailureType `json:"failureType"`
	FailureCode         string      `json:"failureCode"`
	ProviderFailureCode string      `json:"providerFailureCode"`
	FailureMessage      string      `json:"failureMessage"`
	IsRetryable         *bool       `json:"isRetryable"`
	// InternalFailureCode appears instead of failureCode in one of PPRO's
	// examples (ppro-api.md §4.2); Code reads either.
	InternalFailureCode string `json:"internalFailureCode"`
}

// Code is the failure code, whichever key PPRO used.
func (f *Failure) Code() string {
	if f == nil {
		return ""
	}
	if f.FailureCode != "" {
		return f.FailureCode
	}
	return f.InternalFailureCode
}

// String is "CODE: message" for logs and the mandate record.
func (f *Failure) String() string {
	if f == nil {
		return ""
	}
	switch code := f.Code(); {
	case code != "" && f.FailureMessage != "":
		return code + ": " + f.FailureMessage
	case code != "":
		return code
	default:
		return f.FailureMessage
	}
}

// ChargeRequest charges an agreement.
type ChargeRequest struct {
	Amount                         Money  `json:"amount"`
	Initiator                      string `json:"initiator,omitempty"`    // MERCHANT or CONSUMER
	ScheduleType                   string `json:"scheduleType,omitempty"` // SCHEDULED, SCHEDULED_RETRY, UNSCHEDULED
	AutoCapture                    *bool  `json:"autoCapture,omitempty"`
	PaymentDescriptor              string `json:"paymentDescriptor,omitempty"`
	MerchantPaymentChargeReference string `json:"merchantPaymentChargeReference,omitempty"`
}

// Initiators and schedule types of a charge.
const (
	InitiatorMerchant   = "MERCHANT"
	ScheduleScheduled   = "SCHEDULED"
	ScheduleRetry       = "SCHEDULED_RETRY"
	ScheduleUnscheduled = "UNSCHEDULED"
)

// Charge is a payment charge. PPRO puts amounts on its operations, not on
// the charge.
type Charge struct {
	ID             string          `json:"id"`
	Status         ChargeStatus    `json:"status"`
	PaymentMethod  string          `json:"paymentMethod"`
	Currency       string          `json:"currency"`
	Country        string          `json:"country"`
	AgreementID    string          `json:"agreementId"` // only in GET /v1/payment-charges/{id}
	Failure        *Failure        `json:"failure"`
	Authorizations []Authorization `json:"authorizations"`
	Captures       []Capture       `json:"captures"`
	Refunds        []Refund        `json:"refunds"`
	CreatedAt      time.Time       `json:"createdAt"`
	UpdatedAt      time.Time       `json:"updatedAt"`
}

// Reference is our reference for the charge (the request's
// merchantPaymentChargeReference). PPRO's PaymentChargeResponse has no such
// field: it answers it on each authorization.
func (ch Charge) Reference() string {
	for _, a := range ch.Authorizations {
		if a.MerchantPaymentChargeReference != "" {
			return a.MerchantPaymentChargeReference
		}
	}
	return ""
}

// Authorization is one authorization of a charge.
type Authorization struct {
	ID                             string   `json:"id"`
	Amount                         int64    `json:"amount"`
	Status                         string   `json:"status"` // AUTHORIZED, AUTHENTICATION_PENDING, PROVIDER_CONFIRMATION_PENDING, FAILED
	MerchantPaymentChargeReference string   `json:"merchantPaymentChargeReference"`
	Failure                        *Failure `json:"failure"`
}

// Capture is one capture of a charge.
type Capture struct {
	ID      string   `json:"id"`
	Amount  int64    `json:"amount"`
	Status  string   `json:"status"` // CAPTURED, FAILED
	Failure *Failure `json:"failure"`
}

// RevocationResult answers a merchant's revocation request.
type RevocationResult struct {
	Status  RevocationStatus `json:"status"`
	Failure *Failure         `json:"failure"`
}

// Refund is one refund of a charge.
type Refund struct {
	ID                      string   `json:"id"`
	Amount                  int64    `json:"amount"`
	Status                  string   `json:"status"` // REFUNDED, PENDING, FAILED
	MerchantRefundReference string   `json:"merchantRefundReference"`
	Failure                 *Failure `json:"failure"`
}

// Refund statuses PPRO documents.
const (
	RefundRefunded = "REFUNDED"
	RefundPending  = "PENDING"
	RefundFailed   = "FAILED"
)

// RefundRequest refunds part or all of a captured charge.
type RefundRequest struct {
	Amount                  int64  `json:"amount"`
	MerchantRefundReference string `json:"merchantRefundReference,omitempty"`
	RefundReason            string `json:"refundReason,omitempty"` // RETURN, DUPLICATE, FRAUD, CUSTOMER_REQUEST, PRE_DISPUTE, OTHER
}

// chargeSearch is the answer of GET /v1/payment-charges.
type chargeSearch struct {
	Data     []Charge `json:"data"`
	NextPage string   `json:"nextPage"`
}

package pprosim

import (
	"context"
	"time"

	"example.com/storefront/sandbox/simkit"
)

// PPRO webhooks: CloudEvents 1.0.2 envelopes in structured mode, exactly
// as ppro-gpg-webhooks.json describes them, with PPRO's thin data objects.
//
// Where they go: always to the Host's endpoint for Provider, which is
// sandbox.Config's PPRO.WebhookURL (the app, over loopback). A webhooksUrl
// given with an agreement or a charge overrides the account's URL at PPRO;
// the sandbox validates and stores it but never sends anything off the
// machine.
//
// Signatures: every delivery attempt is signed afresh (see signature.go)
// with the scheme the app verifies, PPRO-Signature: t=<unix seconds>,
// s=<hex HMAC-SHA256(secret, t + "." + raw body)>. PPRO confirms its
// scheme per account (ppro-api.md §8, §11.1); this is the HMAC variant its
// newer webhooks page recommends, as summarised there.

// The event types the sandbox sends.
const (
	eventChargeAuthorizationSucceeded = "PAYMENT_CHARGE_AUTHORIZATION_SUCCEEDED"
	eventChargeAuthorizationFailed    = "PAYMENT_CHARGE_AUTHORIZATION_FAILED"
	eventChargeAuthenticationPending  = "PAYMENT_CHARGE_AUTHENTICATION_PENDING"
	eventChargeProviderPending        = "PAYMENT_CHARGE_PROVIDER_CONFIRMATION_PENDING"
	eventChargeRefundPending          = "PAYMENT_CHARGE_REFUND_PENDING"
	eventChargeCaptureSucceeded       = "PAYMENT_CHARGE_CAPTURE_SUCCEEDED"
	eventChargeDiscarded              = "PAYMENT_CHARGE_DISCARDED"
	eventChargeRefundSucceeded        = "PAYMENT_CHARGE_REFUND_SUCCEEDED"
	eventChargeRefundFailed           = "PAYMENT_CHARGE_REFUND_FAILED"
)

// pproAgreementEventType is PAYMENT_AGREEMENT_<status> for the statuses an
// agreement moves to after creation: ACTIVE, FAILED and the three
// REVOKED_BY_* statuses.
func pproAgreementEventType(status string) string { return "PAYMENT_AGREEMENT_" + status }

// pproEvent is the CloudEvents envelope.
type pproEvent struct {
	SpecVersion     string `json:"specversion"`
	Source          string `json:"source"`
	DataContentType string `json:"datacontenttype"`
	ID              string `json:"id"`
	Type            string `json:"type"`
	Subject         string `json:"subject"`
	Time            string `json:"time"`
	Data            any    `json:"data"`
}

// pproAgreementEventData is the data of the PAYMENT_AGREEMENT_* events.
type pproAgreementEventData struct {
	PaymentAgreementID                string       `json:"paymentAgreementId"`
	PaymentAgreementStatus            string       `json:"paymentAgreementStatus"`
	PaymentMethod                     string       `json:"paymentMethod"`
	Type                              string       `json:"type"`
	MerchantPaymentAgreementReference string       `json:"merchantPaymentAgreementReference,omitempty"`
	MerchantID                        string       `json:"merchantId"`
	Failure                           *pproFailure `json:"failure,omitempty"`
}

// pproChargeEventData is the data of the PAYMENT_CHARGE_* events; each
// type uses some of the operation fields. As PPRO documents, it names no
// agreement: the receiver finds it with GET /v1/payment-charges/{id}.
type pproChargeEventData struct {
	PaymentChargeID                string       `json:"paymentChargeId"`
	PaymentChargeStatus            string       `json:"paymentChargeStatus"`
	PaymentMethod                  string       `json:"paymentMethod"`
	MerchantID                     string       `json:"merchantId"`
	MerchantPaymentChargeReference string       `json:"merchantPaymentChargeReference,omitempty"`
	Type                           string       `json:"type"`
	AuthorizationID                string       `json:"authorizationId,omitempty"`
	CaptureID                      string       `json:"captureId,omitempty"`
	RefundID                       string       `json:"refundId,omitempty"`
	MerchantRefundReference        string       `json:"merchantRefundReference,omitempty"`
	DiscardType                    string       `json:"discardType,omitempty"`
	Amount                         *pproMoney   `json:"amount,omitempty"`
	Failure                        *pproFailure `json:"failure,omitempty"`
}

func (s *Sim) pproEmitAgreement(ctx context.Context, tx *simkit.WriteTx, a *pproAgreement, at time.Time) error {
	typ := pproAgreementEventType(a.Status)
	return s.pproEmit(ctx, tx, typ, a.ID, at, pproAgreementEventData{
		PaymentAgreementID:                a.ID,
		PaymentAgreementStatus:            a.Status,
		PaymentMethod:                     a.PaymentMethod,
		Type:                              typ,
		MerchantPaymentAgreementReference: a.MerchantPaymentAgreementReference,
		MerchantID:                        a.merchantID,
		Failure:                           a.Failure,
	})
}

// pproEmitCharge sends a charge event; data carries the operation fields
// of this type, the rest is filled in from c. The amount is the charge's
// unless data names the operation's own (a refund's).
func (s *Sim) pproEmitCharge(ctx context.Context, tx *simkit.WriteTx, typ string, c *pproCharge, data pproChargeEventData, at time.Time) error {
	data.PaymentChargeID = c.ID
	data.PaymentChargeStatus = c.Status
	data.PaymentMethod = c.PaymentMethod
	data.MerchantID = c.merchantID
	if c.echoReference {
		data.MerchantPaymentChargeReference = c.merchantRef
	}
	data.Type = typ
	if data.Amount == nil {
		data.Amount = &pproMoney{Value: c.amount, Currency: c.Currency}
	}
	return s.pproEmit(ctx, tx, typ, c.ID, at, data)
}

func (s *Sim) pproEmit(ctx context.Context, tx *simkit.WriteTx, typ, subject string, at time.Time, data any) error {
	e := pproEvent{
		SpecVersion:     "1.0.2",
		Source:          "https://www.ppro.com", // as in every example of ppro-gpg-webhooks.json
		DataContentType: "application/json",
		ID:              simkit.RandomAlnum(21),
		Type:            typ,
		Subject:         subject,
		Time:            pproTime(at),
		Data:            data,
	}
	payload, err := pproJSON(e)
	if err != nil {
		return err
	}
	return s.host.RecordEvent(ctx, tx, simkit.Event{Provider: Provider, ID: e.ID, Type: typ, Created: at.Unix(), Payload: payload})
}

// WebhookEndpoint is where the PPRO part delivers its webhooks: url, each
// attempt signed with secret (see signature.go).
func WebhookEndpoint(url, secret string) simkit.WebhookEndpoint {
	return simkit.WebhookEndpoint{URL: url, Headers: pproSigner(secret)}
}

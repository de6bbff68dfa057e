package ppro

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"example.com/storefront/payments"
)

// SignatureHeader carries a webhook's signature.
const SignatureHeader = "PPRO-Signature"

// SignatureTolerance is how far a signature's timestamp may be from our
// clock, either side, as for Stripe's.
const SignatureTolerance = 5 * time.Minute

// ErrBadSignature is returned for a webhook whose signature is missing,
// stale or wrong.
var ErrBadSignature = errors.New("ppro webhook: bad signature")

// VerifySignature checks PPRO-Signature: t=<unix seconds>,s=<hex of
// HMAC-SHA256(secret, t + "." + raw body)>, with SignatureTolerance either
// side of now, in constant time.
//
// PPRO confirms the signing scheme per account, and its documents disagree
// on the header, the signed string and the encoding (reference/ppro-api.md
// §8 and §11). This function is the one place to change when PPRO names
// another variant for your account.
func VerifySignature(header string, body []byte, secret string, now time.Time) error {
	var ts, sig string
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return fmt.Errorf("%w: %s is not t=…,s=…", ErrBadSignature, SignatureHeader)
		}
		switch k {
		case "t":
			ts = v
		case "s":
			sig = v
		}
	}
	if ts == "" || sig == "" {
		return fmt.Errorf("%w: no %s header with t and s", ErrBadSignature, SignatureHeader)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timestamp %q", ErrBadSignature, ts)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > SignatureTolerance || d < -SignatureTolerance {
		return fmt.Errorf("%w: timestamp %s is more than %v from now", ErrBadSignature, ts, SignatureTolerance)
	}
	got, err := hex.DecodeString(sig)
	if err != nil || !hmac.Equal(got, signature(ts, body, secret)) {
		return fmt.Errorf("%w: it does not match the body", ErrBadSignature)
	}
	return nil
}

// Sign returns the PPRO-Signature value for body at t; tests and the
// documentation use it to make deliveries the way PPRO does.
func Sign(body []byte, secret string, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",s=" + hex.EncodeToString(signature(ts, body, secret))
}

func signature(ts string, body []byte, secret string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "."))
	m.Write(body)
	return m.Sum(nil)
}

// ParseWebhook reads a PPRO webhook (a CloudEvents envelope), verifying its
// signature when a webhook secret is configured. Without one (real
// credentials whose account has no signing secret yet) a delivery is only
// a nudge: nothing in its payload is trusted, the caller fetches the
// agreement or charge from the API with our credentials.
func (p *Provider) ParseWebhook(r *http.Request) (payments.Event, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return payments.Event{}, fmt.Errorf("ppro webhook: read body: %w", err)
	}
	if p.webhookSecret != "" {
		if err := VerifySignature(r.Header.Get(SignatureHeader), body, p.webhookSecret, time.Now()); err != nil {
			return payments.Event{}, err
		}
	}
	var ev struct {
		ID   string `json:"id"`
		Type string `json:"type"`
		Data struct {
			PaymentAgreementID                string `json:"paymentAgreementId"`
			MerchantPaymentAgreementReference string `json:"merchantPaymentAgreementReference"`
			PaymentChargeID                   string `json:"paymentChargeId"`
			RefundID                          string `json:"refundId"`
			DisputeID                         string `json:"disputeId"`
			Amount                            *struct {
				Value    int64  `json:"value"`
				Currency string `json:"currency"`
			} `json:"amount"`
			MerchantRefundReference string `json:"merchantRefundReference"`
			// FUNDS_STATE_CHANGED names the operation whose money moved
			// (or was rejected: REFUND_FUNDS_REJECTED) by its id and type.
			PaymentOperationID   string `json:"paymentOperationId"`
			PaymentOperationType string `json:"paymentOperationType"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		return payments.Event{}, fmt.Errorf("ppro webhook: %w", err)
	}
	// Charge events name no agreement (ppro-api.md §8): the charge is found
	// by its own id, never by guessing from our reference.
	out := payments.Event{ID: ev.ID, Type: ev.Type, SetupRef: ev.Data.PaymentAgreementID,
		MandateID: ev.Data.MerchantPaymentAgreementReference, ChargeRef: ev.Data.PaymentChargeID, RefundRef: ev.Data.RefundID,
		RefundReference: ev.Data.MerchantRefundReference}
	switch ev.Type {
	case "PAYMENT_AGREEMENT_CREATED", "PAYMENT_AGREEMENT_AUTHENTICATION_PENDING", "PAYMENT_AGREEMENT_ACTIVE", "PAYMENT_AGREEMENT_FAILED":
		// Of the setup only (ppro-api.md §8): a revocation comes as
		// PAYMENT_AGREEMENT_REVOKED_BY_… or …_UPDATED. Saying so only
		// spares a fetch, so an unsigned event may say it too.
		out.SetupOnly = true
	}
	if isDisputeEvent(ev.Type) && ev.Data.PaymentChargeID != "" {
		out.DisputeRef = ev.Data.DisputeID
		if out.DisputeRef == "" {
			out.DisputeRef = chargebackRef(ev.Data.PaymentChargeID)
		}
		// PPRO has no dispute to fetch, so a signed event's own words are
		// kept; an unsigned one's are not (anyone could have sent it).
		if st, ok := disputeState(ev.Type); ok && p.webhookSecret != "" {
			d := &payments.Dispute{Ref: out.DisputeRef, ChargeRef: ev.Data.PaymentChargeID, State: st, ProviderStatus: ev.Type}
			if a := ev.Data.Amount; a != nil {
				d.Amount = payments.Money{Amount: a.Value, Currency: strings.ToUpper(a.Currency)}
			}
			out.Dispute = d
		}
	}
	if out.RefundRef == "" && ev.Data.PaymentOperationType == "REFUND" {
		out.RefundRef = ev.Data.PaymentOperationID
	}
	if err := payments.CheckEvent(out); err != nil {
		return payments.Event{}, fmt.Errorf("ppro webhook: not a CloudEvents envelope we can keep: %w", err)
	}
	return out, nil
}

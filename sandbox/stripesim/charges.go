package stripesim

import (
	"context"
	"fmt"
	"net/http"

	"example.com/storefront/sandbox/simkit"
)

// The outcome of an off-session charge, and GET /v1/charges/{id}.
//
// Magic amounts, the rule the PPRO part of the sandbox uses too: the last
// two digits of the amount in minor units decide.
//
//	01 declined, decline_code generic_decline
//	02 declined, decline_code insufficient_funds
//	03 needs the shopper: requires_action (with error_on_requires_action,
//	   a 402 authentication_required decline instead)
//	04 succeeds, then is disputed after the settle delay
//	07 accepted processing (a pending charge), succeeds after the settle delay
//
// Any other amount succeeds at once. (05 and 06 are refund amounts: see
// refunds.go.)
const (
	magicGenericDecline    = 1
	magicInsufficientFunds = 2
	magicRequiresAction    = 3
	magicDisputed          = 4
	magicRefundFails       = 5
	magicRefundFailsLater  = 6
	magicProcessing        = 7
)

// magicCase is the case amount asks for: its last two digits.
func magicCase(amount int64) int64 { return amount % 100 }

// stripeChargeOffSession creates the PaymentIntent of in and confirms it
// with its saved payment method. On success it returns the PaymentIntent
// (succeeded, processing or requires_action); on a decline the
// PaymentIntent and its failed charge are kept, and the error is Stripe's
// 402 with the PaymentIntent inside.
//
// Events, in Stripe's order: payment_intent.created, then
// charge.succeeded and payment_intent.succeeded, or charge.failed and
// payment_intent.payment_failed, or charge.pending and
// payment_intent.processing, or payment_intent.requires_action. Stripe
// does not document the status a created-and-confirmed PaymentIntent
// shows in payment_intent.created; the sandbox shows it as created,
// before confirmation (requires_confirmation).
func (s *Sim) stripeChargeOffSession(ctx context.Context, tx *simkit.WriteTx, in *paymentIntentRequest, req *stripeRequest) (*stripePaymentIntent, error) {
	pm := in.pm
	pi := &stripePaymentIntent{
		ID:                      simkit.NewID("pi_", 24),
		Amount:                  in.amount,
		AutomaticPaymentMethods: in.automatic,
		CaptureMethod:           in.captureMethod,
		Created:                 s.host.Now().Unix(),
		Currency:                in.currency,
		Description:             in.description,
		Metadata:                in.metadata,
		PaymentMethodTypes:      in.types,
		Status:                  "requires_confirmation",
		customerID:              in.customerID,
		paymentMethodID:         &pm.ID,
	}
	pi.ClientSecret = pi.ID + "_secret_" + simkit.RandomAlnum(25)
	if err := insertStripePaymentIntent(ctx, tx, pi); err != nil {
		return nil, err
	}
	if err := s.stripeEmitLoaded(ctx, tx, eventPaymentIntentCreated, pi.ID, req); err != nil {
		return nil, err
	}

	decline := magicDecline(pi.Amount, pm.Type)
	// The presenter made this payment method's payments decline.
	if magic, err := simkit.DeclineFor(ctx, tx, pm.ID); err != nil {
		return nil, err
	} else if magic != 0 {
		decline = magicDecline(magic, pm.Type)
	}
	if magicCase(pi.Amount) == magicRequiresAction {
		if !in.errorOnRequiresAction {
			return s.stripeRequireAction(ctx, tx, pi, req)
		}
		decline = authenticationRequired()
	}
	ch := s.newStripeCharge(pi, pm, decline)
	if decline == nil && magicCase(pi.Amount) == magicProcessing {
		ch.Status, ch.Paid = chargePending, false
	}
	if err := insertStripeCharge(ctx, tx, ch); err != nil {
		return nil, err
	}
	pi.latestChargeID = &ch.ID
	if decline == nil && ch.Status == chargePending {
		return s.stripeProcessing(ctx, tx, pi, ch, req)
	}
	if decline == nil {
		pi.Status, pi.AmountReceived = piSucceeded, pi.Amount
		if err := updateStripePaymentIntent(ctx, tx, pi); err != nil {
			return nil, err
		}
		if err := s.stripeEmitLoaded(ctx, tx, eventChargeSucceeded, ch.ID, req); err != nil {
			return nil, err
		}
		succeeded, err := s.stripeEmitPaymentIntent(ctx, tx, eventPaymentIntentSucceeded, pi.ID, req)
		if err != nil {
			return nil, err
		}
		if magicCase(pi.Amount) == magicDisputed {
			// The charge's due dispute: nothing the PaymentIntent shows.
			if err := s.stripeScheduleDispute(ctx, tx, ch.ID); err != nil {
				return nil, err
			}
		}
		return succeeded, nil
	}

	// As Stripe documents for a failed off-session payment: the
	// PaymentIntent goes back to requires_payment_method, with the error
	// (and the payment method that failed) in last_payment_error and its
	// payment_method unset.
	decline.Charge = ch.ID
	decline.PaymentMethod = pm
	pi.Status, pi.paymentMethodID, pi.LastPaymentError = piRequiresPaymentMethod, nil, decline
	if err := updateStripePaymentIntent(ctx, tx, pi); err != nil {
		return nil, err
	}
	if err := s.stripeEmitLoaded(ctx, tx, eventChargeFailed, ch.ID, req); err != nil {
		return nil, err
	}
	failed, err := s.stripeEmitPaymentIntent(ctx, tx, eventPaymentIntentFailed, pi.ID, req)
	if err != nil {
		return nil, err
	}
	answer := *decline
	answer.status, answer.committed, answer.PaymentIntent = http.StatusPaymentRequired, true, failed
	return nil, &answer
}

// stripeRequireAction leaves pi waiting for the shopper, as a confirmation
// that needs them does: requires_action with a redirect_to_url
// next_action, no charge yet, payment_intent.requires_action, and a 200
// answer. Nothing moves it on by itself: off session, the shopper is not
// there, and the merchant must bring them back (or cancel). The sandbox
// has no page to act on: url leads to its index.
func (s *Sim) stripeRequireAction(ctx context.Context, tx *simkit.WriteTx, pi *stripePaymentIntent, req *stripeRequest) (*stripePaymentIntent, error) {
	url := s.host.PageURL("/")
	pi.Status = piRequiresAction
	pi.nextAction = &piNextAction{Type: "redirect_to_url", RedirectToURL: &piNextActionRedirect{URL: &url}}
	if err := updateStripePaymentIntent(ctx, tx, pi); err != nil {
		return nil, err
	}
	return s.stripeEmitPaymentIntent(ctx, tx, eventPaymentIntentRequiresAction, pi.ID, req)
}

// authenticationRequired is the decline of a confirmation sent with
// error_on_requires_action=true that would have needed the shopper. The
// 2023-10-16 spec: "Set to true to fail the payment attempt if the
// PaymentIntent transitions into requires_action", pointing to Stripe's
// guide to saving cards without authentication, where the failed attempt
// is a card_error with code (and decline_code) authentication_required and
// the PaymentIntent goes back to requires_payment_method. Like every
// non-invoice error in the spec, it carries no payment_method_type.
func authenticationRequired() *stripeError {
	e := newStripeError(http.StatusPaymentRequired, errTypeCard, "authentication_required", "",
		"This payment required an authentication action to complete, but `error_on_requires_action` was set. "+
			"When you're ready, you can upgrade your integration to handle actions at https://stripe.com/docs/payments/payment-intents/upgrade-to-handle-actions.")
	e.DeclineCode = "authentication_required"
	return e
}

// stripeProcessing leaves pi processing with its pending charge, as an
// asynchronous payment is, and has it succeed after the settle delay
// (stripeSettleCharge).
func (s *Sim) stripeProcessing(ctx context.Context, tx *simkit.WriteTx, pi *stripePaymentIntent, ch *stripeCharge, req *stripeRequest) (*stripePaymentIntent, error) {
	pi.Status = piProcessing
	if err := updateStripePaymentIntent(ctx, tx, pi); err != nil {
		return nil, err
	}
	d := s.settleAfter()
	due := dueAt(s.host.Now(), d)
	if err := setChargeDue(ctx, tx, ch.ID, &due, nil); err != nil {
		return nil, err
	}
	if err := s.stripeEmitLoaded(ctx, tx, eventChargePending, ch.ID, req); err != nil {
		return nil, err
	}
	processing, err := s.stripeEmitPaymentIntent(ctx, tx, eventPaymentIntentProcessing, pi.ID, req)
	if err != nil {
		return nil, err
	}
	s.later(d, func(ctx context.Context, tx *simkit.WriteTx) error { return s.stripeSettleCharge(ctx, tx, ch.ID) })
	return processing, nil
}

// stripeSettleCharge has a pending charge succeed, and its PaymentIntent
// with it: charge.succeeded and payment_intent.succeeded, with a null
// request id (Stripe did it). A charge no longer pending is left alone.
func (s *Sim) stripeSettleCharge(ctx context.Context, tx *simkit.WriteTx, chargeID string) error {
	ch, err := loadStripeCharge(ctx, tx, chargeID)
	if err != nil {
		return err
	}
	if err := setChargeDue(ctx, tx, ch.ID, nil, nil); err != nil {
		return err
	}
	if ch.Status != chargePending {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE stripe_charges SET status = ? WHERE id = ?`, chargeSucceeded, ch.ID); err != nil {
		return fmt.Errorf("settle charge %s: %w", ch.ID, err)
	}
	pi, err := loadStripePaymentIntent(ctx, tx, ch.paymentIntentID)
	if err != nil {
		return err
	}
	pi.Status, pi.AmountReceived = piSucceeded, pi.Amount
	if err := updateStripePaymentIntent(ctx, tx, pi); err != nil {
		return err
	}
	if err := s.stripeEmitLoaded(ctx, tx, eventChargeSucceeded, ch.ID, nil); err != nil {
		return err
	}
	return s.stripeEmitLoaded(ctx, tx, eventPaymentIntentSucceeded, pi.ID, nil)
}

// magicDecline is the decline the sandbox gives amount (see above), in
// Stripe's shape: for a card, card_declined (Stripe's code and messages
// for its test cards); for Amazon Pay, payment_method_provider_decline,
// the code Stripe uses for wallets and redirect methods.
func magicDecline(amount int64, pmType string) *stripeError {
	var declineCode, cardMessage, amazonMessage string
	switch magicCase(amount) {
	case magicGenericDecline:
		declineCode, cardMessage, amazonMessage = "generic_decline", "Your card was declined.",
			"The payment was declined by Amazon Pay."
	case magicInsufficientFunds:
		declineCode, cardMessage, amazonMessage = "insufficient_funds", "Your card has insufficient funds.",
			"The payment was declined by Amazon Pay: the buyer's Amazon Pay account has insufficient funds."
	default:
		return nil
	}
	e := newStripeError(http.StatusPaymentRequired, errTypeCard, "payment_method_provider_decline", "", amazonMessage)
	if pmType == pmTypeCard {
		e = newStripeError(http.StatusPaymentRequired, errTypeCard, "card_declined", "", cardMessage)
	}
	// No payment_method_type: Stripe fills it only for invoice errors.
	e.DeclineCode = declineCode
	return e
}

// newStripeCharge is the charge of one attempt to pay pi with pm:
// succeeded and captured, or failed with decline.
func (s *Sim) newStripeCharge(pi *stripePaymentIntent, pm *stripePaymentMethod, decline *stripeError) *stripeCharge {
	descriptor := statementDescriptor(s.host.MerchantName())
	ch := &stripeCharge{
		ID:                            simkit.NewID("ch_", 24),
		Amount:                        pi.Amount,
		BillingDetails:                pm.BillingDetails,
		CalculatedStatementDescriptor: &descriptor,
		Created:                       pi.Created,
		Currency:                      pi.Currency,
		Description:                   pi.Description,
		Metadata:                      pi.Metadata,
		PaymentMethod:                 pm.ID,
		PaymentMethodDetails:          chargePaymentMethodDetails(pm, pi.Amount, decline == nil),
		Status:                        chargeSucceeded,
		customerID:                    pi.customerID,
		paymentIntentID:               pi.ID,
	}
	if decline == nil {
		ch.AmountCaptured, ch.Captured, ch.Paid = pi.Amount, true, true
		ch.Outcome = &chargeOutcome{NetworkStatus: "approved_by_network", RiskLevel: riskLevel(pm.Type),
			SellerMessage: "Payment complete.", Type: "authorized"}
		return ch
	}
	reason := decline.DeclineCode
	ch.Status = chargeFailed
	ch.FailureCode, ch.FailureMessage = &decline.Code, &decline.Message
	ch.Outcome = &chargeOutcome{NetworkStatus: "declined_by_network", Reason: &reason, RiskLevel: riskLevel(pm.Type),
		SellerMessage: "The payment was declined with decline code " + reason + ".", Type: "issuer_declined"}
	return ch
}

// riskLevel is Radar's outcome.risk_level for a payment method type:
// Stripe's spec says non-card payments have "not_assessed".
func riskLevel(pmType string) string {
	if pmType == pmTypeCard {
		return "normal"
	}
	return "not_assessed"
}

// chargePaymentMethodDetails is what a charge reports about the payment
// method: the type and, for a card, the card as it was charged.
func chargePaymentMethodDetails(pm *stripePaymentMethod, amount int64, authorized bool) map[string]any {
	details := map[string]any{}
	if pm.Type == pmTypeCard && pm.Card != nil {
		c := pm.Card
		var amountAuthorized any
		if authorized {
			amountAuthorized = amount
		}
		details = map[string]any{
			"amount_authorized": amountAuthorized,
			"brand":             c.Brand,
			"checks":            c.Checks,
			"country":           c.Country,
			"exp_month":         c.ExpMonth,
			"exp_year":          c.ExpYear,
			"fingerprint":       c.Fingerprint,
			"funding":           c.Funding,
			"installments":      nil,
			"last4":             c.Last4,
			"mandate":           nil,
			"network":           c.Brand,
			"network_token":     map[string]any{"used": false},
			"three_d_secure":    nil,
			"wallet":            nil,
		}
	}
	return map[string]any{"type": pm.Type, pm.Type: details}
}

func (s *Sim) stripeGetCharge(ctx context.Context, tx *simkit.WriteTx, req *stripeRequest) (any, error) {
	return stripeGet(ctx, s, tx, req, "charge", "charge", "charge", loadStripeCharge)
}

// stripeEmitPaymentIntent emits event typ about the PaymentIntent with id,
// loaded as it is now, and returns it (to answer with, after one load).
func (s *Sim) stripeEmitPaymentIntent(ctx context.Context, tx *simkit.WriteTx, typ, id string, req *stripeRequest) (*stripePaymentIntent, error) {
	pi, err := loadStripePaymentIntent(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	return pi, s.stripeEmit(ctx, tx, typ, pi, req)
}

// stripeEmitLoaded emits event typ about the object with id (a payment
// intent, charge or refund, as typ says), loaded as it is now and
// unexpanded.
func (s *Sim) stripeEmitLoaded(ctx context.Context, tx *simkit.WriteTx, typ, id string, req *stripeRequest) error {
	var obj any
	var err error
	switch typ {
	case eventPaymentIntentCreated, eventPaymentIntentSucceeded, eventPaymentIntentFailed,
		eventPaymentIntentRequiresAction, eventPaymentIntentProcessing:
		obj, err = loadStripePaymentIntent(ctx, tx, id)
	case eventChargeSucceeded, eventChargeFailed, eventChargeRefunded, eventChargePending:
		obj, err = loadStripeCharge(ctx, tx, id)
	case eventRefundCreated, eventRefundUpdated, eventChargeRefundUpdated:
		obj, err = loadStripeRefund(ctx, tx, id)
	case eventDisputeCreated, eventDisputeClosed:
		obj, err = loadStripeDispute(ctx, tx, id)
	default:
		return fmt.Errorf("emit %s: no loader for its object", typ)
	}
	if err != nil {
		return err
	}
	return s.stripeEmit(ctx, tx, typ, obj, req)
}

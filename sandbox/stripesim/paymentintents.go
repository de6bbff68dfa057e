package stripesim

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"example.com/storefront/sandbox/simkit"
)

// POST /v1/payment_intents and GET /v1/payment_intents/{id}: the
// off-session charge of a saved payment method, as the merchant makes it
// later. The sandbox simulates exactly that (confirm=true with
// off_session), and answers at once, as Amazon Pay gives "immediate
// notification" of the outcome: succeeded with its charge, or a 402
// decline that leaves the PaymentIntent in requires_payment_method; magic
// amounts (charges.go) give the other outcomes.

var paymentIntentCreateSpec = specHash(map[string]paramSpec{
	"amount":                   specString,
	"capture_method":           specString,
	"confirm":                  specString,
	"currency":                 specString,
	"customer":                 specString,
	"description":              specString,
	"error_on_requires_action": specString,
	"expand":                   specList,
	"metadata":                 specStringMap,
	"off_session":              specString,
	"payment_method":           specString,
	"payment_method_types":     specList,
})

// paymentIntentRequest is a validated create request.
type paymentIntentRequest struct {
	amount        int64
	currency      string
	customerID    *string
	pm            *stripePaymentMethod
	types         []string
	automatic     *automaticPMs
	captureMethod string
	description   *string
	metadata      map[string]string
	expand        expandTree
	// errorOnRequiresAction fails the attempt where it would need the
	// shopper (requires_action).
	errorOnRequiresAction bool
}

func (s *Sim) stripeCreatePaymentIntent(ctx context.Context, tx *simkit.WriteTx, req *stripeRequest) (any, error) {
	in, err := s.parsePaymentIntentRequest(ctx, tx, req.params)
	if err != nil {
		return nil, err
	}
	pi, err := s.stripeChargeOffSession(ctx, tx, in, req)
	if err != nil {
		return nil, err
	}
	return pi, s.stripeExpand(ctx, tx, pi, in.expand)
}

// parsePaymentIntentRequest checks a create request as Stripe does:
// required parameters, amounts, currencies, and a payment method that the
// customer owns and may still be charged.
func (s *Sim) parsePaymentIntentRequest(ctx context.Context, tx simkit.Querier, p *paramNode) (*paymentIntentRequest, error) {
	in := &paymentIntentRequest{captureMethod: "automatic", metadata: p.stringMap("metadata")}
	var e *stripeError
	if in.amount, e = requiredInt(p, "amount"); e != nil {
		return nil, e
	}
	currency, ok := p.str("currency")
	switch {
	case !ok:
		return nil, errParamMissing("currency")
	case currency == "":
		return nil, errParamEmpty("currency")
	case !currencyCode.MatchString(currency):
		return nil, errParamInvalid("currency", "Invalid currency: %s. Use a three-letter ISO 4217 currency code.", currency)
	}
	in.currency = strings.ToLower(currency)
	if in.amount < 1 {
		return nil, errParamInvalid("amount", "This value must be greater than or equal to 1.")
	}

	confirm, e := optionalBool(p, "confirm")
	if e != nil {
		return nil, e
	}
	offSession, e := offSessionParam(p)
	if e != nil {
		return nil, e
	}
	// error_on_requires_action: an amount ending in 03 needs the
	// shopper, and with it the attempt fails instead (see charges.go).
	if in.errorOnRequiresAction, e = optionalBool(p, "error_on_requires_action"); e != nil {
		return nil, e
	}
	if !confirm || !offSession {
		return nil, errParamInvalid("confirm", "The sandbox simulates only off-session charges of a saved payment method, "+
			"confirmed when they are created: pass confirm=true and off_session=true.")
	}
	switch cm := p.optional("capture_method"); {
	case cm == nil:
	case *cm == "automatic" || *cm == "automatic_async":
		in.captureMethod = *cm
	case *cm == "manual":
		return nil, errParamInvalid("capture_method", "The sandbox does not simulate manual capture: use capture_method=automatic.")
	default:
		return nil, errParamInvalid("capture_method", "Invalid capture_method: must be one of automatic, automatic_async, or manual")
	}

	types, typesSent := p.list("payment_method_types")
	for i, t := range types {
		name := listParamName("payment_method_types", i)
		if t == "" {
			return nil, errParamEmpty(name)
		}
		if !slices.Contains(stripeActivatedTypes, t) {
			return nil, errParamInvalid(name, "The payment method type %q is invalid. Please ensure the provided type is activated in your dashboard "+
				"(the sandbox account has card and amazon_pay activated).", t)
		}
	}
	if typesSent && len(types) == 0 {
		return nil, errParamEmpty("payment_method_types")
	}
	in.types = slices.Compact(types)
	if len(in.types) == 0 {
		// Since API version 2023-08-16, a PaymentIntent without
		// payment_method_types has automatic payment methods: what the
		// account has activated and can take in this currency.
		in.automatic = &automaticPMs{AllowRedirects: "always", Enabled: true}
		in.types = []string{pmTypeCard}
		if s.checkChargeCurrency(in.currency, pmTypeAmazonPay) == nil {
			in.types = append(in.types, pmTypeAmazonPay)
		}
	}

	in.customerID = p.optional("customer")
	if in.customerID != nil {
		if _, err := loadStripeCustomer(ctx, tx, *in.customerID); errors.Is(err, simkit.ErrNotFound) {
			return nil, errNoSuch(http.StatusBadRequest, "customer", *in.customerID, "customer")
		} else if err != nil {
			return nil, err
		}
	}
	pm, err := s.chargeablePaymentMethod(ctx, tx, p.optional("payment_method"), in.customerID)
	if err != nil {
		return nil, err
	}
	in.pm = pm
	if !slices.Contains(in.types, in.pm.Type) {
		return nil, errParamInvalid("payment_method", "The PaymentMethod provided (%s) has type %s, which is not among this PaymentIntent's "+
			"payment_method_types (%s).", in.pm.ID, in.pm.Type, strings.Join(in.types, ", "))
	}
	if e := s.checkChargeCurrency(in.currency, in.pm.Type); e != nil {
		return nil, e
	}
	if e := checkChargeAmount(in.amount, in.currency); e != nil {
		return nil, e
	}

	in.description = p.optional("description")
	for _, check := range []*stripeError{
		validateMaxLen(in.description, "description", 1000),
		validateMetadata(in.metadata, "metadata"),
	} {
		if check != nil {
			return nil, check
		}
	}
	if in.expand, e = parseExpand("payment_intent", p); e != nil {
		return nil, e
	}
	return in, nil
}

// chargeablePaymentMethod loads the payment method a PaymentIntent names
// and refuses it unless customerID owns it and its mandate (if it has
// one) is active.
//
// A revoked mandate is refused with a 400 (payment_intent_mandate_invalid,
// one of Stripe's error codes) before anything is created: Stripe has
// already been told (mandate.updated), so the charge never reaches
// Amazon Pay. Stripe does not document this case for Amazon Pay; the
// sandbox chooses the plainest answer, which no retry can change.
func (s *Sim) chargeablePaymentMethod(ctx context.Context, q simkit.Querier, id, customerID *string) (*stripePaymentMethod, error) {
	if id == nil {
		return nil, newStripeError(http.StatusBadRequest, errTypeInvalidRequest, "parameter_missing", "payment_method",
			"Missing required param: payment_method. To confirm this PaymentIntent off-session, pass a PaymentMethod saved for the customer.")
	}
	pm, err := loadStripePaymentMethod(ctx, q, *id)
	if errors.Is(err, simkit.ErrNotFound) {
		return nil, errNoSuch(http.StatusBadRequest, "PaymentMethod", *id, "payment_method")
	}
	if err != nil {
		return nil, err
	}
	switch {
	case pm.customerID == nil:
		return nil, errParamInvalid("payment_method", "The provided PaymentMethod was previously used with a PaymentIntent without Customer "+
			"attachment, shared with a connected account without Customer attachment, or was detached from a Customer. It may not be used "+
			"again. To use a PaymentMethod multiple times, you must attach it to a Customer first.")
	case customerID == nil:
		return nil, errParamInvalid("customer", "The PaymentMethod %s is attached to a Customer: pass that Customer as customer to charge it.", pm.ID)
	case *pm.customerID != *customerID:
		return nil, errParamInvalid("payment_method", "The PaymentMethod %s does not belong to the Customer %s. "+
			"Pass the Customer that owns this PaymentMethod.", pm.ID, *customerID)
	}
	m, err := loadMandateOfPaymentMethod(ctx, q, pm.ID)
	if err != nil {
		return nil, err
	}
	if m != nil && m.Status != mandateActive {
		return nil, newStripeError(http.StatusBadRequest, errTypeInvalidRequest, "payment_intent_mandate_invalid", "payment_method",
			"The mandate "+m.ID+" of this PaymentMethod is no longer active (the customer revoked it), so the PaymentMethod cannot be "+
				"charged. Ask the customer to set up a payment method again.")
	}
	return pm, nil
}

func (s *Sim) stripeGetPaymentIntent(ctx context.Context, tx *simkit.WriteTx, req *stripeRequest) (any, error) {
	return stripeGet(ctx, s, tx, req, "payment_intent", "payment_intent", "intent", loadStripePaymentIntent)
}

// requiredInt reads a required integer parameter.
func requiredInt(p *paramNode, name string) (int64, *stripeError) {
	v, ok := p.str(name)
	switch {
	case !ok:
		return 0, errParamMissing(name)
	case v == "":
		return 0, errParamEmpty(name)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, newStripeError(http.StatusBadRequest, errTypeInvalidRequest, "parameter_invalid_integer", name, "Invalid integer: "+v)
	}
	return n, nil
}

// optionalBool reads a boolean parameter ("true" or "false"); absent is
// false.
func optionalBool(p *paramNode, name string) (bool, *stripeError) {
	v := p.optional(name)
	if v == nil {
		return false, nil
	}
	switch *v {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, errParamInvalid(name, "Invalid boolean: %s", *v)
}

// offSessionParam reads off_session, which takes a boolean or, for
// Stripe, the kind of off-session payment ("one_off", "recurring").
func offSessionParam(p *paramNode) (bool, *stripeError) {
	if v := p.optional("off_session"); v != nil && (*v == "one_off" || *v == "recurring") {
		return true, nil
	}
	return optionalBool(p, "off_session")
}

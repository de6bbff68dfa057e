package pprosim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"example.com/storefront/sandbox/simkit"
)

// The PPRO request bodies and their validation. Pointer fields tell
// "absent" from "empty"; unknown fields are ignored, as PPRO ignores them.
// Each refusal names the field, so that a developer can fix the request
// from the message alone.

type pproMoneyIn struct {
	Value    *int64  `json:"value"`
	Currency *string `json:"currency"`
}

type pproFrequencyIn struct {
	Type     *string `json:"type"`
	Interval *int32  `json:"interval"`
}

type pproAuthSettingIn struct {
	Type     *string `json:"type"`
	Settings *struct {
		ReturnURL *string `json:"returnUrl"`
	} `json:"settings"`
}

// pproConsumerUpdate is ConsumerUpdate: what a charge may override.
type pproConsumerUpdate struct {
	TaxIdentification *string     `json:"taxIdentification"`
	Client            *pproClient `json:"client"`
}

// pproChargeIn is both PaymentCharge (an agreement's initialPaymentCharge)
// and AgreementChargeRequest: the same fields, both requiring amount.
// Accepted and not used, as unknown fields are: authenticationSettings (the
// initial charge authenticates with its agreement, later charges need no
// consumer), order (the sandbox keeps no order details, so responses carry
// none), initialSchemeAuthorizationReference and
// initialTransactionLinkReference (cards only). autoCapture true or absent
// captures an authorized charge at once; false leaves it CAPTURE_PENDING
// for a while (capture.go).
type pproChargeIn struct {
	Initiator                      *string             `json:"initiator"`
	ScheduleType                   *string             `json:"scheduleType"`
	PaymentDescriptor              *string             `json:"paymentDescriptor"`
	Amount                         *pproMoneyIn        `json:"amount"`
	AutoCapture                    *bool               `json:"autoCapture"`
	MerchantPaymentChargeReference *string             `json:"merchantPaymentChargeReference"`
	WebhooksURL                    *string             `json:"webhooksUrl"`
	Consumer                       *pproConsumerUpdate `json:"consumer"`
	Labels                         map[string]string   `json:"labels"`
}

// pproAgreementIn is AgreementRequest.
type pproAgreementIn struct {
	PaymentMethod                       *string             `json:"paymentMethod"`
	PaymentMedium                       *string             `json:"paymentMedium"`
	Description                         *string             `json:"description"`
	MerchantPaymentAgreementReference   *string             `json:"merchantPaymentAgreementReference"`
	Frequency                           *pproFrequencyIn    `json:"frequency"`
	StartDate                           *string             `json:"startDate"`
	EndDate                             *string             `json:"endDate"`
	Amount                              *pproMoneyIn        `json:"amount"`
	AmountType                          *string             `json:"amountType"`
	InstrumentID                        *string             `json:"instrumentId"`
	Instrument                          json.RawMessage     `json:"instrument"`
	PaymentSessionID                    *string             `json:"paymentSessionId"`
	Consumer                            *pproConsumer       `json:"consumer"`
	WebhooksURL                         *string             `json:"webhooksUrl"`
	InitialPaymentCharge                *pproChargeIn       `json:"initialPaymentCharge"`
	AuthenticationSettings              []pproAuthSettingIn `json:"authenticationSettings"`
	InitialSchemeAuthorizationReference *string             `json:"initialSchemeAuthorizationReference"`
	InitialTransactionLinkReference     *string             `json:"initialTransactionLinkReference"`
	Labels                              map[string]string   `json:"labels"`
}

// Enums of the OpenAPI documents.
var (
	pproPaymentMedia   = []string{"ECOMMERCE", "MOTO", "POS"}
	pproAmountTypes    = []string{"MAX", "EXACT", "VARIABLE"}
	pproFrequencyTypes = []string{"DAILY", "WEEKLY", "MONTHLY", "YEARLY"}
	pproInitiators     = []string{initiatorMerchant, initiatorConsumer}
	pproScheduleTypes  = []string{"SCHEDULED", "SCHEDULED_RETRY", "UNSCHEDULED", "RECURRING"}
	pproAuthTypes      = []string{"REDIRECT", "EXTERNAL_3DS", "3DS", "SCAN_CODE", "APP_NOTIFICATION", "MULTI_FACTOR"}
	pproRefundReasons  = []string{"RETURN", "DUPLICATE", "FRAUD", "CUSTOMER_REQUEST", "PRE_DISPUTE", "OTHER"}
)

// Patterns of the OpenAPI documents. webhooksUrl's is copied as published
// (anchored at the start only, as JSON Schema patterns are searches).
var (
	pproWebhooksURLPattern = regexp.MustCompile(`^(https)://[-a-zA-Z0-9+&@#/%?=~_|!:,.;]*[-a-zA-Z0-9+&@#/%=~_|]`)
	pproCountryPattern     = regexp.MustCompile(`^[A-Z]{2}$`)
	pproLocalePattern      = regexp.MustCompile(`^[a-z]{2,3}-[A-Z]{2}$`)
)

// Limits of the OpenAPI documents (labels, description, userAgent).
const (
	pproDescriptionMax = 100
	pproLabelsMax      = 50
	pproLabelKeyMax    = 50
	pproLabelValueMax  = 200
	pproUserAgentMax   = 500
)

// decodePPRO decodes a JSON body into v. Malformed JSON, a value of the
// wrong type and trailing data are 400s, as PPRO refuses malformed data.
func decodePPRO(body []byte, v any) *pproError {
	dec := json.NewDecoder(bytes.NewReader(body))
	err := dec.Decode(v)
	if err == nil && dec.Decode(new(json.RawMessage)) != io.EOF {
		err = errors.New("unexpected data after the JSON value")
	}
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return pproBadRequest("Malformed request body: field '%s' must be %s, not a JSON %s.",
			typeErr.Field, jsonKind(typeErr.Type.Kind().String()), typeErr.Value)
	case errors.As(err, &typeErr):
		return pproBadRequest("Malformed request body: expected a JSON object, not a JSON %s.", typeErr.Value)
	default:
		return pproBadRequest("Malformed JSON request body: %v.", err)
	}
}

// jsonKind names a Go kind the way an API user thinks of it.
func jsonKind(kind string) string {
	switch {
	case kind == "string":
		return "a string"
	case kind == "bool":
		return "a boolean"
	case strings.HasPrefix(kind, "int"):
		return "an integer"
	case kind == "map", kind == "struct", kind == "ptr":
		return "an object"
	case kind == "slice":
		return "an array"
	}
	return "of another type"
}

// validateMoney checks a Money of Amazon Pay through PPRO: USD, 0.50 to
// 20,000.00. field is the JSON path ("amount", "initialPaymentCharge.amount").
func validateMoney(m *pproMoneyIn, field string) (pproMoney, *pproError) {
	switch {
	case m.Currency == nil:
		return pproMoney{}, pproBadRequest("%s.currency is required.", field)
	case m.Value == nil:
		return pproMoney{}, pproBadRequest("%s.value is required (an integer in minor units, e.g. 1000 for 10.00 USD).", field)
	case *m.Currency != amazonPayCurrency:
		return pproMoney{}, pproBadRequest("%s.currency %q is not supported: Amazon Pay through PPRO processes USD only.", field, *m.Currency)
	case *m.Value < amazonPayMinAmount || *m.Value > amazonPayMaxAmount:
		return pproMoney{}, pproBadRequest("%s.value %d is out of range: Amazon Pay through PPRO takes 50 to 2000000 (0.50 to 20,000.00 USD).",
			field, *m.Value)
	}
	return pproMoney{Value: *m.Value, Currency: *m.Currency}, nil
}

// validateEnum checks an optional enum value.
func validateEnum(v *string, field string, allowed []string) *pproError {
	if v != nil && !slices.Contains(allowed, *v) {
		return pproBadRequest("%s %q is not one of %s.", field, *v, strings.Join(allowed, ", "))
	}
	return nil
}

func validateWebhooksURL(v *string, field string) *pproError {
	if v != nil && !pproWebhooksURLPattern.MatchString(*v) {
		return pproBadRequest("%s %q is not an https URL: PPRO sends webhooks over HTTPS only.", field, *v)
	}
	return nil
}

// validateLabels applies the labels limits: at most 50, keys up to 50
// characters, values up to 200.
func validateLabels(labels map[string]string, field string) *pproError {
	if len(labels) > pproLabelsMax {
		return pproBadRequest("%s has %d entries; at most %d are allowed.", field, len(labels), pproLabelsMax)
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys) // report the same label every time
	for _, k := range keys {
		if utf8.RuneCountInString(k) > pproLabelKeyMax {
			return pproBadRequest("%s key %q is longer than %d characters.", field, k, pproLabelKeyMax)
		}
		if utf8.RuneCountInString(labels[k]) > pproLabelValueMax {
			return pproBadRequest("%s[%q] is longer than %d characters.", field, k, pproLabelValueMax)
		}
	}
	return nil
}

// validateDate checks an optional OpenAPI "date" (YYYY-MM-DD).
func validateDate(v, field string) *pproError {
	if v == "" {
		return nil
	}
	if _, err := time.Parse(time.DateOnly, v); err != nil {
		return pproBadRequest("%s %q is not a date (YYYY-MM-DD).", field, v)
	}
	return nil
}

// parseDateTime parses an optional OpenAPI "date-time" (RFC 3339).
func parseDateTime(v *string, field string) (time.Time, *pproError) {
	if v == nil {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, *v)
	if err != nil {
		return time.Time{}, pproBadRequest("%s %q is not an ISO-8601 date-time such as 2025-04-15T16:20:13.302Z.", field, *v)
	}
	return t.UTC(), nil
}

// validateClient checks the consumer's device: userAgent up to 500
// characters (both documents), and ip an IPv4 or IPv6 address, as
// ppro-payment-charges.json requires ("Must be a valid IPv4 or IPv6
// address"); the agreements document does not say, and every charge of the
// agreement repeats its consumer, so agreements are held to it too.
func validateClient(c *pproClient, field string) *pproError {
	if c == nil {
		return nil
	}
	if utf8.RuneCountInString(c.UserAgent) > pproUserAgentMax {
		return pproBadRequest("%s.userAgent is longer than %d characters.", field, pproUserAgentMax)
	}
	if c.IP != "" {
		if _, err := netip.ParseAddr(c.IP); err != nil {
			return pproBadRequest("%s.ip %q is not an IPv4 or IPv6 address.", field, c.IP)
		}
	}
	return nil
}

// validateConsumer checks the consumer of an Amazon Pay agreement. Name and
// country are mandatory in PPRO's Amazon Pay guide; the formats of email,
// country and locale are those of ppro-payment-charges.json, whose Consumer
// every charge of the agreement repeats (the agreements document leaves
// them unconstrained, so the sandbox holds agreements to the stricter one).
func validateConsumer(c *pproConsumer) *pproError {
	switch {
	case c == nil:
		return pproBadRequest("consumer is required.")
	case c.Country == "":
		return pproBadRequest("consumer.country is required.")
	case strings.TrimSpace(c.Name) == "":
		return pproBadRequest("consumer.name is required: Amazon Pay needs the consumer's full name.")
	case !pproCountryPattern.MatchString(c.Country):
		return pproBadRequest("consumer.country %q is not an ISO 3166-1 alpha-2 code in capitals, such as US.", c.Country)
	case c.Country != amazonPayCountry:
		return pproBadRequest("consumer.country %q is not supported: Amazon Pay through PPRO takes consumers in the US only.", c.Country)
	}
	if c.Email != "" {
		if a, err := mail.ParseAddress(c.Email); err != nil || a.Address != c.Email {
			return pproBadRequest("consumer.email %q is not an email address.", c.Email)
		}
	}
	if c.Locale != "" && (len(c.Locale) != 5 || !pproLocalePattern.MatchString(c.Locale)) {
		return pproBadRequest("consumer.locale %q is not a locale such as en-US.", c.Locale)
	}
	if e := validateDate(c.BirthDate, "consumer.birthDate"); e != nil {
		return e
	}
	if e := validateClient(c.Client, "consumer.client"); e != nil {
		return e
	}
	if p := c.Profile; p != nil {
		for field, v := range map[string]string{
			"consumer.profile.createdDate":    p.CreatedDate,
			"consumer.profile.firstOrderDate": p.FirstOrderDate,
			"consumer.profile.lastOrderDate":  p.LastOrderDate,
		} {
			if e := validateDate(v, field); e != nil {
				return e
			}
		}
	}
	return nil
}

// validateAuthenticationSettings checks the REDIRECT settings: Amazon Pay
// authenticates by redirect only, and the shopper must be sent back
// somewhere.
func validateAuthenticationSettings(settings []pproAuthSettingIn) (returnURL string, e *pproError) {
	if len(settings) == 0 {
		return "", pproBadRequest("authenticationSettings is required: Amazon Pay needs a REDIRECT entry with settings.returnUrl.")
	}
	found := false
	for i, s := range settings {
		field := fmt.Sprintf("authenticationSettings[%d]", i)
		switch {
		case s.Type == nil:
			return "", pproBadRequest("%s.type is required.", field)
		case !slices.Contains(pproAuthTypes, *s.Type):
			return "", pproBadRequest("%s.type %q is not one of %s.", field, *s.Type, strings.Join(pproAuthTypes, ", "))
		case *s.Type != authTypeRedirect:
			return "", pproBadRequest("%s.type %s is not supported by Amazon Pay, which authenticates by REDIRECT only.", field, *s.Type)
		case found:
			return "", pproBadRequest("%s: only one REDIRECT entry is allowed.", field)
		case s.Settings == nil || s.Settings.ReturnURL == nil || *s.Settings.ReturnURL == "":
			return "", pproBadRequest("%s.settings.returnUrl is required: it is where the consumer comes back after authenticating.", field)
		}
		u, err := url.Parse(*s.Settings.ReturnURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return "", pproBadRequest("%s.settings.returnUrl %q is not an absolute http(s) URL.", field, *s.Settings.ReturnURL)
		}
		returnURL, found = *s.Settings.ReturnURL, true
	}
	return returnURL, nil
}

// validateChargeIn checks a charge request; prefix is "" for an agreement
// charge and "initialPaymentCharge." for the initial one.
func validateChargeIn(c *pproChargeIn, prefix string) (pproMoney, *pproError) {
	if c.Amount == nil {
		return pproMoney{}, pproBadRequest("%samount is required.", prefix)
	}
	amount, e := validateMoney(c.Amount, prefix+"amount")
	if e != nil {
		return pproMoney{}, e
	}
	for _, check := range []*pproError{
		validateEnum(c.Initiator, prefix+"initiator", pproInitiators),
		validateEnum(c.ScheduleType, prefix+"scheduleType", pproScheduleTypes),
		validateWebhooksURL(c.WebhooksURL, prefix+"webhooksUrl"),
		validateLabels(c.Labels, prefix+"labels"),
	} {
		if check != nil {
			return pproMoney{}, check
		}
	}
	if c.Consumer != nil {
		if e := validateClient(c.Consumer.Client, prefix+"consumer.client"); e != nil {
			return pproMoney{}, e
		}
	}
	return amount, nil
}

// validateAgreementIn checks an AgreementRequest and returns the agreement
// it describes (ids, status and timestamps are the caller's). startDate
// defaults to now, the time of creation.
func validateAgreementIn(in *pproAgreementIn, now time.Time) (*pproAgreement, *pproError) {
	switch {
	case in.PaymentMethod == nil || *in.PaymentMethod == "":
		return nil, pproBadRequest("paymentMethod is required.")
	case *in.PaymentMethod != pproAmazonPay:
		return nil, pproBadRequest("paymentMethod %q is not supported: the sandbox simulates only Amazon Pay (AMAZON_PAY).", *in.PaymentMethod)
	case in.InstrumentID != nil || (len(in.Instrument) > 0 && string(in.Instrument) != "null"):
		return nil, pproBadRequest("instrumentId and instrument are not supported: Amazon Pay creates its instrument when the consumer authenticates, " +
			"and the sandbox keeps no instruments on file.")
	case in.PaymentSessionID != nil:
		return nil, pproBadRequest("paymentSessionId is not supported: the sandbox does not simulate PPRO's drop-in payment sessions.")
	}
	if e := validateConsumer(in.Consumer); e != nil {
		return nil, e
	}
	returnURL, e := validateAuthenticationSettings(in.AuthenticationSettings)
	if e != nil {
		return nil, e
	}
	a := &pproAgreement{
		PaymentMethod: *in.PaymentMethod,
		Consumer:      *in.Consumer,
		Labels:        in.Labels,
		paymentMedium: paymentMediumECommerce, // the document's default
		returnURL:     returnURL,
	}
	for _, check := range []*pproError{
		validateEnum(in.PaymentMedium, "paymentMedium", pproPaymentMedia),
		validateEnum(in.AmountType, "amountType", pproAmountTypes),
		validateWebhooksURL(in.WebhooksURL, "webhooksUrl"),
		validateLabels(in.Labels, "labels"),
	} {
		if check != nil {
			return nil, check
		}
	}
	if in.PaymentMedium != nil {
		a.paymentMedium = *in.PaymentMedium
	}
	if in.Description != nil {
		if n := utf8.RuneCountInString(*in.Description); n > pproDescriptionMax {
			return nil, pproBadRequest("description is %d characters long; at most %d are allowed.", n, pproDescriptionMax)
		}
		a.Description = *in.Description
	}
	if in.Amount != nil {
		m, e := validateMoney(in.Amount, "amount")
		if e != nil {
			return nil, e
		}
		a.Amount = &m
	} else if in.AmountType != nil {
		// amountType says how to read amount ("Defined in conjunction
		// with 'amountType'"); alone it means nothing. PPRO does not say
		// whether it refuses it; the sandbox does, so the mistake shows.
		return nil, pproBadRequest("amountType %s needs amount: it says whether amount is exact or a maximum.", *in.AmountType)
	}
	if in.Frequency != nil {
		f := pproFrequency{Interval: 1} // the document's default
		switch {
		case in.Frequency.Type == nil:
			return nil, pproBadRequest("frequency.type is required.")
		case !slices.Contains(pproFrequencyTypes, *in.Frequency.Type):
			return nil, pproBadRequest("frequency.type %q is not one of %s.", *in.Frequency.Type, strings.Join(pproFrequencyTypes, ", "))
		}
		f.Type = *in.Frequency.Type
		if in.Frequency.Interval != nil {
			if iv := *in.Frequency.Interval; iv < 1 || iv > 1000 {
				return nil, pproBadRequest("frequency.interval %d is out of range: 1 to 1000.", iv)
			}
			f.Interval = *in.Frequency.Interval
		}
		a.Frequency = &f
	}
	start, e := parseDateTime(in.StartDate, "startDate")
	if e != nil {
		return nil, e
	}
	end, e := parseDateTime(in.EndDate, "endDate")
	if e != nil {
		return nil, e
	}
	if start.IsZero() {
		start = now
	}
	a.StartDate = pproTime(start)
	if !end.IsZero() {
		if !end.After(start) {
			return nil, pproBadRequest("endDate %s is not after the agreement's startDate %s.", *in.EndDate, a.StartDate)
		}
		a.EndDate = pproTime(end)
	}
	if in.AmountType != nil {
		a.AmountType = *in.AmountType
	}
	a.MerchantPaymentAgreementReference = simkit.Deref(in.MerchantPaymentAgreementReference)
	a.InitialSchemeAuthorizationReference = simkit.Deref(in.InitialSchemeAuthorizationReference)
	a.InitialTransactionLinkReference = simkit.Deref(in.InitialTransactionLinkReference)
	a.webhooksURL = simkit.Deref(in.WebhooksURL)
	return a, nil
}

// pproRefundIn is RefundRequest (ppro-payment-charges.json): amount is a
// bare integer in minor units, not a Money. Its labels have no documented
// limits, so the sandbox applies none.
type pproRefundIn struct {
	Amount                  *int64            `json:"amount"`
	MerchantRefundReference *string           `json:"merchantRefundReference"`
	RefundReason            *string           `json:"refundReason"`
	RefundDescriptor        *string           `json:"refundDescriptor"`
	Labels                  map[string]string `json:"labels"`
}

// validateRefundIn checks a RefundRequest on its own; whether the charge
// can give the amount back is the flow's business.
func validateRefundIn(in *pproRefundIn) *pproError {
	switch {
	case in.Amount == nil:
		return pproBadRequest("amount is required (an integer in minor units, e.g. 500 for 5.00 USD).")
	case *in.Amount < 1:
		return pproBadRequest("amount %d is out of range: a refund is at least 1.", *in.Amount)
	}
	return validateEnum(in.RefundReason, "refundReason", pproRefundReasons)
}

package stripesim

// The Stripe objects the sandbox stores and returns, with the field names
// and types of API version 2023-10-16 (the version stripe-go v76 pins).
// Fields the sandbox never fills are present with their documented empty
// value (mostly null), so a response has the shape a client expects.
//
// Expandable fields hold `any`: a *string id (or nil) unless the caller
// expanded them, in which case they hold the object. The unexported *ID
// fields keep the ids for expansion.

// stripeAPIVersion is the only API version the sandbox speaks.
const stripeAPIVersion = "2023-10-16"

// Object statuses used by the flows.
const (
	sessionOpen     = "open"
	sessionComplete = "complete"
	sessionExpired  = "expired"

	setupRequiresPaymentMethod = "requires_payment_method"
	setupRequiresAction        = "requires_action"
	setupSucceeded             = "succeeded"

	pmTypeCard      = "card"
	pmTypeAmazonPay = "amazon_pay"
)

type stripeAddress struct {
	City       *string `json:"city"`
	Country    *string `json:"country"`
	Line1      *string `json:"line1"`
	Line2      *string `json:"line2"`
	PostalCode *string `json:"postal_code"`
	State      *string `json:"state"`
}

type stripeCustomer struct {
	ID                  string                  `json:"id"`
	Object              string                  `json:"object"`
	Address             *stripeAddress          `json:"address"`
	Balance             int64                   `json:"balance"`
	Created             int64                   `json:"created"`
	Currency            *string                 `json:"currency"`
	DefaultSource       *string                 `json:"default_source"`
	Delinquent          bool                    `json:"delinquent"`
	Description         *string                 `json:"description"`
	Discount            any                     `json:"discount"`
	Email               *string                 `json:"email"`
	InvoicePrefix       string                  `json:"invoice_prefix"`
	InvoiceSettings     customerInvoiceSettings `json:"invoice_settings"`
	Livemode            bool                    `json:"livemode"`
	Metadata            map[string]string       `json:"metadata"`
	Name                *string                 `json:"name"`
	NextInvoiceSequence int64                   `json:"next_invoice_sequence"`
	Phone               *string                 `json:"phone"`
	PreferredLocales    []string                `json:"preferred_locales"`
	Shipping            any                     `json:"shipping"`
	TaxExempt           string                  `json:"tax_exempt"`
	TestClock           any                     `json:"test_clock"`
}

type customerInvoiceSettings struct {
	CustomFields         any `json:"custom_fields"`
	DefaultPaymentMethod any `json:"default_payment_method"`
	Footer               any `json:"footer"`
	RenderingOptions     any `json:"rendering_options"`
}

func newStripeCustomer() *stripeCustomer {
	return &stripeCustomer{
		Object:              "customer",
		Metadata:            map[string]string{},
		NextInvoiceSequence: 1,
		PreferredLocales:    []string{},
		TaxExempt:           "none",
	}
}

type stripeBillingDetails struct {
	Address stripeAddress `json:"address"` // always an object, its fields null when unknown
	Email   *string       `json:"email"`
	Name    *string       `json:"name"`
	Phone   *string       `json:"phone"`
}

type stripePaymentMethod struct {
	ID             string               `json:"id"`
	Object         string               `json:"object"`
	AmazonPay      *struct{}            `json:"amazon_pay,omitempty"` // {} for type amazon_pay
	BillingDetails stripeBillingDetails `json:"billing_details"`
	Card           *stripeCard          `json:"card,omitempty"`
	Created        int64                `json:"created"`
	Customer       any                  `json:"customer"`
	Livemode       bool                 `json:"livemode"`
	Metadata       map[string]string    `json:"metadata"`
	Type           string               `json:"type"`

	customerID *string
}

type stripeCard struct {
	Brand             string             `json:"brand"`
	Checks            stripeCardChecks   `json:"checks"`
	Country           string             `json:"country"`
	DisplayBrand      string             `json:"display_brand"`
	ExpMonth          int                `json:"exp_month"`
	ExpYear           int                `json:"exp_year"`
	Fingerprint       string             `json:"fingerprint"`
	Funding           string             `json:"funding"`
	GeneratedFrom     any                `json:"generated_from"`
	Last4             string             `json:"last4"`
	Networks          stripeCardNetworks `json:"networks"`
	ThreeDSecureUsage struct {
		Supported bool `json:"supported"`
	} `json:"three_d_secure_usage"`
	Wallet any `json:"wallet"`
}

type stripeCardChecks struct {
	AddressLine1Check      *string `json:"address_line1_check"`
	AddressPostalCodeCheck *string `json:"address_postal_code_check"`
	CVCCheck               *string `json:"cvc_check"`
}

type stripeCardNetworks struct {
	Available []string `json:"available"`
	Preferred *string  `json:"preferred"`
}

type stripeSetupIntent struct {
	ID                                string            `json:"id"`
	Object                            string            `json:"object"`
	Application                       any               `json:"application"`
	AutomaticPaymentMethods           any               `json:"automatic_payment_methods"`
	CancellationReason                *string           `json:"cancellation_reason"`
	ClientSecret                      string            `json:"client_secret"`
	Created                           int64             `json:"created"`
	Customer                          any               `json:"customer"`
	Description                       *string           `json:"description"`
	FlowDirections                    any               `json:"flow_directions"`
	LastSetupError                    *stripeError      `json:"last_setup_error"`
	LatestAttempt                     any               `json:"latest_attempt"`
	Livemode                          bool              `json:"livemode"`
	Mandate                           any               `json:"mandate"`
	Metadata                          map[string]string `json:"metadata"`
	NextAction                        *stripeNextAction `json:"next_action"`
	OnBehalfOf                        any               `json:"on_behalf_of"`
	PaymentMethod                     any               `json:"payment_method"`
	PaymentMethodConfigurationDetails any               `json:"payment_method_configuration_details"`
	PaymentMethodOptions              map[string]any    `json:"payment_method_options"`
	PaymentMethodTypes                []string          `json:"payment_method_types"`
	SingleUseMandate                  any               `json:"single_use_mandate"`
	Status                            string            `json:"status"`
	Usage                             string            `json:"usage"`

	customerID      *string
	paymentMethodID *string
	mandateID       *string
}

type stripeNextAction struct {
	Type          string               `json:"type"`
	RedirectToURL *stripeRedirectToURL `json:"redirect_to_url,omitempty"`
}

type stripeRedirectToURL struct {
	ReturnURL string `json:"return_url"`
	URL       string `json:"url"`
}

type stripeCheckoutSession struct {
	ID                                string                 `json:"id"`
	Object                            string                 `json:"object"`
	AfterExpiration                   any                    `json:"after_expiration"`
	AllowPromotionCodes               any                    `json:"allow_promotion_codes"`
	AmountSubtotal                    *int64                 `json:"amount_subtotal"`
	AmountTotal                       *int64                 `json:"amount_total"`
	AutomaticTax                      stripeAutomaticTax     `json:"automatic_tax"`
	BillingAddressCollection          any                    `json:"billing_address_collection"`
	CancelURL                         *string                `json:"cancel_url"`
	ClientReferenceID                 *string                `json:"client_reference_id"`
	ClientSecret                      *string                `json:"client_secret"`
	Consent                           any                    `json:"consent"`
	ConsentCollection                 any                    `json:"consent_collection"`
	Created                           int64                  `json:"created"`
	Currency                          *string                `json:"currency"`
	CurrencyConversion                any                    `json:"currency_conversion"`
	CustomFields                      []any                  `json:"custom_fields"`
	CustomText                        stripeCustomText       `json:"custom_text"`
	Customer                          any                    `json:"customer"`
	CustomerCreation                  any                    `json:"customer_creation"`
	CustomerDetails                   *stripeCustomerDetails `json:"customer_details"`
	CustomerEmail                     *string                `json:"customer_email"`
	ExpiresAt                         int64                  `json:"expires_at"`
	Invoice                           any                    `json:"invoice"`
	InvoiceCreation                   any                    `json:"invoice_creation"`
	Livemode                          bool                   `json:"livemode"`
	Locale                            *string                `json:"locale"`
	Metadata                          map[string]string      `json:"metadata"`
	Mode                              string                 `json:"mode"`
	PaymentIntent                     any                    `json:"payment_intent"`
	PaymentLink                       any                    `json:"payment_link"`
	PaymentMethodCollection           string                 `json:"payment_method_collection"`
	PaymentMethodConfigurationDetails any                    `json:"payment_method_configuration_details"`
	PaymentMethodOptions              map[string]any         `json:"payment_method_options"`
	PaymentMethodTypes                []string               `json:"payment_method_types"`
	PaymentStatus                     string                 `json:"payment_status"`
	PhoneNumberCollection             struct {
		Enabled bool `json:"enabled"`
	} `json:"phone_number_collection"`
	RecoveredFrom             any     `json:"recovered_from"`
	SetupIntent               any     `json:"setup_intent"`
	ShippingAddressCollection any     `json:"shipping_address_collection"`
	ShippingCost              any     `json:"shipping_cost"`
	ShippingDetails           any     `json:"shipping_details"`
	ShippingOptions           []any   `json:"shipping_options"`
	Status                    string  `json:"status"`
	SubmitType                any     `json:"submit_type"`
	Subscription              any     `json:"subscription"`
	SuccessURL                string  `json:"success_url"`
	TotalDetails              any     `json:"total_details"`
	UIMode                    string  `json:"ui_mode"`
	URL                       *string `json:"url"`

	customerID    *string
	customer      *stripeCustomer // read with the session; nil without customerID
	setupIntentID string
}

type stripeAutomaticTax struct {
	Enabled   bool `json:"enabled"`
	Liability any  `json:"liability"`
	Status    any  `json:"status"`
}

type stripeCustomText struct {
	AfterSubmit              any                `json:"after_submit"`
	ShippingAddress          any                `json:"shipping_address"`
	Submit                   *stripeTextMessage `json:"submit"`
	TermsOfServiceAcceptance any                `json:"terms_of_service_acceptance"`
}

type stripeTextMessage struct {
	Message string `json:"message"`
}

type stripeCustomerDetails struct {
	Address   *stripeAddress `json:"address"`
	Email     *string        `json:"email"`
	Name      *string        `json:"name"`
	Phone     *string        `json:"phone"`
	TaxExempt string         `json:"tax_exempt"`
	TaxIDs    []any          `json:"tax_ids"`
}

// stripeEvent is an event in the 2023-10-16 shape. stripe-go v76 refuses
// events of any other api_version, and needs request to be an object.
type stripeEvent struct {
	ID              string             `json:"id"`
	Object          string             `json:"object"`
	APIVersion      string             `json:"api_version"`
	Created         int64              `json:"created"`
	Data            stripeEventData    `json:"data"`
	Livemode        bool               `json:"livemode"`
	PendingWebhooks int                `json:"pending_webhooks"`
	Request         stripeEventRequest `json:"request"`
	Type            string             `json:"type"`
}

type stripeEventData struct {
	Object             any            `json:"object"`
	PreviousAttributes map[string]any `json:"previous_attributes,omitempty"`
}

type stripeEventRequest struct {
	ID             *string `json:"id"`
	IdempotencyKey *string `json:"idempotency_key"`
}

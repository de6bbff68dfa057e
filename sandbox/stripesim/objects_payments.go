package stripesim

// The objects of the merchant's side (the account, mandates, payment
// intents, charges, refunds and lists), in the 2023-10-16 shapes, with the
// same conventions as objects.go.

// Statuses of the merchant's side.
const (
	mandateActive   = "active"
	mandateInactive = "inactive"

	piRequiresPaymentMethod = "requires_payment_method"
	piRequiresAction        = "requires_action"
	piProcessing            = "processing"
	piSucceeded             = "succeeded"

	chargeSucceeded = "succeeded"
	chargePending   = "pending"
	chargeFailed    = "failed"

	refundPending   = "pending"
	refundSucceeded = "succeeded"
	refundFailed    = "failed"

	disputeNeedsResponse = "needs_response"
	disputeWon           = "won"
	disputeLost          = "lost"
)

type stripeAccount struct {
	ID              string          `json:"id"`
	Object          string          `json:"object"`
	BusinessProfile accountBusiness `json:"business_profile"`
	BusinessType    *string         `json:"business_type"`
	// Capabilities: card_payments and amazon_pay_payments (the activated
	// payment method types) and transfers, all "active".
	Capabilities       map[string]string    `json:"capabilities"`
	ChargesEnabled     bool                 `json:"charges_enabled"`
	Controller         accountController    `json:"controller"`
	Country            string               `json:"country"`
	Created            int64                `json:"created"`
	DefaultCurrency    string               `json:"default_currency"`
	DetailsSubmitted   bool                 `json:"details_submitted"`
	Email              *string              `json:"email"`
	ExternalAccounts   stripeList           `json:"external_accounts"`
	FutureRequirements accountRequirements  `json:"future_requirements"`
	Metadata           map[string]string    `json:"metadata"`
	PayoutsEnabled     bool                 `json:"payouts_enabled"`
	Requirements       accountRequirements  `json:"requirements"`
	Settings           accountSettings      `json:"settings"`
	TOSAcceptance      accountTOSAcceptance `json:"tos_acceptance"`
	Type               string               `json:"type"`
}

type accountBusiness struct {
	MCC                *string `json:"mcc"`
	Name               string  `json:"name"`
	ProductDescription *string `json:"product_description"`
	SupportAddress     any     `json:"support_address"`
	SupportEmail       *string `json:"support_email"`
	SupportPhone       *string `json:"support_phone"`
	SupportURL         *string `json:"support_url"`
	URL                *string `json:"url"`
}

type accountController struct {
	Type string `json:"type"`
}

type accountRequirements struct {
	Alternatives        []any   `json:"alternatives"`
	CurrentDeadline     *int64  `json:"current_deadline"`
	CurrentlyDue        []any   `json:"currently_due"`
	DisabledReason      *string `json:"disabled_reason"`
	Errors              []any   `json:"errors"`
	EventuallyDue       []any   `json:"eventually_due"`
	PastDue             []any   `json:"past_due"`
	PendingVerification []any   `json:"pending_verification"`
}

type accountSettings struct {
	Dashboard struct {
		DisplayName string `json:"display_name"`
		Timezone    string `json:"timezone"`
	} `json:"dashboard"`
	Payments struct {
		StatementDescriptor string `json:"statement_descriptor"`
	} `json:"payments"`
}

type accountTOSAcceptance struct {
	Date      *int64  `json:"date"`
	IP        *string `json:"ip"`
	UserAgent *string `json:"user_agent"`
}

type stripeMandate struct {
	ID                   string                    `json:"id"`
	Object               string                    `json:"object"`
	CustomerAcceptance   mandateCustomerAcceptance `json:"customer_acceptance"`
	Livemode             bool                      `json:"livemode"`
	MultiUse             *struct{}                 `json:"multi_use,omitempty"` // {} for type multi_use
	PaymentMethod        any                       `json:"payment_method"`
	PaymentMethodDetails map[string]any            `json:"payment_method_details"`
	Status               string                    `json:"status"`
	Type                 string                    `json:"type"`

	created         int64
	paymentMethodID string
	pmType          string
}

type mandateCustomerAcceptance struct {
	AcceptedAt int64                            `json:"accepted_at"`
	Online     *mandateCustomerAcceptanceOnline `json:"online"`
	Type       string                           `json:"type"`
}

type mandateCustomerAcceptanceOnline struct {
	IPAddress string `json:"ip_address"`
	UserAgent string `json:"user_agent"`
}

type stripePaymentIntent struct {
	ID                                string            `json:"id"`
	Object                            string            `json:"object"`
	Amount                            int64             `json:"amount"`
	AmountCapturable                  int64             `json:"amount_capturable"`
	AmountDetails                     map[string]any    `json:"amount_details"`
	AmountReceived                    int64             `json:"amount_received"`
	Application                       any               `json:"application"`
	ApplicationFeeAmount              *int64            `json:"application_fee_amount"`
	AutomaticPaymentMethods           *automaticPMs     `json:"automatic_payment_methods"`
	CanceledAt                        *int64            `json:"canceled_at"`
	CancellationReason                *string           `json:"cancellation_reason"`
	CaptureMethod                     string            `json:"capture_method"`
	ClientSecret                      string            `json:"client_secret"`
	ConfirmationMethod                string            `json:"confirmation_method"`
	Created                           int64             `json:"created"`
	Currency                          string            `json:"currency"`
	Customer                          any               `json:"customer"`
	Description                       *string           `json:"description"`
	Invoice                           any               `json:"invoice"`
	LastPaymentError                  *stripeError      `json:"last_payment_error"`
	LatestCharge                      any               `json:"latest_charge"`
	Livemode                          bool              `json:"livemode"`
	Metadata                          map[string]string `json:"metadata"`
	NextAction                        any               `json:"next_action"`
	OnBehalfOf                        any               `json:"on_behalf_of"`
	PaymentMethod                     any               `json:"payment_method"`
	PaymentMethodConfigurationDetails any               `json:"payment_method_configuration_details"`
	PaymentMethodOptions              map[string]any    `json:"payment_method_options"`
	PaymentMethodTypes                []string          `json:"payment_method_types"`
	Processing                        any               `json:"processing"`
	ReceiptEmail                      *string           `json:"receipt_email"`
	Review                            any               `json:"review"`
	SetupFutureUsage                  *string           `json:"setup_future_usage"`
	Shipping                          any               `json:"shipping"`
	Source                            any               `json:"source"`
	StatementDescriptor               *string           `json:"statement_descriptor"`
	StatementDescriptorSuffix         *string           `json:"statement_descriptor_suffix"`
	Status                            string            `json:"status"`
	TransferData                      any               `json:"transfer_data"`
	TransferGroup                     *string           `json:"transfer_group"`

	customerID      *string
	paymentMethodID *string
	latestChargeID  *string
	nextAction      *piNextAction
}

// piNextAction is a PaymentIntent's next_action when the shopper must
// act: redirect_to_url, as for Amazon Pay and other redirect methods.
type piNextAction struct {
	Type          string                `json:"type"`
	RedirectToURL *piNextActionRedirect `json:"redirect_to_url,omitempty"`
}

type piNextActionRedirect struct {
	ReturnURL *string `json:"return_url"`
	URL       *string `json:"url"`
}

// automaticPMs is automatic_payment_methods, which API versions from
// 2023-08-16 on enable when payment_method_types is not given.
type automaticPMs struct {
	AllowRedirects string `json:"allow_redirects"`
	Enabled        bool   `json:"enabled"`
}

type stripeCharge struct {
	ID                            string               `json:"id"`
	Object                        string               `json:"object"`
	Amount                        int64                `json:"amount"`
	AmountCaptured                int64                `json:"amount_captured"`
	AmountRefunded                int64                `json:"amount_refunded"`
	Application                   any                  `json:"application"`
	ApplicationFee                any                  `json:"application_fee"`
	ApplicationFeeAmount          *int64               `json:"application_fee_amount"`
	BalanceTransaction            any                  `json:"balance_transaction"` // the sandbox keeps no balance
	BillingDetails                stripeBillingDetails `json:"billing_details"`
	CalculatedStatementDescriptor *string              `json:"calculated_statement_descriptor"`
	Captured                      bool                 `json:"captured"`
	Created                       int64                `json:"created"`
	Currency                      string               `json:"currency"`
	Customer                      any                  `json:"customer"`
	Description                   *string              `json:"description"`
	Disputed                      bool                 `json:"disputed"`
	FailureBalanceTransaction     any                  `json:"failure_balance_transaction"`
	FailureCode                   *string              `json:"failure_code"`
	FailureMessage                *string              `json:"failure_message"`
	FraudDetails                  map[string]any       `json:"fraud_details"`
	Invoice                       any                  `json:"invoice"`
	Livemode                      bool                 `json:"livemode"`
	Metadata                      map[string]string    `json:"metadata"`
	OnBehalfOf                    any                  `json:"on_behalf_of"`
	Outcome                       *chargeOutcome       `json:"outcome"`
	Paid                          bool                 `json:"paid"`
	PaymentIntent                 any                  `json:"payment_intent"`
	PaymentMethod                 string               `json:"payment_method"`
	PaymentMethodDetails          map[string]any       `json:"payment_method_details"`
	ReceiptEmail                  *string              `json:"receipt_email"`
	ReceiptNumber                 *string              `json:"receipt_number"`
	ReceiptURL                    *string              `json:"receipt_url"` // the sandbox has no receipt pages
	Refunded                      bool                 `json:"refunded"`
	Review                        any                  `json:"review"`
	Shipping                      any                  `json:"shipping"`
	Source                        any                  `json:"source"`
	SourceTransfer                any                  `json:"source_transfer"`
	StatementDescriptor           *string              `json:"statement_descriptor"`
	StatementDescriptorSuffix     *string              `json:"statement_descriptor_suffix"`
	Status                        string               `json:"status"`
	TransferData                  any                  `json:"transfer_data"`
	TransferGroup                 *string              `json:"transfer_group"`

	customerID      *string
	paymentIntentID string
}

type chargeOutcome struct {
	NetworkStatus string  `json:"network_status"`
	Reason        *string `json:"reason"`
	RiskLevel     string  `json:"risk_level"`
	RiskScore     *int64  `json:"risk_score"` // Radar for Fraud Teams only
	SellerMessage string  `json:"seller_message"`
	Type          string  `json:"type"`
}

type stripeRefund struct {
	ID                        string            `json:"id"`
	Object                    string            `json:"object"`
	Amount                    int64             `json:"amount"`
	BalanceTransaction        any               `json:"balance_transaction"`
	Charge                    any               `json:"charge"`
	Created                   int64             `json:"created"`
	Currency                  string            `json:"currency"`
	DestinationDetails        map[string]any    `json:"destination_details"`
	FailureBalanceTransaction any               `json:"failure_balance_transaction,omitempty"`
	FailureReason             *string           `json:"failure_reason,omitempty"`
	Metadata                  map[string]string `json:"metadata"`
	PaymentIntent             any               `json:"payment_intent"`
	Reason                    *string           `json:"reason"`
	ReceiptNumber             *string           `json:"receipt_number"`
	SourceTransferReversal    any               `json:"source_transfer_reversal"`
	Status                    string            `json:"status"`
	TransferReversal          any               `json:"transfer_reversal"`

	chargeID        string
	paymentIntentID *string
	settlesAt       int64
	failsAt         *int64 // a refund that succeeded and fails later (amount ending 06)
}

// stripeDispute is a Dispute (dp_…) in the 2023-10-16 shape. The sandbox
// keeps no balance, so balance_transactions is empty.
type stripeDispute struct {
	ID                  string                `json:"id"`
	Object              string                `json:"object"`
	Amount              int64                 `json:"amount"`
	BalanceTransactions []any                 `json:"balance_transactions"`
	Charge              any                   `json:"charge"`
	Created             int64                 `json:"created"`
	Currency            string                `json:"currency"`
	Evidence            map[string]any        `json:"evidence"` // every field null: no evidence was submitted
	EvidenceDetails     disputeEvidenceDetail `json:"evidence_details"`
	IsChargeRefundable  bool                  `json:"is_charge_refundable"`
	Livemode            bool                  `json:"livemode"`
	Metadata            map[string]string     `json:"metadata"`
	PaymentIntent       any                   `json:"payment_intent"`
	// PaymentMethodDetails is there for cards only: the 2023-10-16 spec
	// knows no other type in it.
	PaymentMethodDetails map[string]any `json:"payment_method_details,omitempty"`
	Reason               string         `json:"reason"`
	Status               string         `json:"status"`

	chargeID        string
	paymentIntentID *string
}

type disputeEvidenceDetail struct {
	DueBy           *int64 `json:"due_by"`
	HasEvidence     bool   `json:"has_evidence"`
	PastDue         bool   `json:"past_due"`
	SubmissionCount int64  `json:"submission_count"`
}

// stripeList is a list object: {"object":"list","data":[…],…}.
type stripeList struct {
	Object  string `json:"object"`
	Data    []any  `json:"data"`
	HasMore bool   `json:"has_more"`
	URL     string `json:"url"`
}

func newStripeList(url string, data []any, hasMore bool) stripeList {
	if data == nil {
		data = []any{}
	}
	return stripeList{Object: "list", Data: data, HasMore: hasMore, URL: url}
}

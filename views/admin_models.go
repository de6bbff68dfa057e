package views

import "example.com/storefront/terms"

// AdminChrome is what every page of the merchant's dashboard needs.
type AdminChrome struct {
	Title    string
	Merchant string
	Badges   []Badge
	// Clock is the demo clock, shown on every admin page in an all-sandbox
	// demo; nil otherwise.
	Clock *DemoClock
	// Flash is a one-line message about the last action; FlashError marks
	// it as a failure.
	Flash      string
	FlashError bool
	// LoggedIn shows the navigation and the logout button.
	LoggedIn bool
	// SandboxURL is the sandbox's page in an all-sandbox demo (where a
	// presenter revokes as the shopper, settles disputes, reads the
	// mailbox); "" otherwise.
	SandboxURL string
}

// DemoClock is the billing clock of an all-sandbox demo.
type DemoClock struct {
	Now          string // "Tue 29 Dec 2026, 18:40 UTC"
	Offset       string // "31 days ahead of real time", or "" at real time
	AdvanceLabel string // "Advance one month"
	Return       string // the page to come back to after moving it
	Token        string // the clock forms' one-time token: a press sent twice moves it once
}

// AdminLogin is the login page.
type AdminLogin struct {
	AdminChrome
	Error string
	Next  string // where to go after logging in
}

// AdminList is the list of mandates.
type AdminList struct {
	AdminChrome
	Counts  []StatusCount
	Filter  ListFilter
	Options ListOptions
	Rows    []MandateRow
	// NextURL is the next (older) page; FirstURL the first, when not on it.
	NextURL  string
	FirstURL string
	Error    string // a filter that could not be applied
	// Messages: emails to shoppers that need the merchant.
	Messages MessageAlert
	Exports  ListExports
}

// StatusCount is a count with the link that filters by it.
type StatusCount struct {
	Label   string
	Count   int
	URL     string
	Current bool
	Kind    string // a status or billing state, for its colour
}

// ListFilter is the list's filter as typed.
type ListFilter struct {
	Provider, Status, Billing string
	Disputed                  bool
	// Query is the search box; From and To dates (2006-01-02), MinPrice
	// and MaxPrice the plan's price in major units.
	Query, From, To, MinPrice, MaxPrice string
}

// ListOptions are the filter's choices.
type ListOptions struct {
	Providers []Option
	Statuses  []Option
	Billing   []Option
}

// Option is one choice of a select.
type Option struct{ Value, Label string }

// MandateRow is one mandate in the list.
type MandateRow struct {
	ID       string
	URL      string
	Created  string
	Email    string
	Name     string
	Provider string
	Mode     string
	Status   string
	Billing  string // billing state, or ""
	NextDue  string // or ""
	Plan     string // "12.00 USD / month"
	Disputed bool   // one of its payments was disputed
	Money    RowMoney
}

// AdminMandate is one mandate's page.
type AdminMandate struct {
	AdminChrome
	ID         string
	Status     string
	Provider   string
	Mode       string
	Plan       string
	Created    string
	Confirmed  string
	Customer   Person
	References []Reference
	// Why it failed, was canceled or revoked; the latest problem.
	RevokedBy     string
	FailureCode   string
	FailureReason string
	LastError     string
	// Ended says why a mandate revoked by the app ended ("for non-payment",
	// "by a price change"): its revocation was no one's choice.
	Ended string
	// Activity is everything that happened to the mandate, newest first.
	Activity []ActivityEntry
	Consent  ConsentView
	Billing  *BillingView
	Money    RowMoney // paid to date, next payment
	Charges  []ChargeView
	// OpenDisputes are the disputes still awaiting an outcome, for the
	// banner at the top; each is also shown on its payment.
	OpenDisputes []DisputeView
	// ChargeForm is nil when the mandate cannot be charged; NoCharge then
	// says why.
	ChargeForm *ChargeForm
	NoCharge   string
	CanRevoke  bool
	// RevokeToken is the revoke form's one-time token.
	RevokeToken string
	// ShopperLink is the signed link to the shopper's own page, for an email.
	ShopperLink string
	// Messages are the emails written to the shopper, oldest first.
	Messages []MessageView
	// Prices are the price changes the mandate was told of, oldest first.
	Prices []MandatePriceView
	// Retry is the "retry now" form of a past-due period (nil: none).
	Retry *RetryForm
	// CancelsOn is the end of the paid period when the merchant asked to
	// cancel then ("" otherwise).
	CancelsOn string
	// SandboxDecline links to the sandbox's control that makes this
	// mandate's payments decline (and back): a sandbox mandate's only.
	SandboxDecline string
}

// MandatePriceView is a price change as one mandate was told of it.
type MandatePriceView struct {
	Old, New  string // "12.00 USD"
	Effective string // the day the new price takes effect
	FirstAt   string // this mandate's first payment at the new price
	Notified  string // when the notice was written
	// Notice is the notice's state in the outbox (pending, sent, failed).
	Notice string
	SentAt string
	// EndsAgreement: the agreement states the old amount exactly (PPRO), so
	// it ends before FirstAt.
	EndsAgreement bool
}

// AdminPrices is the plan's price, the form that schedules a new one and
// the changes scheduled and past.
type AdminPrices struct {
	AdminChrome
	Plan    string // "Coffee Club, every month"
	Current string // "12.00 USD", the price new shoppers sign up at
	Form    PriceForm
	Changes []PriceChangeView
}

// PriceForm schedules a new price.
type PriceForm struct {
	Token     string
	Amount    string // as typed, or ""
	Currency  string
	Effective string // YYYY-MM-DD, the earliest allowed by default
	Earliest  string // YYYY-MM-DD
	Error     string
	// Rule says what scheduling does and the 14 days' notice, in words.
	Rule []string
}

// PriceChangeView is one scheduled or past price change.
type PriceChangeView struct {
	ID        int64
	Old, New  string
	Effective string
	Scheduled string
	State     string // "scheduled" or "in effect"
	Notified  int    // mandates told
	Pending   int    // their notices not delivered yet
	Failed    int    // notices given up
}

// Person is the shopper.
type Person struct{ Name, Email, Country string }

// Reference is one of the provider's ids, with a link to the provider's
// dashboard where there is one.
type Reference struct{ Label, Value, URL string }

// ConsentView is the consent evidence with the exact terms agreed to.
type ConsentView struct {
	TermsVersion  string
	TermsSHA256   string
	Recomputed    string // the SHA-256 of the text shown below, computed now
	Matches       bool
	TermsError    string // the version's text could not be rendered
	Terms         []terms.Block
	Authorization string
	AcceptedAt    string
	IP            string
	UserAgent     string
}

// ChargeView is one payment.
type ChargeView struct {
	ID             int64
	Label          string // "First payment", "Charged by the merchant", "Period 3, retry 1"
	Amount         string
	Status         string
	ProviderStatus string
	ProviderRef    string
	ProviderURL    string
	Failure        string // code and reason
	FailureLabel   string // "Declined", or "Not made" for a payment the provider never received
	LastError      string
	Created        string
	Refunded       string // "" when nothing was
	Operations     []OperationView
	Refunds        []RefundView
	Disputes       []DisputeView
	RefundForm     *RefundForm
	// NoRefund says why a paid charge has no refund form (a dispute).
	NoRefund string
	// Reason is why the merchant charged other than the plan's price.
	Reason string
}

// DisputeView is a shopper's dispute (a chargeback) of a payment.
type DisputeView struct {
	Ref            string
	ChargeLabel    string // which payment: "Period 2"
	Amount         string
	Status         string // needs_response, under_review, won, lost, closed
	ProviderStatus string
	Reason         string // the provider's: fraudulent, product_not_received, …
	Deadline       string // the provider's deadline for evidence, or ""
	Updated        string
}

// OperationView is an authorization, capture or refund at the provider.
type OperationView struct{ Kind, Ref, Amount, Status string }

// RefundView is one refund.
type RefundView struct {
	ID                                                           int64
	Amount, Status, ProviderStatus, ProviderRef, Reason, Created string
	LastError                                                    string
	// Why is the merchant's reason for the refund, and their note.
	Why string
}

// ChargeForm charges a mandate now.
type ChargeForm struct {
	Action   string
	Token    string
	Amount   string // "12.00"
	Currency string
	Note     string // the provider's limits
	Error    string
	// Fixed: the mandate can be charged only Amount (PPRO's EXACT
	// agreements); the field is shown read-only.
	Fixed bool
}

// RefundForm refunds part or all of a charge.
type RefundForm struct {
	Action   string
	Token    string
	Amount   string // what is left, "12.00"
	Max      string // "12.00 USD"
	Currency string
	// Reasons are the reasons offered (store.RefundReasons, in words).
	Reasons []Option
}

// BillingView is where an active mandate's payments stand.
type BillingView struct {
	State    string // active, past_due, ended, revoked
	NextDue  string
	Period   int // the period to charge next
	Failures int
	Note     string // "Retry 2 of 3 on 3 Jan 2027"
	Periods  []PeriodView
	History  []BillingEventView
}

// PeriodView is one billing period.
type PeriodView struct {
	N      int
	Due    string
	Status string // paid, failed, retrying, due, upcoming, refunded
	Detail string
}

// BillingEventView is one billing state change.
type BillingEventView struct {
	At, From, To, Detail string
	Period               int
	What                 string // what happened, in words
}

// ShopperMandate is the shopper's own page of their mandate.
type ShopperMandate struct {
	Chrome
	ID            string
	Status        string
	Plan          Plan
	Provider      string
	Method        string
	Email         string
	Since         string
	NextPayment   string // or ""
	Payments      []ShopperPayment
	Terms         []terms.Block
	TermsVersion  string
	Authorization string
	CanCancel     bool
	// Cancel posts here, with the signed link's fields when it came by one.
	CancelAction string
	LinkExpires  string
	LinkSig      string
	Message      string // after cancelling
	Contact      string // the merchant's email
	// Ended says who or what ended a cancelled subscription, and when.
	Ended string
}

// ShopperPayment is a payment as the shopper sees it.
type ShopperPayment struct{ Date, Amount, Status string }

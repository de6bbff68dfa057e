package views

// ChargeConfirm is the second look at a charge before it is sent: what
// will be charged, against what the terms allow.
type ChargeConfirm struct {
	AdminChrome
	MandateID, Customer, Email, Method string
	Action, Token                      string
	Amount                             string // "12.00", as typed
	Money                              string // "12.00 USD"
	TermsPrice                         string // the price the terms say each payment is
	// OffTerms: the amount is not the plan's price; a reason is required
	// and recorded with the charge.
	OffTerms bool
	Reason   string
	Error    string
}

// RevokeConfirm is the second look at a revocation, with the choice of
// now or at the end of the paid period.
type RevokeConfirm struct {
	AdminChrome
	MandateID, Customer, Email, Provider string
	Action, Token                        string
	// PaidUntil is the end of the paid period ("" when the mandate cannot
	// be cancelled then: its billing is past due, or has not started);
	// CancelScheduled says it is already asked for.
	PaidUntil       string
	NextAmount      string
	CancelScheduled bool
}

// RetryForm retries a past-due period's payment now.
type RetryForm struct {
	Action, Token string
	Failures      int
	Amount        string
	Note          string
}

package views

// ActivityEntry is one entry of an activity log, in the merchant's words.
type ActivityEntry struct {
	At     string
	Kind   string // status, billing, charge, refund, dispute, message, resend, price, clock
	What   string
	Detail string
	By     string // "the merchant", "the schedule", …
	Amount string // "" when none
	State  string // the row's state now, for its pill ("" for none)
	// MandateURL is the mandate's page, on the shop's log ("" for an
	// entry about the whole shop); Shopper names the mandate's shopper.
	MandateURL string
	Shopper    string
}

// AdminActivity is the shop's activity log, newest first, a page at a time.
type AdminActivity struct {
	AdminChrome
	Entries []ActivityEntry
	// NextURL is the next (older) page, FirstURL the newest; "" when none.
	NextURL, FirstURL string
}

package views

// MessageView is one message to a shopper, as the merchant sees it.
type MessageView struct {
	ID        int64
	Kind      string // "Receipt", "Payment declined", …
	To        string
	Status    string // pending, sent, failed
	Created   string
	Sent      string // "" until sent
	Attempts  int
	NextTry   string // a pending message's next attempt, or ""
	LastError string
	// MandateURL is the mandate's dashboard page, on the page of all
	// undelivered messages; Shopper names the shopper there.
	MandateURL string
	Shopper    string
	// ResendToken is a failed message's one-time form token for sending
	// it again; "" otherwise.
	ResendToken string
}

// MessageAlert is the dashboard's word on messages that need the
// merchant: given up, or waiting for a mail server that is not set.
type MessageAlert struct {
	Failed  int
	Pending int
	// NoDelivery: no SMTP_URL (and no sandbox mailbox): every message
	// waits in the outbox.
	NoDelivery bool
}

// Show says whether there is anything to say.
func (a MessageAlert) Show() bool { return a.Failed > 0 || (a.NoDelivery && a.Pending > 0) }

// AdminMessages is the page of messages not delivered: given up, and
// waiting.
type AdminMessages struct {
	AdminChrome
	Alert   MessageAlert
	Failed  []MessageView
	Pending []MessageView
	// Shown is how many of each list are shown at most.
	Shown int
}

// Package notify renders an outbox message (store.Message) as the email a
// shopper receives: an HTML part and a plain-text part that say the same,
// in the shopper's words, with the merchant's name and contact address,
// absolute signed links to the shopper's own page, and a footer saying why
// they get it.
//
// Each kind of message is first written as one content value (what it
// says); the HTML (email.templ) and the text (text.go) are two renderings
// of that value, so the parts cannot drift apart.
package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"example.com/storefront/mailer"
	"example.com/storefront/mandate"
	"example.com/storefront/payments"
	"example.com/storefront/shopperlink"
	"example.com/storefront/store"
	"example.com/storefront/terms"
)

// Config is what every message needs to know of the shop.
type Config struct {
	Merchant string // the shop's name
	Contact  string // where shoppers write
	BaseURL  string // the storefront's absolute URL, for links
	Links    shopperlink.Signer
	// Now is real time, for the signed links' expiry (never the demo
	// clock: see shopperlink). nil: time.Now.
	Now func() time.Time
}

// Renderer renders outbox messages for one shop.
type Renderer struct {
	cfg Config
}

// New returns a Renderer for cfg.
func New(cfg Config) *Renderer {
	cfg.BaseURL = strings.TrimSuffix(cfg.BaseURL, "/")
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Renderer{cfg: cfg}
}

// dateLayout is how dates read in messages, as on the shopper's pages.
const dateLayout = "2 January 2006"

func date(t time.Time) string { return t.UTC().Format(dateLayout) }

// Render writes msg, about mandate m, as an email to msg.To. From is left
// for the deliverer to set. An unknown kind or data that does not decode
// is an error: the message cannot be sent as it stands.
func (r *Renderer) Render(m store.Mandate, msg store.Message) (mailer.Message, error) {
	c, err := r.content(m, msg)
	if err != nil {
		return mailer.Message{}, fmt.Errorf("notify: message %s (%s): %w", msg.Key, msg.Kind, err)
	}
	var html bytes.Buffer
	if err := emailHTML(c).Render(context.Background(), &html); err != nil {
		return mailer.Message{}, fmt.Errorf("notify: message %s: html: %w", msg.Key, err)
	}
	return mailer.Message{
		To: msg.To, Key: msg.Key, Subject: c.Subject,
		Text: emailText(c), HTML: html.String(),
	}, nil
}

// content is what one email says, whatever its format.
type content struct {
	Subject  string
	Heading  string
	Greeting string   // "Dear Ada Lovelace,"
	Intro    []string // paragraphs before the facts
	Facts    []fact
	After    []string // paragraphs after the facts
	Actions  []action
	Terms    *agreed // a copy of the terms agreed to, or nil
	Merchant string
	Contact  string
	Why      string // the footer: why the shopper gets this email
}

type fact struct{ Label, Value string }

// action is a link the shopper may follow: a button in HTML, a URL on its
// own line in text.
type action struct {
	Label string
	URL   string
	Note  string // under it, or ""
}

// agreed is the exact text of the terms the shopper agreed to.
type agreed struct {
	Version       string
	Authorization string
	Blocks        []terms.Block
}

// errIncomplete is data that decodes but lacks what the message must say.
var errIncomplete = errors.New("the message's data is incomplete")

func decode[T any](raw json.RawMessage) (T, error) {
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, fmt.Errorf("decode data: %w", err)
	}
	return v, nil
}

func (r *Renderer) content(m store.Mandate, msg store.Message) (content, error) {
	c := content{
		Merchant: r.cfg.Merchant,
		Contact:  r.cfg.Contact,
		Greeting: "Hello,",
		Why: fmt.Sprintf("You receive this email because you have a %s subscription with %s, set up with this address. "+
			"It is about that subscription only.", m.Plan.Name, r.cfg.Merchant),
	}
	if m.Customer.Name != "" {
		c.Greeting = "Dear " + m.Customer.Name + ","
	}
	var err error
	switch msg.Kind {
	case store.MsgConfirmed:
		err = r.confirmed(&c, m, msg.Data)
	case store.MsgReceipt:
		err = r.receipt(&c, m, msg.Data)
	case store.MsgDeclined:
		err = r.declined(&c, m, msg.Data)
	case store.MsgEnded:
		err = r.ended(&c, m, msg.Data)
	case store.MsgRevoked:
		err = r.revoked(&c, m, msg.Data)
	case store.MsgCancelScheduled:
		err = r.cancelScheduled(&c, m, msg.Data)
	case store.MsgRefund:
		err = r.refund(&c, m, msg.Data)
	case store.MsgDispute:
		err = r.dispute(&c, m, msg.Data)
	case store.MsgPriceChange:
		err = r.priceChange(&c, m, msg.Data)
	case store.MsgLink:
		err = r.link(&c, m, msg.Data)
	default:
		return content{}, fmt.Errorf("unknown kind %q", msg.Kind)
	}
	return c, err
}

// pageAction is the signed link to the shopper's page, with when it stops
// working (and what happens then).
func (r *Renderer) pageAction(m store.Mandate, label string) action {
	now := r.cfg.Now()
	return action{
		Label: label,
		URL:   r.cfg.BaseURL + r.cfg.Links.Path(m.ID, now),
		Note: "This link opens your subscription's page in any browser until " + date(now.Add(r.cfg.Links.TTL())) +
			". After that, opening it offers to email you a fresh one.",
	}
}

func (r *Renderer) shopAction(label string) action {
	return action{Label: label, URL: r.cfg.BaseURL + "/"}
}

// every is "12.00 USD every month".
func every(m store.Mandate, price payments.Money) string {
	return price.String() + " every " + string(m.Plan.Interval)
}

// paidWith is "your Amazon Pay account (through Stripe)".
func paidWith(m store.Mandate) string {
	return "your " + methodName(m.PaymentMethodType) + " (through " + providerName(m.Provider) + ")"
}

func providerName(p string) string {
	switch p {
	case "stripe":
		return "Stripe"
	case "ppro":
		return "PPRO"
	case "":
		return "the payment provider"
	}
	return p
}

func methodName(t string) string {
	switch strings.ToLower(t) {
	case "amazon_pay":
		return "Amazon Pay account"
	case "card":
		return "card"
	case "":
		return "payment method"
	}
	return strings.ReplaceAll(strings.ToLower(t), "_", " ")
}

func (r *Renderer) confirmed(c *content, m store.Mandate, raw json.RawMessage) error {
	d, err := decode[store.ConfirmedData](raw)
	if err != nil {
		return err
	}
	if d.At.IsZero() {
		return errIncomplete
	}
	c.Subject = "Your " + m.Plan.Name + " subscription with " + r.cfg.Merchant + " is set up"
	c.Heading = "Your subscription is set up"
	c.Intro = []string{
		fmt.Sprintf("Thank you. Your permission for %s to take %s for %s from %s was confirmed on %s.",
			r.cfg.Merchant, every(m, m.Plan.Price), m.Plan.Name, paidWith(m), date(d.At)),
	}
	c.Facts = []fact{
		{"Subscription", m.Plan.Name},
		{"Amount", every(m, m.Plan.Price)},
		{"Paid with", methodName(m.PaymentMethodType) + ", through " + providerName(m.Provider)},
		{"Confirmed on", date(d.At)},
		{"Reference", m.ID},
	}
	c.After = []string{
		"On your subscription's page you can see every payment and the next one, and cancel at any time: " +
			"no payment is taken after you cancel.",
		"A copy of the terms you agreed to is below. Please keep this email.",
	}
	c.Actions = []action{r.pageAction(m, "Open your subscription")}
	doc, err := terms.Render(m.Consent.TermsVersion, firstNonEmpty(m.Consent.Merchant, r.cfg.Merchant),
		firstNonEmpty(m.Consent.Contact, r.cfg.Contact), m.Plan)
	if err != nil {
		return fmt.Errorf("the terms agreed to: %w", err)
	}
	c.Terms = &agreed{Version: doc.Version, Authorization: m.Consent.Authorization, Blocks: doc.Blocks}
	if c.Terms.Authorization == "" {
		c.Terms.Authorization = doc.Authorization
	}
	return nil
}

func (r *Renderer) receipt(c *content, m store.Mandate, raw json.RawMessage) error {
	d, err := decode[store.ReceiptData](raw)
	if err != nil {
		return err
	}
	if d.PaidAt.IsZero() || d.Amount.Currency == "" {
		return errIncomplete
	}
	c.Subject = "Receipt: " + d.Amount.String() + " paid to " + r.cfg.Merchant
	c.Heading = "Thank you for your payment"
	what := "your " + m.Plan.Name + " subscription"
	if d.Period == 0 {
		what = "a payment outside your subscription's schedule"
	}
	c.Intro = []string{fmt.Sprintf("%s took %s from %s on %s, for %s.",
		r.cfg.Merchant, d.Amount, paidWith(m), date(d.PaidAt), what)}
	next := "None: no further payment is scheduled."
	if !d.NextAt.IsZero() {
		next = d.NextAmount.String() + " on " + date(d.NextAt)
	}
	c.Facts = []fact{
		{"Amount paid", d.Amount.String()},
		{"Date", date(d.PaidAt)},
		{"For", m.Plan.Name},
		{"Next payment", next},
		{"Reference", fmt.Sprintf("%s, payment %d", m.ID, d.ChargeID)},
	}
	c.After = []string{"Your subscription's page lists every payment; you can cancel there at any time."}
	c.Actions = []action{r.pageAction(m, "See your payments")}
	return nil
}

func (r *Renderer) declined(c *content, m store.Mandate, raw json.RawMessage) error {
	d, err := decode[store.DeclinedData](raw)
	if err != nil {
		return err
	}
	if d.RetryAt.IsZero() || d.Amount.Currency == "" {
		return errIncomplete
	}
	c.Subject = "Your payment of " + d.Amount.String() + " to " + r.cfg.Merchant + " was declined"
	c.Heading = "Your payment was declined"
	reason := "No reason was given."
	if s := strings.TrimSpace(d.Reason); s != "" {
		reason = "The reason given: " + s
	}
	c.Intro = []string{
		fmt.Sprintf("We tried to take %s for your %s subscription from %s, and it was declined. %s",
			d.Amount, m.Plan.Name, paidWith(m), reason),
		fmt.Sprintf("We will try again on %s.", date(d.RetryAt)),
	}
	c.Facts = []fact{
		{"Amount", d.Amount.String()},
		{"Declined attempts", fmt.Sprint(d.Failures)},
		{"Next try", date(d.RetryAt)},
	}
	c.After = []string{
		"What you can do: make sure your Amazon Pay account can pay " + d.Amount.String() + " by then " +
			"(for example, that the card in it is valid and has not expired). You do not need to do anything else.",
		"If the payment still cannot be taken after a few tries, your subscription ends and no further payment is taken. " +
			"If you would rather stop now, cancel your subscription on its page.",
	}
	c.Actions = []action{r.pageAction(m, "Open your subscription")}
	return nil
}

func (r *Renderer) ended(c *content, m store.Mandate, raw json.RawMessage) error {
	d, err := decode[store.EndedData](raw)
	if err != nil {
		return err
	}
	if d.At.IsZero() || d.Amount.Currency == "" {
		return errIncomplete
	}
	c.Subject = "Your " + m.Plan.Name + " subscription has ended"
	c.Heading = "Your subscription has ended"
	if d.NewPrice.Currency != "" {
		// An agreement stating its amount exactly, at a new price: the
		// price change's notice announced this end.
		c.Intro = []string{
			fmt.Sprintf("As we wrote when the price changed, your Amazon Pay approval is for exactly %s, and the price of %s "+
				"is now %s. So your subscription ended on %s, without taking a payment at the new price.",
				d.Amount, m.Plan.Name, d.NewPrice, date(d.At)),
			"No further payment will be taken.",
		}
		c.Facts = []fact{
			{"Approved amount", d.Amount.String()},
			{"New price", d.NewPrice.String()},
			{"Ended on", date(d.At)},
		}
		c.After = []string{
			"To continue at the new price, subscribe again on our shop at " + r.cfg.BaseURL + "/ and approve " + d.NewPrice.String() + ".",
		}
		c.Actions = []action{r.shopAction("Subscribe at the new price"), r.pageAction(m, "See your subscription")}
		return nil
	}
	c.Intro = []string{
		fmt.Sprintf("We could not take your payment of %s: it was declined %d times. So your %s subscription ended on %s, "+
			"for non-payment.", d.Amount, d.Failures, m.Plan.Name, date(d.At)),
		"No further payment will be taken.",
	}
	c.Facts = []fact{
		{"Unpaid amount", d.Amount.String()},
		{"Declined attempts", fmt.Sprint(d.Failures)},
		{"Ended on", date(d.At)},
	}
	c.After = []string{
		"To start again, subscribe on our shop at " + r.cfg.BaseURL + "/ with an Amazon Pay account that can pay.",
	}
	c.Actions = []action{r.shopAction("Subscribe again"), r.pageAction(m, "See your subscription")}
	return nil
}

// cancelScheduled: the merchant cancels at the end of the paid period.
func (r *Renderer) cancelScheduled(c *content, m store.Mandate, raw json.RawMessage) error {
	d, err := decode[store.CancelScheduledData](raw)
	if err != nil {
		return err
	}
	if d.At.IsZero() || d.EndsAt.IsZero() {
		return errIncomplete
	}
	c.Subject = "Your " + m.Plan.Name + " subscription ends on " + date(d.EndsAt)
	c.Heading = "Your subscription ends on " + date(d.EndsAt)
	c.Intro = []string{
		fmt.Sprintf("%s will cancel your %s subscription at the end of the period you have paid for, on %s. "+
			"It stays active until then, and no further payment will be taken. If you did not expect this, write to %s.",
			r.cfg.Merchant, m.Plan.Name, date(d.EndsAt), r.cfg.Contact),
	}
	c.Facts = []fact{
		{"Active until", date(d.EndsAt)},
		{"Further payments", "none"},
	}
	c.Actions = []action{r.pageAction(m, "See your subscription")}
	return nil
}

func (r *Renderer) revoked(c *content, m store.Mandate, raw json.RawMessage) error {
	d, err := decode[store.RevokedData](raw)
	if err != nil {
		return err
	}
	if d.At.IsZero() {
		return errIncomplete
	}
	c.Subject = "Your " + m.Plan.Name + " subscription is cancelled"
	c.Heading = "Your subscription is cancelled"
	var who, what string
	switch d.By {
	case payments.RevokedByShopper:
		who = "You"
		what = fmt.Sprintf("You cancelled your %s subscription on %s (on its page, or in your Amazon Pay account).",
			m.Plan.Name, date(d.At))
	case payments.RevokedByMerchant:
		who = r.cfg.Merchant
		what = fmt.Sprintf("%s cancelled your %s subscription on %s. If you did not expect this, write to %s.",
			r.cfg.Merchant, m.Plan.Name, date(d.At), r.cfg.Contact)
	case payments.RevokedByProvider:
		who = "Amazon Pay or " + providerName(m.Provider)
		what = fmt.Sprintf("Amazon Pay or the payment provider (%s) withdrew the permission for your %s subscription on %s, "+
			"so it is cancelled.", providerName(m.Provider), m.Plan.Name, date(d.At))
	default:
		return fmt.Errorf("%w: revoked by %q", errIncomplete, d.By)
	}
	c.Intro = []string{what, "No further payment will be taken."}
	c.Facts = []fact{
		{"Cancelled by", who},
		{"Cancelled on", date(d.At)},
		{"Subscription", m.Plan.Name},
	}
	c.After = []string{
		"Payments already made are not refunded by cancelling; for a refund, write to " + r.cfg.Contact + ".",
		"You can subscribe again at any time on our shop at " + r.cfg.BaseURL + "/.",
	}
	c.Actions = []action{r.pageAction(m, "See your subscription")}
	return nil
}

func (r *Renderer) refund(c *content, m store.Mandate, raw json.RawMessage) error {
	d, err := decode[store.RefundData](raw)
	if err != nil {
		return err
	}
	if d.At.IsZero() || d.PaidAt.IsZero() || d.Amount.Currency == "" {
		return errIncomplete
	}
	c.Subject = "Refund of " + d.Amount.String() + " from " + r.cfg.Merchant
	c.Heading = "We have refunded you " + d.Amount.String()
	c.Intro = []string{
		fmt.Sprintf("%s refunded %s of your payment of %s taken on %s, on %s.",
			r.cfg.Merchant, d.Amount, d.ChargeAmount, date(d.PaidAt), date(d.At)),
		"The money goes back to the payment method in your Amazon Pay account. It can take some days to appear on your statement.",
	}
	c.Facts = []fact{
		{"Refund", d.Amount.String()},
		{"Of the payment", d.ChargeAmount.String() + " on " + date(d.PaidAt)},
		{"Refunded on", date(d.At)},
	}
	if why := store.RefundReasonWords(d.Reason); why != "" {
		c.Facts = append(c.Facts, fact{"Reason", why})
	}
	c.After = []string{"This refund does not change your subscription."}
	c.Actions = []action{r.pageAction(m, "See your payments")}
	return nil
}

// disputeReasons are Stripe's dispute reasons in the shopper's words;
// another reason is shown with its underscores as spaces.
var disputeReasons = map[string]string{
	"fraudulent":            "you did not recognise or authorise the payment",
	"unrecognized":          "you did not recognise the payment",
	"duplicate":             "the payment was taken twice",
	"subscription_canceled": "the subscription was cancelled before the payment",
	"product_not_received":  "you did not receive what you paid for",
	"product_unacceptable":  "what you received was not as described",
	"credit_not_processed":  "a refund you were promised was not made",
	"general":               "",
}

func (r *Renderer) dispute(c *content, m store.Mandate, raw json.RawMessage) error {
	d, err := decode[store.DisputeData](raw)
	if err != nil {
		return err
	}
	if d.PaidAt.IsZero() || d.Amount.Currency == "" {
		return errIncomplete
	}
	c.Subject = "Your payment of " + d.Amount.String() + " to " + r.cfg.Merchant + " is disputed"
	c.Heading = "Your payment is disputed"
	reason, known := disputeReasons[d.Reason]
	if !known {
		reason = strings.ReplaceAll(strings.ToLower(d.Reason), "_", " ")
	}
	why := "."
	if reason != "" {
		why = ". The reason given: " + reason + "."
	}
	c.Intro = []string{
		fmt.Sprintf("Your payment of %s taken on %s for %s was disputed with your payment provider%s",
			d.Amount, date(d.PaidAt), m.Plan.Name, why),
		fmt.Sprintf("%s will reply to the dispute through the payment provider (%s), which decides it. "+
			"You do not need to do anything unless they ask you.", r.cfg.Merchant, providerName(m.Provider)),
	}
	c.Facts = []fact{
		{"Disputed amount", d.Amount.String()},
		{"Payment taken on", date(d.PaidAt)},
	}
	c.After = []string{
		"If you have a question, or disputed the payment by mistake, write to " + r.cfg.Contact + ".",
	}
	c.Actions = []action{r.pageAction(m, "See your payments")}
	return nil
}

func (r *Renderer) priceChange(c *content, m store.Mandate, raw json.RawMessage) error {
	d, err := decode[store.PriceChangeData](raw)
	if err != nil {
		return err
	}
	if d.EffectiveAt.IsZero() || d.FirstAt.IsZero() || d.Old.Currency == "" || d.New.Currency == "" {
		return errIncomplete
	}
	per := " per " + string(m.Plan.Interval)
	c.Subject = "The price of " + m.Plan.Name + " changes from " + d.Old.String() + " to " + d.New.String()
	c.Heading = "The price of your subscription changes"
	c.Intro = []string{fmt.Sprintf("The price of %s changes from %s to %s%s, for payments due on or after %s.",
		m.Plan.Name, d.Old, d.New, per, date(d.EffectiveAt))}
	c.Facts = []fact{
		{"Price now", d.Old.String() + per},
		{"New price", d.New.String() + per},
		{"From", date(d.EffectiveAt)},
	}
	if d.EndsAgreement {
		c.Intro = append(c.Intro,
			fmt.Sprintf("Your Amazon Pay approval, given through %s, states the amount of %s exactly, so it cannot be used "+
				"for the new price: your subscription ends before %s, and no payment is ever taken at %s.",
				providerName(m.Provider), d.Old, date(d.FirstAt), d.New))
		c.Facts = append(c.Facts, fact{"Your subscription", "ends before " + date(d.FirstAt)})
		c.After = []string{
			fmt.Sprintf("To continue at the new price, subscribe again on our shop at %s/ and approve %s%s.",
				r.cfg.BaseURL, d.New, per),
			"Until it ends, nothing changes: you may also cancel before then on your subscription's page.",
		}
		c.Actions = []action{r.shopAction("Subscribe at the new price"), r.pageAction(m, "Open your subscription")}
		return nil
	}
	c.Intro = append(c.Intro, fmt.Sprintf("Your first payment at the new price, %s, is due on %s.", d.New, date(d.FirstAt)))
	c.Facts = append(c.Facts, fact{"First payment at the new price", d.New.String() + " on " + date(d.FirstAt)})
	c.After = []string{
		fmt.Sprintf("If you do not want to pay the new price, you may cancel before %s on your subscription's page: "+
			"you will not be charged %s.", date(d.FirstAt), d.New),
	}
	c.Actions = []action{r.pageAction(m, "Open your subscription")}
	return nil
}

func (r *Renderer) link(c *content, m store.Mandate, raw json.RawMessage) error {
	d, err := decode[store.LinkData](raw)
	if err != nil {
		return err
	}
	if d.At.IsZero() {
		return errIncomplete
	}
	c.Subject = "Your link to your " + m.Plan.Name + " subscription"
	c.Heading = "Here is a fresh link to your subscription"
	c.Intro = []string{
		fmt.Sprintf("A fresh link to your %s subscription's page was asked for on %s, from an expired link. Here it is.",
			m.Plan.Name, date(d.At)),
	}
	page := "On the page you can see your payments."
	if m.Status == mandate.Active {
		page = "On the page you can see your payments and cancel at any time."
	}
	c.After = []string{
		page,
		"If you did not ask for it, you can ignore this email: it went only to the address your subscription was set up with.",
	}
	c.Actions = []action{r.pageAction(m, "Open your subscription")}
	c.Why = fmt.Sprintf("You receive this email because a fresh link was asked for on the page of your %s subscription with %s. "+
		"It is only ever sent to the address the subscription was set up with.", m.Plan.Name, r.cfg.Merchant)
	return nil
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

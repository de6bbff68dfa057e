package stripesim

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"example.com/storefront/sandbox/simkit"
	"github.com/a-h/templ"
)

// The Stripe section of the sandbox's index page: what the part simulates,
// its magic amounts, its settings (a form), the disputes with buttons that
// decide them (won or lost), and the saved payment methods with two
// buttons for what happens outside the app in real life: the merchant
// detaches one in Stripe's Dashboard, or the shopper revokes the mandate
// in their Amazon account. The buttons post forms under /sandbox/stripe/,
// which answer 303 back to the index with a short confirmation.

// indexSavedLimit is how many saved payment methods (and disputes) the
// index lists.
const indexSavedLimit = 50

// indexView is what the index section shows.
type indexView struct {
	APIBase  string // what stripe-go's backend URL would be from a browser's point of view
	Webhooks bool
	Notice   string // the confirmation of the last button, if the page was reached through one
	NoticeAt string // the part the button was in ("settings", "disputes", "saved"), where Notice shows
	Saved    []savedPaymentMethod
	Settings settingsForm
	Disputes []disputeRow
}

// settingsForm is the settings as the form shows them.
type settingsForm struct {
	Action              string
	SettleAfter         string // seconds
	SetupWithoutMandate bool
	FailNext            string
	InFlight            string // seconds
	HoldBefore          string // seconds
}

// disputeRow is one row of the index's list of disputes.
type disputeRow struct {
	ID            string
	Created       string
	ChargeID      string
	PaymentIntent string
	Amount        string // "$12.04"
	Reason        string
	Status        string
	DueBy         string
	WonAction     string // "" once decided
	LostAction    string
}

// savedPaymentMethod is one row of the index's list.
type savedPaymentMethod struct {
	ID            string
	Created       string // UTC, to the minute
	Type          string // "Amazon Pay", "Visa •••• 4242"
	CustomerID    string
	CustomerName  string // the Customer's name or email
	MandateID     string // "" for a payment method saved before the sandbox made mandates
	MandateStatus string
	DetachAction  string
	RevokeAction  string // only for an Amazon Pay payment method whose mandate is active
}

func (s *Sim) stripeIndexRoutes(mux *http.ServeMux, pages *simkit.Pages) {
	mux.Handle("POST /sandbox/stripe/payment-methods/{id}/detach", pages.Page(s.handleIndexDetach))
	mux.Handle("POST /sandbox/stripe/payment-methods/{id}/amazon-revoke", pages.Page(s.handleIndexRevoke))
	mux.Handle("POST /sandbox/stripe/disputes/{id}/won", pages.Page(s.handleIndexCloseDispute(true)))
	mux.Handle("POST /sandbox/stripe/disputes/{id}/lost", pages.Page(s.handleIndexCloseDispute(false)))
	mux.Handle("POST /sandbox/stripe/settings", pages.Page(s.handleIndexSettings))
}

// IndexSection describes the Stripe part on the sandbox's index page. The
// saved payment methods are read when the section renders, with the
// request's context.
func (s *Sim) IndexSection() templ.Component {
	return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		saved, disputes, err := s.indexLists(ctx)
		if err != nil {
			return fmt.Errorf("stripe index: %w", err)
		}
		return indexSection(indexView{
			APIBase:  s.host.PageURL("/stripe"),
			Webhooks: s.host.WebhooksEnabled(Provider),
			Notice:   s.indexNotice(simkit.PageQuery(ctx)),
			NoticeAt: noticePart(simkit.PageQuery(ctx).Get("stripe")),
			Saved:    saved,
			Settings: s.indexSettings(),
			Disputes: disputes,
		}).Render(ctx, w)
	})
}

// indexLists lists the payment methods attached to a customer and the
// disputes, newest first, after catching up with what is due: the page
// shows what the API would.
func (s *Sim) indexLists(ctx context.Context) ([]savedPaymentMethod, []disputeRow, error) {
	s.host.Lock()
	defer s.host.Unlock()
	var saved []savedPaymentMethod
	var disputes []disputeRow
	err := s.host.Write(ctx, func(tx *simkit.WriteTx) error {
		if err := s.stripeCatchUp(ctx, tx); err != nil {
			return err
		}
		ids, err := queryIDs(ctx, tx, `
			SELECT id FROM stripe_payment_methods WHERE customer_id IS NOT NULL
			ORDER BY created DESC, rowid DESC LIMIT ?`, indexSavedLimit)
		if err != nil {
			return fmt.Errorf("list saved payment methods: %w", err)
		}
		for _, id := range ids {
			row, err := s.indexRow(ctx, tx, id)
			if err != nil {
				return err
			}
			saved = append(saved, row)
		}
		ids, err = queryIDs(ctx, tx, `SELECT id FROM stripe_disputes ORDER BY created DESC, rowid DESC LIMIT ?`, indexSavedLimit)
		if err != nil {
			return fmt.Errorf("list disputes: %w", err)
		}
		for _, id := range ids {
			dp, err := loadStripeDispute(ctx, tx, id)
			if err != nil {
				return err
			}
			disputes = append(disputes, s.indexDisputeRow(dp))
		}
		return nil
	})
	return saved, disputes, err
}

func (s *Sim) indexDisputeRow(dp *stripeDispute) disputeRow {
	row := disputeRow{
		ID:            dp.ID,
		Created:       time.Unix(dp.Created, 0).UTC().Format("2006-01-02 15:04 UTC"),
		ChargeID:      dp.chargeID,
		PaymentIntent: simkit.Deref(dp.paymentIntentID),
		Amount:        formatAmount(dp.Amount, dp.Currency),
		Reason:        dp.Reason,
		Status:        dp.Status,
	}
	if dp.EvidenceDetails.DueBy != nil {
		row.DueBy = time.Unix(*dp.EvidenceDetails.DueBy, 0).UTC().Format("2006-01-02 15:04 UTC")
	}
	if dp.Status == disputeNeedsResponse {
		base := s.host.BasePath() + "/stripe/disputes/" + dp.ID
		row.WonAction, row.LostAction = base+"/won", base+"/lost"
	}
	return row
}

func (s *Sim) indexRow(ctx context.Context, q simkit.Querier, id string) (savedPaymentMethod, error) {
	pm, err := loadStripePaymentMethod(ctx, q, id)
	if err != nil {
		return savedPaymentMethod{}, err
	}
	c, err := loadStripeCustomer(ctx, q, *pm.customerID)
	if err != nil {
		return savedPaymentMethod{}, err
	}
	m, err := loadMandateOfPaymentMethod(ctx, q, id)
	if err != nil {
		return savedPaymentMethod{}, err
	}
	base := s.host.BasePath() + "/stripe/payment-methods/" + id
	row := savedPaymentMethod{
		ID:           pm.ID,
		Created:      time.Unix(pm.Created, 0).UTC().Format("2006-01-02 15:04 UTC"),
		Type:         "Amazon Pay",
		CustomerID:   c.ID,
		CustomerName: simkit.Deref(c.Name),
		DetachAction: base + "/detach",
	}
	if row.CustomerName == "" {
		row.CustomerName = simkit.Deref(c.Email)
	}
	if pm.Card != nil {
		row.Type = titleBrand(pm.Card.Brand) + " •••• " + pm.Card.Last4
	}
	if m != nil {
		row.MandateID, row.MandateStatus = m.ID, m.Status
		if pm.Type == pmTypeAmazonPay && m.Status == mandateActive {
			row.RevokeAction = base + "/amazon-revoke"
		}
	}
	return row, nil
}

func titleBrand(brand string) string {
	switch brand {
	case "visa":
		return "Visa"
	case "":
		return "Card"
	}
	return brand
}

// The confirmations the buttons redirect back with (?stripe=…&pm=… or
// &dp=…).
const (
	noticeDetached    = "detached"
	noticeRevoked     = "revoked"
	noticeUnchanged   = "unchanged"
	noticeDisputeWon  = "dispute-won"
	noticeDisputeLost = "dispute-lost"
	noticeDisputeSame = "dispute-unchanged"
	noticeSettings    = "settings"
)

// indexNotice is the confirmation to show for the index page's query.
func (s *Sim) indexNotice(q url.Values) string {
	sent := "sent"
	if !s.host.WebhooksEnabled(Provider) {
		sent = "recorded (no webhook URL is configured)"
	}
	pm, dp := q.Get("pm"), q.Get("dp")
	switch notice := q.Get("stripe"); {
	case notice == noticeSettings:
		return "Settings saved."
	case !paymentMethodID.MatchString(pm) && !disputeID.MatchString(dp):
		return "" // not a link the buttons made
	case notice == noticeDetached:
		return "Detached " + pm + " from its customer, as the merchant's Dashboard would: its mandate is inactive, and " +
			"payment_method.detached and mandate.updated were " + sent + "."
	case notice == noticeRevoked:
		return "Amazon revoked the mandate of " + pm + ", as when the shopper cancels it in their Amazon account: " +
			"mandate.updated was " + sent + ", and charging this payment method now fails."
	case notice == noticeUnchanged:
		return "Nothing changed for " + pm + ": it was already detached, or its mandate was already inactive."
	case notice == noticeDisputeWon:
		return "The merchant won dispute " + dp + ": charge.dispute.closed was " + sent + "."
	case notice == noticeDisputeLost:
		return "The merchant lost dispute " + dp + ": the money stays with the shopper, and charge.dispute.closed was " + sent + "."
	case notice == noticeDisputeSame:
		return "Nothing changed for " + dp + ": it was already decided."
	}
	return ""
}

// noticePart is the part of the section whose button made notice: the
// confirmation shows there, where the answer's #anchor scrolls to.
func noticePart(notice string) string {
	switch notice {
	case noticeSettings:
		return "settings"
	case noticeDisputeWon, noticeDisputeLost, noticeDisputeSame:
		return "disputes"
	}
	return "saved"
}

// disputeID is the shape of the ids the sandbox gives disputes.
var disputeID = regexp.MustCompile(`^dp_[0-9A-Za-z]{1,64}$`)

// indexSettings is the settings as the form shows them.
func (s *Sim) indexSettings() settingsForm {
	v := s.Settings()
	return settingsForm{
		Action:              s.host.BasePath() + "/stripe/settings",
		SettleAfter:         strconv.FormatFloat(s.settleAfter().Seconds(), 'f', -1, 64),
		SetupWithoutMandate: v.SetupWithoutMandate,
		FailNext:            strconv.Itoa(v.FailNext),
		InFlight:            strconv.FormatFloat(v.InFlight.Seconds(), 'f', -1, 64),
		HoldBefore:          strconv.FormatFloat(v.HoldBefore.Seconds(), 'f', -1, 64),
	}
}

// Limits of the settings form: a demo needs no more.
const (
	maxFormSettle   = time.Hour
	maxFormInFlight = 10 * time.Minute
	maxFormFailNext = 100
)

// handleIndexSettings saves the settings form.
func (s *Sim) handleIndexSettings(w http.ResponseWriter, r *http.Request) {
	seconds := func(name string, limit time.Duration) (time.Duration, bool) {
		v := strings.TrimSpace(r.PostFormValue(name))
		if v == "" {
			return 0, true
		}
		f, err := strconv.ParseFloat(v, 64)
		d := time.Duration(f * float64(time.Second))
		return d, err == nil && f >= 0 && d <= limit
	}
	settle, ok1 := seconds("settle_after", maxFormSettle)
	inFlight, ok2 := seconds("in_flight", maxFormInFlight)
	holdBefore, ok3 := seconds("hold_before", maxFormInFlight)
	failNext, err := strconv.Atoi(strings.TrimSpace(cmp.Or(r.PostFormValue("fail_next"), "0")))
	if !ok1 || !ok2 || !ok3 || err != nil || failNext < 0 || failNext > maxFormFailNext {
		s.host.RenderMessage(w, r, http.StatusBadRequest, s.host.Meta("Payment sandbox", simkit.ThemeSandbox, ""), simkit.MessageView{
			Title: "These settings cannot be used",
			Body: fmt.Sprintf("The settle delay is 0 to %d seconds, the time a request waits or stays in flight 0 to %d seconds, and "+
				"the failing requests 0 to %d.", int(maxFormSettle.Seconds()), int(maxFormInFlight.Seconds()), maxFormFailNext),
			LinkURL:  s.host.BasePath() + "/#stripe-settings",
			LinkText: "Back to the settings",
		})
		return
	}
	s.SetSettings(Settings{
		SettleAfter:         settle,
		SetupWithoutMandate: r.PostFormValue("setup_without_mandate") != "",
		FailNext:            failNext,
		InFlight:            inFlight,
		HoldBefore:          holdBefore,
	})
	http.Redirect(w, r, s.host.BasePath()+"/?"+url.Values{"stripe": {noticeSettings}}.Encode()+"#stripe-settings", http.StatusSeeOther)
}

// handleIndexCloseDispute decides the dispute in the path, as the card
// network or Amazon would.
func (s *Sim) handleIndexCloseDispute(won bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		notice := noticeDisputeLost
		if won {
			notice = noticeDisputeWon
		}
		switch err := s.CloseDispute(r.Context(), id, won); {
		case errors.Is(err, simkit.ErrNotFound):
			s.host.NotFound(w, r, simkit.ThemeSandbox, "")
			return
		case errors.Is(err, ErrDisputeClosed):
			notice = noticeDisputeSame
		case err != nil:
			s.host.ServerError(w, r, s.host.Meta("Payment sandbox", simkit.ThemeSandbox, ""), err)
			return
		}
		q := url.Values{"stripe": {notice}, "dp": {id}}
		http.Redirect(w, r, s.host.BasePath()+"/?"+q.Encode()+"#stripe-disputes", http.StatusSeeOther)
	}
}

// paymentMethodID is the shape of the ids the sandbox gives payment
// methods.
var paymentMethodID = regexp.MustCompile(`^pm_[0-9A-Za-z]{1,64}$`)

// indexRedirect answers 303 back to the index with a confirmation.
func (s *Sim) indexRedirect(w http.ResponseWriter, r *http.Request, notice, pmID string) {
	q := url.Values{"stripe": {notice}, "pm": {pmID}}
	http.Redirect(w, r, s.host.BasePath()+"/?"+q.Encode()+"#stripe-saved", http.StatusSeeOther)
}

// handleIndexDetach detaches a payment method as the merchant's Dashboard
// would: the same as the API's detach, with a null request id in its
// events.
func (s *Sim) handleIndexDetach(w http.ResponseWriter, r *http.Request) {
	s.handleIndexButton(w, r, noticeDetached, func(ctx context.Context, tx *simkit.WriteTx, id string) error {
		_, err := s.stripeDetach(ctx, tx, id, nil)
		return err
	})
}

// handleIndexRevoke plays the shopper revoking the mandate in their Amazon
// account: the mandate becomes inactive and mandate.updated is sent; the
// payment method stays attached, but can no longer be charged.
func (s *Sim) handleIndexRevoke(w http.ResponseWriter, r *http.Request) {
	s.handleIndexButton(w, r, noticeRevoked, func(ctx context.Context, tx *simkit.WriteTx, id string) error {
		pm, err := loadStripePaymentMethod(ctx, tx, id)
		if err != nil {
			return err
		}
		m, err := loadMandateOfPaymentMethod(ctx, tx, id)
		if err != nil {
			return err
		}
		if pm.Type != pmTypeAmazonPay || m == nil || m.Status != mandateActive {
			return errNothingToChange
		}
		return s.stripeDeactivateMandate(ctx, tx, m, nil)
	})
}

// errNothingToChange is what a button's action returns when the payment
// method is no longer in the state the button was shown for (a second
// click, a stale page).
var errNothingToChange = errors.New("nothing to change")

// handleIndexButton runs one of the index's buttons on the payment method
// in the path, and answers 303 back to the index with notice (or with
// noticeUnchanged when there was nothing to do).
func (s *Sim) handleIndexButton(w http.ResponseWriter, r *http.Request, notice string,
	act func(ctx context.Context, tx *simkit.WriteTx, id string) error) {
	id := r.PathValue("id")
	s.host.Lock()
	defer s.host.Unlock()
	err := s.host.Write(r.Context(), func(tx *simkit.WriteTx) error {
		return act(r.Context(), tx, id)
	})
	var se *stripeError
	switch {
	case errors.Is(err, simkit.ErrNotFound), errors.As(err, &se) && se.status == http.StatusNotFound:
		s.host.NotFound(w, r, simkit.ThemeSandbox, "")
	case errors.Is(err, errNothingToChange), errors.As(err, &se):
		s.indexRedirect(w, r, noticeUnchanged, id)
	case err != nil:
		s.host.ServerError(w, r, s.host.Meta("Payment sandbox", simkit.ThemeSandbox, ""), err)
	default:
		s.indexRedirect(w, r, notice, id)
	}
}

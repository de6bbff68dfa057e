package stripesim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"time"

	"example.com/storefront/sandbox/simkit"
	"github.com/a-h/templ"
)

// The Stripe section of the sandbox's index page: what the part simulates,
// its magic amounts, and the saved payment methods with two buttons for
// what happens outside the app in real life: the merchant detaches one in
// Stripe's Dashboard, or the shopper revokes the mandate in their Amazon
// account. The buttons post forms under /sandbox/stripe/payment-methods/,
// which answer 303 back to the index with a short confirmation.

// indexSavedLimit is how many saved payment methods the index lists.
const indexSavedLimit = 50

// indexView is what the index section shows.
type indexView struct {
	APIBase  string // what stripe-go's backend URL would be from a browser's point of view
	Webhooks bool
	Notice   string // the confirmation of the last button, if the page was reached through one
	Saved    []savedPaymentMethod
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
}

// IndexSection describes the Stripe part on the sandbox's index page. The
// saved payment methods are read when the section renders, with the
// request's context.
func (s *Sim) IndexSection() templ.Component {
	return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		saved, err := s.indexSaved(ctx)
		if err != nil {
			return fmt.Errorf("stripe index: %w", err)
		}
		return indexSection(indexView{
			APIBase:  s.host.PageURL("/stripe"),
			Webhooks: s.host.WebhooksEnabled(Provider),
			Notice:   s.indexNotice(simkit.PageQuery(ctx)),
			Saved:    saved,
		}).Render(ctx, w)
	})
}

// indexSaved lists the payment methods attached to a customer, newest
// first.
func (s *Sim) indexSaved(ctx context.Context) ([]savedPaymentMethod, error) {
	s.host.Lock()
	defer s.host.Unlock()
	var out []savedPaymentMethod
	err := s.host.Write(ctx, func(tx *simkit.WriteTx) error {
		rows, err := tx.QueryContext(ctx, `
			SELECT id FROM stripe_payment_methods WHERE customer_id IS NOT NULL
			ORDER BY created DESC, rowid DESC LIMIT ?`, indexSavedLimit)
		if err != nil {
			return fmt.Errorf("list saved payment methods: %w", err)
		}
		var ids []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return fmt.Errorf("list saved payment methods: %w", err)
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("list saved payment methods: %w", err)
		}
		for _, id := range ids {
			row, err := s.indexRow(ctx, tx, id)
			if err != nil {
				return err
			}
			out = append(out, row)
		}
		return nil
	})
	return out, err
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

// The confirmations the buttons redirect back with (?stripe=…&pm=…).
const (
	noticeDetached  = "detached"
	noticeRevoked   = "revoked"
	noticeUnchanged = "unchanged"
)

// indexNotice is the confirmation to show for the index page's query.
func (s *Sim) indexNotice(q url.Values) string {
	pm := q.Get("pm")
	if !paymentMethodID.MatchString(pm) {
		return "" // not a link the buttons made
	}
	sent := "sent"
	if !s.host.WebhooksEnabled(Provider) {
		sent = "recorded (no webhook URL is configured)"
	}
	switch q.Get("stripe") {
	case noticeDetached:
		return "Detached " + pm + " from its customer, as the merchant's Dashboard would: its mandate is inactive, and " +
			"payment_method.detached and mandate.updated were " + sent + "."
	case noticeRevoked:
		return "Amazon revoked the mandate of " + pm + ", as when the shopper cancels it in their Amazon account: " +
			"mandate.updated was " + sent + ", and charging this payment method now fails."
	case noticeUnchanged:
		return "Nothing changed for " + pm + ": it was already detached, or its mandate was already inactive."
	}
	return ""
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

package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"example.com/storefront/billing"
	"example.com/storefront/mandate"
	"example.com/storefront/payments"
	"example.com/storefront/store"
	"example.com/storefront/views"
)

// shopperDate is how dates read on the shopper's pages.
const shopperDate = "2 January 2006"

// outcome renders the page for a mandate's current status: what happened,
// what was or was not charged, when the next payment is, and the way on
// (check again, try again with the details kept, the subscription's own
// page where it can be cancelled).
func (h *handler) outcome(w http.ResponseWriter, r *http.Request, m store.Mandate, retryURL string) {
	provider, method := providerLabel(m.Provider), methodLabel(m.PaymentMethodType)
	words := setupWords(m, provider, method, h.merchant)
	chrome := h.chrome(words.Title, views.StepDone)
	switch m.Status {
	case mandate.Pending:
		chrome.Step = views.StepApprove
	case mandate.Canceled, mandate.Failed:
		chrome.Step, chrome.StepFailed = views.StepApprove, true
	case mandate.Revoked:
		chrome.Step = views.StepNone
	}
	page := views.Outcome{
		Chrome: chrome, Status: string(m.Status), MandateID: m.ID, ProviderLabel: provider, MethodLabel: method,
		Plan: h.planView(m.Plan), Email: m.Customer.Email, Heading: words.Title, Lead: words.Lead, Reason: words.Reason,
		RetryURL: retryURL,
	}
	switch m.Status {
	case mandate.Canceled, mandate.Failed:
		page.AgainURL = "/?again=" + url.QueryEscape(m.ID)
	case mandate.Active:
		page.SubscriptionURL = "/mandates/" + url.PathEscape(m.ID)
		page.SubscriptionLink = h.baseURL + h.shopperLink(m.ID)
		page.SubscriptionLinkExpires = time.Now().Add(ShopperLinkTTL).UTC().Format(shopperDate)
	case mandate.Revoked:
		page.SubscriptionURL = "/mandates/" + url.PathEscape(m.ID)
	}
	if err := h.paymentDates(r, m, &page); err != nil {
		h.log.WarnContext(r.Context(), "outcome: payment dates", "request_id", RequestID(r.Context()), "mandate_id", m.ID, "error", err)
	}
	h.render(w, r, http.StatusOK, views.OutcomePage(page))
}

// paymentDates fills in the first payment (what it was, or that it is
// about to be taken) and when the next one is due, from the billing
// schedule.
func (h *handler) paymentDates(r *http.Request, m store.Mandate, page *views.Outcome) error {
	first := m.FirstPayment
	if first == nil && m.Status == mandate.Active {
		// Without a first payment taken with the setup, period 1 is charged
		// by the schedule as the subscription starts.
		charges, err := h.store.Charges(r.Context(), m.ID)
		if err != nil {
			return err
		}
		for i := range charges {
			if charges[i].Period == 1 {
				first = &charges[i] // the latest attempt wins
			}
		}
	}
	if first != nil {
		page.FirstPayment = &views.Payment{Amount: first.Amount.String(), Status: string(first.Status),
			Text: paymentWords(*first), Date: first.CreatedAt.UTC().Format(shopperDate)}
	}
	if m.Status != mandate.Active {
		if first != nil && first.Status == payments.ChargeFailed {
			page.FirstPaymentNote = "Nothing was charged."
		}
		return nil
	}
	b, err := h.store.Billing(r.Context(), m.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	price := m.Plan.Price.String()
	switch {
	case first != nil && first.Status.Paid():
		page.FirstPaymentNote = "Your first payment of " + price + " was taken on " + first.CreatedAt.UTC().Format(shopperDate) + "."
	case first != nil && first.Status == payments.ChargeFailed && b.State == store.BillingPastDue:
		page.FirstPaymentNote = "Your first payment of " + price + " did not go through; nothing was charged for it. We will try again on " +
			b.NextDueAt.UTC().Format(shopperDate) + "."
	case first != nil && first.Status == payments.ChargeFailed:
		page.FirstPaymentNote = "Your first payment of " + price + " did not go through; nothing was charged for it. We will try again in the next few days."
	default:
		page.FirstPaymentNote = "Your first payment of " + price + " is being taken now, as your subscription starts."
	}
	if b.State == store.BillingActive || b.State == store.BillingPastDue {
		next := billing.Due(b.AnchorAt, m.Plan.Interval, max(b.NextPeriod, 2))
		if b.NextPeriod >= 2 {
			next = b.NextDueAt
		}
		page.NextPayment = next.UTC().Format(shopperDate)
	}
	return nil
}

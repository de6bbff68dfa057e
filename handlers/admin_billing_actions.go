package handlers

import (
	"fmt"
	"net/http"
	"net/url"

	"example.com/storefront/billing"
	"example.com/storefront/mandate"
	"example.com/storefront/store"
	"example.com/storefront/views"
)

// refundReasons are the refund form's choices, in words.
var refundReasons = func() []views.Option {
	var out []views.Option
	for _, code := range store.RefundReasons {
		out = append(out, views.Option{Value: code, Label: store.RefundReasonWords(code)})
	}
	return out
}()

// refundWhy is a refund's reason and the merchant's note, for the dashboard.
func refundWhy(rf store.Refund) string {
	why := store.RefundReasonWords(rf.Reason)
	if rf.Note != "" {
		if why != "" {
			why += " · "
		}
		why += rf.Note
	}
	return why
}

// billingActions adds what the merchant can do about m's billing to its
// page: retry a past-due payment now, and the end of the paid period when
// a cancellation then was asked for.
func (h *handler) billingActions(r *http.Request, m store.Mandate, b store.Billing, prices []store.MandatePrice, page *views.AdminMandate) error {
	if !b.CancelRequestedAt.IsZero() && m.Status == mandate.Active {
		page.CancelsOn = b.NextDueAt.UTC().Format(dashboardTime)
	}
	if b.State != store.BillingPastDue || m.Status != mandate.Active || h.retryNow == nil {
		return nil
	}
	if _, err := h.svc.Provider(m); err != nil {
		return nil // another mode's mandate: it cannot be charged from here
	}
	token, err := h.store.IssueFormToken(r.Context(), m.ID, "retry")
	if err != nil {
		return err
	}
	price := store.PriceOn(m.Plan.Price, prices, billing.Due(b.AnchorAt, m.Plan.Interval, b.NextPeriod))
	page.Retry = &views.RetryForm{Action: "/admin/mandates/" + url.PathEscape(m.ID) + "/retry", Token: token,
		Failures: b.Failures, Amount: price.Money.String(),
		Note: fmt.Sprintf("Period %d is past due (%d declined). Retrying now is the next scheduled attempt, not an extra one: "+
			"if it is declined, the retry after it keeps its date.", b.NextPeriod, b.Failures)}
	return nil
}

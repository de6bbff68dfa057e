package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"example.com/storefront/billing"
	"example.com/storefront/mandate"
	"example.com/storefront/payments"
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

// sandboxDecline is the link to the sandbox's control that makes m's
// payments decline, for a mandate in the sandbox: with its payment method
// (Stripe) or agreement (PPRO), and, when the sandbox is on this origin,
// the way back to m's page.
func (h *handler) sandboxDecline(m store.Mandate) string {
	ref := m.ProviderRef // PPRO's agreement
	if m.Provider == "stripe" {
		ref = m.PaymentMethodID
	}
	if m.Mode != payments.ModeSandbox || m.Status != mandate.Active || ref == "" {
		return ""
	}
	q := url.Values{"decline": {ref}}
	if strings.HasPrefix(h.sandboxURL, "/") {
		q.Set("back", "/admin/mandates/"+url.PathEscape(m.ID)+"?sandbox=declines")
	}
	return h.sandboxURL + "?" + q.Encode() + "#declines"
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

package handlers

import (
	"net/http"

	"example.com/storefront/mandate"
	"example.com/storefront/store"
	"example.com/storefront/views"
)

// outcome renders the page for a mandate's current status.
func (h *handler) outcome(w http.ResponseWriter, r *http.Request, m store.Mandate, retryURL string) {
	step := views.StepDone
	if m.Status == mandate.Pending {
		step = views.StepApprove
	}
	reason := m.FailureReason
	if m.Status == mandate.Pending {
		reason = m.LastError
	}
	titles := map[mandate.Status]string{
		mandate.Active: "Payment method saved", mandate.Pending: "Waiting for confirmation",
		mandate.Canceled: "Setup canceled", mandate.Failed: "Setup failed", mandate.Revoked: "Permission withdrawn",
	}
	h.render(w, r, http.StatusOK, views.OutcomePage(views.Outcome{
		Chrome:        h.chrome(titles[m.Status], step),
		Status:        string(m.Status),
		MandateID:     m.ID,
		ProviderLabel: providerLabel(m.Provider),
		MethodLabel:   methodLabel(m.PaymentMethodType),
		Plan:          h.planView(m.Plan),
		Email:         m.Customer.Email,
		Reason:        reason,
		RetryURL:      retryURL,
		FirstPayment:  paymentView(m.FirstPayment),
	}))
}

func paymentView(c *store.Charge) *views.Payment {
	if c == nil {
		return nil
	}
	return &views.Payment{Amount: c.Amount.String(), Status: string(c.Status), ProviderStatus: c.ProviderStatus, Reason: c.FailureReason}
}

package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"example.com/storefront/mandate"
	"example.com/storefront/payments"
	"example.com/storefront/store"
)

// success is Stripe's success_url. It never trusts its query: the session
// must belong to a mandate this browser started, and the status comes from
// Stripe's API.
func (h *handler) success(w http.ResponseWriter, r *http.Request) error {
	sessionID := r.URL.Query().Get("session_id")
	if !strings.HasPrefix(sessionID, "cs_") {
		return errNotFound
	}
	m, err := h.store.MandateByProviderRef(r.Context(), "stripe", sessionID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !h.owns(r, m.ID)) {
		h.log.WarnContext(r.Context(), "success page for a session this browser did not start",
			"request_id", RequestID(r.Context()), "session_id", sessionID)
		return errNotFound
	}
	if err != nil {
		return err
	}
	return h.verify(w, r, m, "/success?session_id="+url.QueryEscape(sessionID))
}

// verify fetches the authoritative status of a pending mandate (or of its
// pending first payment), applies it and shows the outcome. A mandate
// already decided is shown as it is, so a refresh costs no provider call
// and changes nothing.
func (h *handler) verify(w http.ResponseWriter, r *http.Request, m store.Mandate, retryURL string) error {
	if undecided(m) {
		p, ok := h.providers[m.Provider]
		if !ok {
			return errors.New("mandate " + m.ID + " has provider " + m.Provider + ", which is not configured")
		}
		res, err := p.SetupStatus(r.Context(), m.ProviderRef)
		if err != nil {
			if nerr := h.store.NoteError(r.Context(), m.ID, "could not verify: "+err.Error()); nerr != nil {
				h.log.ErrorContext(r.Context(), "note error", "mandate_id", m.ID, "error", nerr)
			}
			return providerFailure(p, "confirm your setup", err)
		}
		if m, err = h.apply(r.Context(), m, res, mandate.SourceReturnPage); err != nil {
			return err
		}
	}
	h.outcome(w, r, m, retryURL)
	return nil
}

// undecided reports whether the provider may still change what we know: the
// mandate is pending, or it is active with its first payment still pending.
func undecided(m store.Mandate) bool {
	firstPaymentPending := m.FirstPayment != nil && m.FirstPayment.Status == payments.ChargePending
	return m.Status == mandate.Pending || (m.Status == mandate.Active && firstPaymentPending)
}

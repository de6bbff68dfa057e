package handlers

import (
	"net/http"

	"example.com/storefront/mandate"
)

// cancel is where the shopper lands after leaving the provider's page. It
// asks the provider to abandon the setup (expiring an open Checkout Session)
// and records the mandate as canceled, unless the provider says it completed
// after all: then the page says so.
func (h *handler) cancel(w http.ResponseWriter, r *http.Request) error {
	m, err := h.ownedMandate(r, r.URL.Query().Get("mandate"))
	if err != nil {
		return err
	}
	if m.Status == mandate.Pending {
		p := h.providers[m.Provider]
		res, err := p.CancelSetup(r.Context(), m.ProviderRef, "mandate/"+m.ID+"/cancel")
		if err != nil {
			if nerr := h.store.NoteError(r.Context(), m.ID, "could not cancel: "+err.Error()); nerr != nil {
				h.log.ErrorContext(r.Context(), "note error", "mandate_id", m.ID, "error", nerr)
			}
			return providerFailure(p, "cancel the setup", err)
		}
		if m, err = h.svc.ApplySetup(r.Context(), m, res, mandate.SourceCancelPage); err != nil {
			return err
		}
	}
	h.outcome(w, r, m, "/cancel?mandate="+m.ID)
	return nil
}

package handlers

import (
	"errors"
	"net/http"

	"example.com/storefront/store"
)

// providerReturn is where providers without a return placeholder (PPRO)
// send the shopper back: our mandate id is in the URL, because PPRO appends
// nothing. As on /success, the mandate must belong to this browser and the
// status comes from the provider's API.
func (h *handler) providerReturn(w http.ResponseWriter, r *http.Request) error {
	m, err := h.ownedMandate(r, r.URL.Query().Get("mandate"))
	if err != nil {
		return err
	}
	if m.Provider == "stripe" { // Stripe comes back to /success
		return errNotFound
	}
	return h.verify(w, r, m, "/return?mandate="+m.ID)
}

// ownedMandate is the mandate with this id if this browser started it;
// otherwise the 404 page, so that nobody learns whether it exists.
func (h *handler) ownedMandate(r *http.Request, id string) (store.Mandate, error) {
	m, err := h.store.Mandate(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !h.owns(r, m.ID)) {
		h.log.WarnContext(r.Context(), "a mandate this browser did not start", "request_id", RequestID(r.Context()), "mandate", id)
		return store.Mandate{}, errNotFound
	}
	return m, err
}

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

// providerReturnPost answers a provider that sends the shopper back by a
// form POST: a 303 to the same page by GET. It changes nothing, so it is
// exempt from the cross-origin check (the POST comes from the provider's
// site).
func (h *handler) providerReturnPost(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/return?"+r.URL.RawQuery, http.StatusSeeOther)
}

// ownedMandate is the mandate with this id if this browser started it, in
// the mode its provider runs in now; otherwise the 404 page, so that
// nobody learns whether it exists.
func (h *handler) ownedMandate(r *http.Request, id string) (store.Mandate, error) {
	m, err := h.store.Mandate(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (!h.owns(r, m.ID) || !h.sameMode(m))) {
		h.log.WarnContext(r.Context(), "a mandate this browser did not start, or of another mode",
			"request_id", RequestID(r.Context()), "mandate", truncate(id, maxLogged))
		return store.Mandate{}, errNotFound
	}
	return m, err
}

// sameMode reports whether m was made in the mode its provider runs in now:
// a sandbox mandate is never verified against live keys, nor the reverse.
func (h *handler) sameMode(m store.Mandate) bool {
	p, ok := h.providers[m.Provider]
	return ok && p.Mode() == m.Mode
}

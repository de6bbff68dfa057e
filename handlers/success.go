package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"example.com/storefront/mandate"
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
	if errors.Is(err, store.ErrNotFound) || (err == nil && (!h.owns(r, m.ID) || !h.sameMode(m))) {
		h.log.WarnContext(r.Context(), "success page for a session this browser did not start",
			"request_id", RequestID(r.Context()), "session_id", truncate(sessionID, maxLogged))
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
	// A mandate this makes active wakes the worker for its first period
	// through the service (OnActive), as on every path.
	m, err := h.svc.Verify(r.Context(), m, mandate.SourceReturnPage)
	if err != nil {
		return providerFailure(h.providers[m.Provider], "confirm your setup", err)
	}
	h.outcome(w, r, m, retryURL)
	return nil
}

package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"example.com/storefront/mandate"
	"example.com/storefront/payments"
	"example.com/storefront/service"
	"example.com/storefront/store"
	"example.com/storefront/views"
)

// adminMandateFor is the mandate a dashboard action is about.
func (h *handler) adminMandateFor(r *http.Request) (store.Mandate, error) {
	m, err := h.store.Mandate(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		return m, errNotFound
	}
	return m, err
}

// back sends the merchant to the mandate's page, with what to say there.
func back(w http.ResponseWriter, r *http.Request, m store.Mandate, q url.Values) {
	http.Redirect(w, r, "/admin/mandates/"+url.PathEscape(m.ID)+"?"+q.Encode(), http.StatusSeeOther)
}

// adminCharge charges an active mandate now. The amount is checked (the
// mandate's currency, the provider's limits) before anything is written or
// sent; the form's one-time token makes a double click or a resubmitted
// form charge once. A decline shows as a failed charge with its reason.
func (h *handler) adminCharge(w http.ResponseWriter, r *http.Request) error {
	m, err := h.adminMandateFor(r)
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return &pageError{Status: http.StatusBadRequest, Heading: "Unreadable form", Message: "The form could not be read.", Err: err}
	}
	if m.Status != mandate.Active {
		back(w, r, m, url.Values{"error": {"inactive"}})
		return nil
	}
	if r.PostForm.Get("token") == "" {
		// Not our form: without its one-time token nothing makes it charge once.
		back(w, r, m, url.Values{"error": {"expired"}})
		return nil
	}
	amount, perr := payments.ParseAmount(r.PostForm.Get("amount"), m.Plan.Price.Currency)
	money := payments.Money{Amount: amount, Currency: m.Plan.Price.Currency}
	if perr == nil {
		perr = h.svc.CheckAmount(m, money)
	}
	if perr != nil {
		return h.chargeFormError(w, r, m, r.PostForm.Get("amount"), perr.Error())
	}
	c, err := h.svc.ChargeNow(r.Context(), m, money, r.PostForm.Get("token"))
	switch {
	case errors.Is(err, store.ErrTokenUsed):
		q := url.Values{"error": {"used"}}
		if c.ID != 0 {
			q = url.Values{"charge": {strconv.FormatInt(c.ID, 10)}, "again": {"1"}}
		}
		back(w, r, m, q)
		return nil
	case errors.Is(err, store.ErrBadToken):
		back(w, r, m, url.Values{"error": {"expired"}})
		return nil
	case errors.Is(err, store.ErrMandateInactive), errors.Is(err, service.ErrNotActive):
		back(w, r, m, url.Values{"error": {"inactive"}})
		return nil
	case c.ID != 0:
		// Written: whatever the provider said (or did not), the page shows it.
		if err != nil {
			h.log.WarnContext(r.Context(), "charge left pending", "request_id", RequestID(r.Context()), "charge_id", c.ID, "error", err)
		} else {
			h.log.InfoContext(r.Context(), "charge", "request_id", RequestID(r.Context()), "mandate_id", m.ID,
				"charge_id", c.ID, "status", string(c.Status), "provider_ref", c.ProviderRef)
		}
		back(w, r, m, url.Values{"charge": {strconv.FormatInt(c.ID, 10)}})
		return nil
	case err != nil:
		return err
	}
	back(w, r, m, nil)
	return nil
}

// chargeFormError shows the mandate's page again with the form's error,
// keeping what was typed (422), before anything was written or sent.
func (h *handler) chargeFormError(w http.ResponseWriter, r *http.Request, m store.Mandate, typed, msg string) error {
	page, err := h.mandatePage(r, m)
	if err != nil {
		return err
	}
	if page.ChargeForm != nil {
		page.ChargeForm.Error = msg
		if !page.ChargeForm.Fixed { // a fixed amount stays the one offered
			page.ChargeForm.Amount = truncate(typed, 40)
		}
	}
	h.render(w, r, http.StatusUnprocessableEntity, views.AdminMandatePage(page))
	return nil
}

// adminRefund refunds part or all of a succeeded charge: never more than
// what is left, once per form.
func (h *handler) adminRefund(w http.ResponseWriter, r *http.Request) error {
	m, err := h.adminMandateFor(r)
	if err != nil {
		return err
	}
	chargeID, err := strconv.ParseInt(r.PathValue("charge"), 10, 64)
	if err != nil {
		return errNotFound
	}
	if err := r.ParseForm(); err != nil {
		return &pageError{Status: http.StatusBadRequest, Heading: "Unreadable form", Message: "The form could not be read.", Err: err}
	}
	if r.PostForm.Get("token") == "" {
		back(w, r, m, url.Values{"error": {"expired"}})
		return nil
	}
	amount, perr := payments.ParseAmount(r.PostForm.Get("amount"), m.Plan.Price.Currency)
	if perr == nil && amount <= 0 {
		perr = errors.New("enter an amount greater than zero")
	}
	if perr != nil {
		page, err := h.mandatePage(r, m)
		if err != nil {
			return err
		}
		page.Flash, page.FlashError = "Refund not sent: "+perr.Error()+".", true
		h.render(w, r, http.StatusUnprocessableEntity, views.AdminMandatePage(page))
		return nil
	}
	rf, err := h.svc.Refund(r.Context(), m, chargeID, amount, r.PostForm.Get("token"))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return errNotFound
	case errors.Is(err, store.ErrTokenUsed):
		q := url.Values{"error": {"used"}}
		if rf.ID != 0 {
			q = url.Values{"refund": {strconv.FormatInt(rf.ID, 10)}}
		}
		back(w, r, m, q)
		return nil
	case errors.Is(err, store.ErrBadToken):
		back(w, r, m, url.Values{"error": {"expired"}})
		return nil
	case errors.Is(err, store.ErrTooMuch):
		back(w, r, m, url.Values{"error": {"too-much"}})
		return nil
	case errors.Is(err, store.ErrNotPaid):
		back(w, r, m, url.Values{"error": {"not-paid"}})
		return nil
	case rf.ID != 0:
		if err != nil {
			h.log.WarnContext(r.Context(), "refund left pending", "request_id", RequestID(r.Context()), "refund_id", rf.ID, "error", err)
		}
		back(w, r, m, url.Values{"refund": {strconv.FormatInt(rf.ID, 10)}})
		return nil
	case err != nil:
		return err
	}
	back(w, r, m, nil)
	return nil
}

// adminRevoke revokes an active mandate: the provider first, then ours.
func (h *handler) adminRevoke(w http.ResponseWriter, r *http.Request) error {
	m, err := h.adminMandateFor(r)
	if err != nil {
		return err
	}
	if m.Status != mandate.Active {
		back(w, r, m, url.Values{"error": {"inactive"}})
		return nil
	}
	if _, err := h.svc.Revoke(r.Context(), m, payments.RevokedByMerchant, mandate.SourceMerchant); err != nil {
		h.log.WarnContext(r.Context(), "revoke failed", "request_id", RequestID(r.Context()), "mandate_id", m.ID, "error", err)
		back(w, r, m, url.Values{"error": {"revoke"}})
		return nil
	}
	back(w, r, m, url.Values{"revoked": {"1"}})
	return nil
}

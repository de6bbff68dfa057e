package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

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

// adminCharge charges an active mandate now, in two steps. The amount is
// checked (the mandate's currency, the provider's limits) before anything
// is written or sent; then a confirmation page shows it against the price
// the terms say each payment is (another amount needs a reason, recorded
// with the charge); only its "Charge" button (confirm=1) charges. The
// form's one-time token travels through the confirmation, so a double
// click or a resubmitted confirmation charges once. A decline shows as a
// failed charge with its reason.
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
	terms, err := h.store.TermsPrice(r.Context(), m)
	if err != nil {
		return err
	}
	reason := strings.TrimSpace(r.PostForm.Get("reason"))
	offTerms := money != terms.Money
	if !offTerms {
		reason = "" // the terms cover it: nothing to explain
	}
	if r.PostForm.Get("confirm") != "1" || (offTerms && reason == "") {
		confirm := views.ChargeConfirm{AdminChrome: h.adminChrome(r, "Confirm the charge"), MandateID: m.ID,
			Customer: m.Customer.Name, Email: m.Customer.Email, Method: methodLabel(m.PaymentMethodType),
			Action: "/admin/mandates/" + url.PathEscape(m.ID) + "/charge", Token: r.PostForm.Get("token"),
			Amount: money.Major(), Money: money.String(), TermsPrice: terms.Money.String(), OffTerms: offTerms,
			Reason: truncate(r.PostForm.Get("reason"), 500)}
		status := http.StatusOK
		if r.PostForm.Get("confirm") == "1" {
			confirm.Error, status = "Give the reason for charging "+money.String()+" rather than "+terms.Money.String()+".",
				http.StatusUnprocessableEntity
		}
		h.render(w, r, status, views.ChargeConfirmPage(confirm))
		return nil
	}
	c, err := h.svc.ChargeNow(r.Context(), m, money, r.PostForm.Get("token"), truncate(reason, 500))
	var off *store.OffTermsError
	switch {
	case errors.As(err, &off):
		// The price changed between the two looks: show the new one.
		return h.chargeFormError(w, r, m, r.PostForm.Get("amount"), "The terms now say each payment is "+off.Price.String()+
			"; look again before charging "+off.Amount.String()+".")
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
	reason, note := r.PostForm.Get("reason"), strings.TrimSpace(r.PostForm.Get("note"))
	if perr == nil && store.RefundReasonWords(reason) == "" {
		perr = errors.New("choose the reason for the refund")
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
	rf, err := h.svc.Refund(r.Context(), m, chargeID, amount, r.PostForm.Get("token"), reason, truncate(note, 500))
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

// adminRevoke revokes an active mandate, in two steps: the mandate page's
// button shows a confirmation page, whose buttons say when (when=now: the
// provider first, then ours; when=period-end: at the end of the paid
// period, by the worker). The form's one-time token travels through the
// confirmation, so a resubmitted form revokes once; presses from several
// forms at once are one provider call too (service.Revoke).
func (h *handler) adminRevoke(w http.ResponseWriter, r *http.Request) error {
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
	when := r.PostForm.Get("when")
	if when != "now" && when != "period-end" {
		return h.revokeConfirm(w, r, m)
	}
	switch err := h.store.UseFormToken(r.Context(), r.PostForm.Get("token"), "revoke", m.ID); {
	case errors.Is(err, store.ErrTokenUsed):
		back(w, r, m, url.Values{"error": {"used"}})
		return nil
	case errors.Is(err, store.ErrBadToken):
		back(w, r, m, url.Values{"error": {"expired"}})
		return nil
	case err != nil:
		return err
	}
	if when == "period-end" {
		b, _, err := h.store.CancelAtPeriodEnd(r.Context(), m.ID)
		if errors.Is(err, store.ErrNotBilled) {
			back(w, r, m, url.Values{"error": {"not-billed"}})
			return nil
		}
		if err != nil {
			return err
		}
		h.log.InfoContext(r.Context(), "cancel at period end", "request_id", RequestID(r.Context()), "mandate_id", m.ID,
			"ends_at", b.NextDueAt)
		back(w, r, m, url.Values{"cancel": {"period-end"}})
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

// revokeConfirm is the confirmation page of a revocation: now, or at the
// end of the paid period when billing is active (paid up).
func (h *handler) revokeConfirm(w http.ResponseWriter, r *http.Request, m store.Mandate) error {
	c := views.RevokeConfirm{AdminChrome: h.adminChrome(r, "Confirm the cancellation"), MandateID: m.ID,
		Customer: m.Customer.Name, Email: m.Customer.Email, Provider: providerLabel(m.Provider),
		Action: "/admin/mandates/" + url.PathEscape(m.ID) + "/revoke", Token: r.PostForm.Get("token")}
	b, err := h.store.Billing(r.Context(), m.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return err
	case b.State == store.BillingActive:
		c.PaidUntil, c.CancelScheduled = b.NextDueAt.UTC().Format(dashboardTime), !b.CancelRequestedAt.IsZero()
		price, err := h.store.PriceFor(r.Context(), m, b.NextDueAt)
		if err != nil {
			return err
		}
		c.NextAmount = price.Money.String()
	}
	h.render(w, r, http.StatusOK, views.RevokeConfirmPage(c))
	return nil
}

// adminRetry makes the next scheduled attempt of a past-due period now:
// one attempt, the same dunning (a decline counts as that retry). The
// form carries the declines the merchant saw, so a retry the worker made
// meanwhile, or is making, is not made again.
func (h *handler) adminRetry(w http.ResponseWriter, r *http.Request) error {
	m, err := h.adminMandateFor(r)
	if err != nil {
		return err
	}
	if h.retryNow == nil {
		return errNotFound
	}
	if err := r.ParseForm(); err != nil {
		return &pageError{Status: http.StatusBadRequest, Heading: "Unreadable form", Message: "The form could not be read.", Err: err}
	}
	failures, err := strconv.Atoi(r.PostForm.Get("failures"))
	if err != nil {
		back(w, r, m, url.Values{"error": {"expired"}})
		return nil
	}
	switch err := h.store.UseFormToken(r.Context(), r.PostForm.Get("token"), "retry", m.ID); {
	case errors.Is(err, store.ErrTokenUsed):
		back(w, r, m, url.Values{"error": {"used"}})
		return nil
	case errors.Is(err, store.ErrBadToken):
		back(w, r, m, url.Values{"error": {"expired"}})
		return nil
	case err != nil:
		return err
	}
	c, err := h.retryNow(r.Context(), m.ID, failures)
	switch {
	case errors.Is(err, store.ErrNothingToRetry):
		back(w, r, m, url.Values{"error": {"no-retry"}})
		return nil
	case err != nil && c.ID == 0:
		return err
	}
	if err != nil {
		h.log.WarnContext(r.Context(), "retry now", "request_id", RequestID(r.Context()), "mandate_id", m.ID, "error", err)
	}
	h.log.InfoContext(r.Context(), "retry now", "request_id", RequestID(r.Context()), "mandate_id", m.ID,
		"charge_id", c.ID, "status", string(c.Status))
	back(w, r, m, url.Values{"charge": {strconv.FormatInt(c.ID, 10)}})
	return nil
}

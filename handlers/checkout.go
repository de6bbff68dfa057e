package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"example.com/storefront/mandate"
	"example.com/storefront/payments"
	"example.com/storefront/store"
	"example.com/storefront/views"
)

// maxUserAgent bounds what we keep of a browser's User-Agent header.
const maxUserAgent = 512

// createCheckoutSession validates the form, records a pending mandate with
// the consent evidence, asks the provider to start the setup and sends the
// shopper there.
func (h *handler) createCheckoutSession(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		if isBodyTooLarge(err) {
			return err
		}
		return &pageError{Status: http.StatusBadRequest, Heading: "Unreadable form",
			Message: "The form could not be read. Please fill it in again.", Err: err}
	}
	ctx := r.Context()
	o, err := h.offer(ctx)
	if err != nil {
		return err
	}
	f, errs := h.parseForm(r.PostForm, o)
	if len(errs) > 0 {
		h.renderHome(w, r, http.StatusUnprocessableEntity, o, f, errs)
		return nil
	}
	p := h.providers[f.Provider]

	n := store.NewMandate{
		Email: f.Email, Name: f.Name, Country: f.Country, Provider: p.Name(), Mode: p.Mode(), Plan: o.plan,
		Consent: store.Consent{
			Merchant:      h.merchant,
			Contact:       h.merchantEmail,
			TermsVersion:  o.terms.Version,
			TermsSHA256:   o.terms.SHA256,
			Authorization: o.terms.Authorization,
			AcceptedAt:    h.now(),
			ClientIP:      h.clientIP(r),
			UserAgent:     truncate(r.UserAgent(), maxUserAgent),
		},
	}
	if f.PayNow {
		n.FirstPayment = &o.plan.Price
	}
	m, err := h.store.CreateMandate(ctx, n)
	if err != nil {
		return fmt.Errorf("record mandate: %w", err)
	}
	log := h.log.With("request_id", RequestID(ctx), "mandate_id", m.ID, "provider", p.Name())
	// Remembered before the provider is called: a retry from this browser
	// after a failure reuses what the failed attempt made (its customer).
	if err := h.remember(w, r, m.ID); err != nil {
		return fmt.Errorf("save session: %w", err)
	}

	setup, err := h.beginSetup(ctx, r, p, m)
	if err != nil {
		// The mandate tells the truth: it failed to start, and why.
		if _, _, terr := h.store.Transition(ctx, m.ID, mandate.Failed, store.Change{
			Source: mandate.SourceCheckout, Code: "setup_not_started", Reason: err.Error(),
		}); terr != nil {
			log.Error("record failed setup", "error", terr)
		}
		if m.FirstPayment != nil {
			if _, terr := h.store.UpdateFirstPayment(ctx, m.ID, payments.ChargeResult{
				State: payments.ChargeFailed, Code: "not_attempted", Reason: "Not attempted: the setup could not start.",
			}); terr != nil {
				log.Error("record failed first payment", "error", terr)
			}
		}
		return providerFailure(p, "start the setup", err)
	}
	log.Info("setup started", "provider_ref", setup.Ref)

	if setup.Decided != nil {
		// The provider decided at once (PPRO answered ACTIVE or FAILED):
		// there is no page to send the shopper to; show the outcome. An
		// active mandate wakes the worker through the service (OnActive).
		if m, err = h.svc.ApplySetup(ctx, m, *setup.Decided, mandate.SourceCheckout); err != nil {
			return err
		}
		h.outcome(w, r, m, h.returnPath(m))
		return nil
	}
	if setup.Redirect.Method == http.MethodPost {
		h.render(w, r, http.StatusOK, views.RedirectPage(views.Redirect{
			Chrome:        h.chrome("Continuing to "+providerLabel(p.Name()), views.StepProvider),
			ProviderLabel: providerLabel(p.Name()),
			URL:           setup.Redirect.URL,
		}))
		return nil
	}
	http.Redirect(w, r, setup.Redirect.URL, http.StatusSeeOther)
	return nil
}

// beginSetup starts the provider's setup for m and stores its references:
// the customer the provider made for it as soon as there is one (even when
// the session call then fails), and the setup's own reference.
func (h *handler) beginSetup(ctx context.Context, r *http.Request, p payments.Provider, m store.Mandate) (payments.Setup, error) {
	returnURL, cancelURL := h.returnURLs(p.Name(), m.ID)
	req := payments.SetupRequest{
		MandateID: m.ID,
		Customer: payments.Customer{
			Name: m.Customer.Name, Email: m.Customer.Email, Country: m.Customer.Country,
			Ref: h.retryCustomer(r, p, m), IP: m.Consent.ClientIP, UserAgent: m.Consent.UserAgent,
		},
		Plan: m.Plan,
		// Written for the provider's page, where the storefront's sentence
		// ("the payment method I approve on the payment provider's page")
		// would read out of context.
		Terms: h.merchant + " will charge " + m.Plan.Price.String() + " every " + string(m.Plan.Interval) + " for " + m.Plan.Name +
			" to the payment method you approve here, until you cancel.",
		Summary:        m.Plan.Name + ": " + m.Plan.Price.String() + " every " + string(m.Plan.Interval),
		ReturnURL:      returnURL,
		CancelURL:      cancelURL,
		WebhookURL:     h.baseURL + "/webhooks/" + p.Name(),
		IdempotencyKey: "mandate/" + m.ID,
	}
	if h.setupLifetime > 0 {
		req.ExpiresAt = h.now().Add(h.setupLifetime)
	}
	if m.FirstPayment != nil {
		req.InitialCharge = &m.FirstPayment.Amount
	}
	setup, err := p.BeginSetup(ctx, req)
	if err != nil {
		// A customer made before the setup failed is kept for the retry.
		if setup.CustomerRef != "" {
			if serr := h.store.SetCustomerRef(ctx, m.ID, setup.CustomerRef); serr != nil {
				h.log.ErrorContext(ctx, "keep the provider's customer", "mandate_id", m.ID, "error", serr)
			}
		}
		return setup, err
	}
	if err := h.store.SetSetupRefs(ctx, m.ID, setup.Ref, setup.InitialChargeRef, setup.CustomerRef); err != nil {
		return payments.Setup{}, err
	}
	return setup, nil
}

// retryCustomer is the provider's customer of this browser's latest earlier
// mandate with the same provider, mode and email that never became active
// (a setup that failed or was left): the retry reuses it rather than make
// another. A customer is never chosen by a typed email alone: it must be
// this browser's own attempt.
func (h *handler) retryCustomer(r *http.Request, p payments.Provider, m store.Mandate) string {
	ids := remembered(h.session(r))
	for i := len(ids) - 1; i >= 0; i-- {
		if ids[i] == m.ID {
			continue
		}
		prev, err := h.store.Mandate(r.Context(), ids[i])
		if err != nil || prev.Provider != p.Name() || prev.Mode != p.Mode() || prev.Customer.Email != m.Customer.Email {
			continue
		}
		if prev.ProviderCustomerRef != "" && prev.ConfirmedAt.IsZero() {
			return prev.ProviderCustomerRef
		}
	}
	return ""
}

// returnURLs are where the provider sends the shopper back. Stripe fills in
// its own session id; other providers append nothing, so our id is in the URL.
func (h *handler) returnURLs(provider, mandateID string) (returnURL, cancelURL string) {
	cancelURL = h.baseURL + "/cancel?mandate=" + url.QueryEscape(mandateID)
	if provider == "stripe" {
		return h.baseURL + "/success?session_id={CHECKOUT_SESSION_ID}", cancelURL
	}
	return h.baseURL + "/return?mandate=" + url.QueryEscape(mandateID), cancelURL
}

// returnPath is the page that shows m's outcome ("Check again" reloads it).
func (h *handler) returnPath(m store.Mandate) string {
	if m.Provider == "stripe" && strings.HasPrefix(m.ProviderRef, "cs_") {
		return "/success?session_id=" + url.QueryEscape(m.ProviderRef)
	}
	return "/return?mandate=" + url.QueryEscape(m.ID)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

package handlers

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

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
	f, errs := h.parseForm(r.PostForm)
	if len(errs) > 0 {
		h.renderHome(w, r, http.StatusUnprocessableEntity, f, errs)
		return nil
	}
	p := h.providers[f.Provider]
	ctx := r.Context()

	n := store.NewMandate{
		Email: f.Email, Name: f.Name, Country: f.Country, Provider: p.Name(), Plan: h.plan,
		Consent: store.Consent{
			TermsVersion:  h.terms.Version,
			TermsSHA256:   h.terms.SHA256,
			Authorization: h.terms.Authorization,
			AcceptedAt:    time.Now(),
			ClientIP:      clientIP(r),
			UserAgent:     truncate(r.UserAgent(), maxUserAgent),
		},
	}
	if f.PayNow {
		n.FirstPayment = &h.plan.Price
	}
	m, err := h.store.CreateMandate(ctx, n)
	if err != nil {
		return fmt.Errorf("record mandate: %w", err)
	}
	log := h.log.With("request_id", RequestID(ctx), "mandate_id", m.ID, "provider", p.Name())

	setup, err := h.beginSetup(ctx, p, m)
	if err != nil {
		// The mandate tells the truth: it failed to start, and why.
		if _, _, terr := h.store.Transition(ctx, m.ID, mandate.Failed, store.Change{
			Source: mandate.SourceCheckout, Reason: err.Error(),
		}); terr != nil {
			log.Error("record failed setup", "error", terr)
		}
		if m.FirstPayment != nil {
			if _, terr := h.store.UpdateFirstPayment(ctx, m.ID, payments.ChargeResult{
				State: payments.ChargeFailed, Reason: "Not attempted: the setup could not start.",
			}); terr != nil {
				log.Error("record failed first payment", "error", terr)
			}
		}
		return providerFailure(p, "start the setup", err)
	}
	if err := h.remember(w, r, m.ID); err != nil {
		return fmt.Errorf("save session: %w", err)
	}
	log.Info("setup started", "provider_ref", setup.Ref)

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

// beginSetup starts the provider's setup for m and stores its references.
func (h *handler) beginSetup(ctx context.Context, p payments.Provider, m store.Mandate) (payments.Setup, error) {
	customerKey := p.Name() + ":" + string(p.Mode())
	customerRef, err := h.store.ProviderCustomerRef(ctx, m.Customer.ID, customerKey)
	if err != nil {
		return payments.Setup{}, err
	}
	returnURL, cancelURL := h.returnURLs(p.Name(), m.ID)
	req := payments.SetupRequest{
		MandateID: m.ID,
		Customer: payments.Customer{
			Name: m.Customer.Name, Email: m.Customer.Email, Country: m.Customer.Country, Ref: customerRef,
		},
		Terms:          m.Consent.Authorization,
		Summary:        m.Plan.Name + ": " + m.Plan.Price.String() + " every " + string(m.Plan.Interval),
		ReturnURL:      returnURL,
		CancelURL:      cancelURL,
		IdempotencyKey: "mandate/" + m.ID,
	}
	if m.FirstPayment != nil {
		req.InitialCharge = &m.FirstPayment.Amount
	}
	setup, err := p.BeginSetup(ctx, req)
	if err != nil {
		return payments.Setup{}, err
	}
	if setup.CustomerRef != "" && setup.CustomerRef != customerRef {
		if err := h.store.SetProviderCustomerRef(ctx, m.Customer.ID, customerKey, setup.CustomerRef); err != nil {
			return payments.Setup{}, err
		}
	}
	if err := h.store.SetProviderRef(ctx, m.ID, setup.Ref, setup.InitialChargeRef); err != nil {
		return payments.Setup{}, err
	}
	return setup, nil
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

// apply moves a mandate according to the provider's authoritative result.
// A setup still pending only records its latest problem, if any.
func (h *handler) apply(ctx context.Context, m store.Mandate, res payments.SetupResult, src mandate.Source) (store.Mandate, error) {
	if fp := res.InitialCharge; fp != nil && m.FirstPayment != nil {
		changed, err := h.store.UpdateFirstPayment(ctx, m.ID, *fp)
		if err != nil {
			return m, err
		}
		if changed {
			m.FirstPayment.Status, m.FirstPayment.ProviderStatus, m.FirstPayment.FailureReason = fp.State, fp.ProviderStatus, fp.Reason
		}
	}
	to := mandate.FromSetup(res.State)
	if to == mandate.Revoked && m.Status == mandate.Pending {
		// Granted and withdrawn before we heard of it: record both steps.
		var err error
		if m, err = h.move(ctx, m, mandate.Active, res, src); err != nil {
			return m, err
		}
	}
	if to == mandate.Pending {
		if m.Status == mandate.Pending && res.Reason != m.LastError {
			if err := h.store.NoteError(ctx, m.ID, res.Reason); err != nil {
				return m, err
			}
			m.LastError = res.Reason
		}
		return m, nil
	}
	return h.move(ctx, m, to, res, src)
}

// move asks the state machine to move m to status to, and logs its answer.
func (h *handler) move(ctx context.Context, m store.Mandate, to mandate.Status, res payments.SetupResult, src mandate.Source) (store.Mandate, error) {
	updated, d, err := h.store.Transition(ctx, m.ID, to, store.Change{
		Source: src, ProviderStatus: res.ProviderStatus,
		PaymentMethodID: res.Handle, PaymentMethodType: res.HandleType, Reason: res.Reason,
	})
	if err != nil {
		return m, err
	}
	h.log.LogAttrs(ctx, slog.LevelInfo, "mandate status",
		slog.String("request_id", RequestID(ctx)), slog.String("mandate_id", m.ID),
		slog.String("from", string(m.Status)), slog.String("to", string(to)),
		slog.String("source", string(src)), slog.String("decision", d.String()),
		slog.String("provider_status", res.ProviderStatus))
	return updated, nil
}

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

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

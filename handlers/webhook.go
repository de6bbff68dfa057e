package handlers

import (
	"errors"
	"log/slog"
	"net/http"

	"example.com/storefront/mandate"
	"example.com/storefront/payments"
	"example.com/storefront/store"
)

// webhookBodyLimit caps a webhook delivery; Stripe's events are far smaller.
const webhookBodyLimit = 1 << 20

// webhook reaches the same result as the return page when the shopper never
// comes back: verify the delivery, drop duplicates by event id, fetch the
// setup's current status from the provider's API and apply it. A failure to
// fetch answers 5xx so the provider delivers again later.
func (h *handler) webhook(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	log := h.log.With("request_id", RequestID(ctx))
	p, ok := h.providers[r.PathValue("provider")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	ev, err := p.ParseWebhook(r)
	switch {
	case errors.Is(err, payments.ErrWebhooksDisabled):
		log.Warn("webhook received, but no webhook secret is configured", "provider", p.Name())
		http.Error(w, "webhooks are not configured", http.StatusNotFound)
		return
	case isBodyTooLarge(err):
		http.Error(w, "payload too large", http.StatusRequestEntityTooLarge)
		return
	case err != nil:
		log.Warn("webhook refused", "provider", p.Name(), "error", err)
		http.Error(w, "invalid webhook", http.StatusBadRequest)
		return
	}
	log = log.With("provider", p.Name(), "event_id", ev.ID, "event_type", ev.Type)

	seen, err := h.store.WebhookEventSeen(ctx, p.Name(), ev.ID)
	if err != nil {
		log.Error("webhook", "error", err)
		http.Error(w, "try again", http.StatusInternalServerError)
		return
	}
	if seen {
		log.Info("webhook duplicate dropped")
		w.Write([]byte("duplicate\n"))
		return
	}

	m, err := h.webhookMandate(r, p, ev)
	switch {
	case errors.Is(err, store.ErrNotFound):
		// Not ours (another integration on the same account) or not a
		// setup event: acknowledge, so the provider stops retrying.
		log.Info("webhook ignored: no mandate of ours")
	case err != nil:
		log.Error("webhook", "error", err)
		http.Error(w, "try again", http.StatusInternalServerError)
		return
	case undecided(m):
		res, err := p.SetupStatus(ctx, m.ProviderRef)
		if err != nil {
			log.Warn("webhook: provider status unavailable; asking for a redelivery", "mandate_id", m.ID, "error", err)
			http.Error(w, "provider unavailable, try again", http.StatusBadGateway)
			return
		}
		if _, err := h.apply(ctx, m, res, mandate.SourceWebhook); err != nil {
			log.Error("webhook", "mandate_id", m.ID, "error", err)
			http.Error(w, "try again", http.StatusInternalServerError)
			return
		}
	default:
		log.LogAttrs(ctx, slog.LevelInfo, "webhook: mandate already decided", slog.String("mandate_id", m.ID), slog.String("status", string(m.Status)))
	}
	if err := h.store.RecordWebhookEvent(ctx, p.Name(), ev.ID, ev.Type, m.ID); err != nil {
		log.Error("webhook", "error", err)
		http.Error(w, "try again", http.StatusInternalServerError)
		return
	}
	w.Write([]byte("ok\n"))
}

// webhookMandate finds the mandate an event is about, by the provider's
// reference or by our id, and only among this provider's mandates.
func (h *handler) webhookMandate(r *http.Request, p payments.Provider, ev payments.Event) (store.Mandate, error) {
	switch {
	case ev.SetupRef != "":
		return h.store.MandateByProviderRef(r.Context(), p.Name(), ev.SetupRef)
	case ev.MandateID != "":
		m, err := h.store.Mandate(r.Context(), ev.MandateID)
		if err == nil && (m.Provider != p.Name() || m.ProviderRef == "") {
			return store.Mandate{}, store.ErrNotFound
		}
		return m, err
	}
	return store.Mandate{}, store.ErrNotFound
}

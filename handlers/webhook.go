package handlers

import (
	"context"
	"errors"
	"net/http"
	"time"

	"example.com/storefront/payments"
	"example.com/storefront/store"
)

// Webhook bodies are capped: Stripe's events are far smaller than 1 MiB,
// PPRO's thin CloudEvents far smaller than 64 KiB.
const (
	webhookBodyLimit     = 1 << 20
	pproWebhookBodyLimit = 64 << 10
)

// webhookLease is how long processing one event may take before another
// processor may take it over.
const webhookLease = time.Minute

// webhook stores a verified delivery first, then processes it (PPRO's own
// advice: answer 2xx at once, process after): the event is safe in the
// database before the provider hears back, and one left unprocessed by a
// crash is picked up again after a restart.
//
// Stripe's events are processed before answering, so that Stripe's own
// redelivery covers an outage: an unreachable Stripe answers 503 (Stripe
// delivers again), while a 404 or 400 from the fetch answers 200 and is
// recorded (no three-day retry storm). PPRO's are answered 200 and handed
// to the background worker at once.
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
		log.Warn("webhook refused", "provider", p.Name(), "error", truncate(err.Error(), maxLogged))
		http.Error(w, "invalid webhook", http.StatusBadRequest)
		return
	}
	log = log.With("provider", p.Name(), "event_id", ev.ID, "event_type", ev.Type)
	if ev.AboutNothing() {
		// A type the app does not use (an endpoint subscribed to more than
		// it needs): acknowledged, so the provider stops sending it.
		log.Debug("webhook ignored: not about anything the app keeps")
		w.Write([]byte("ignored\n"))
		return
	}

	// Stripe's events are processed before answering (Stripe's redelivery
	// covers an outage), so a new one is stored already claimed by this
	// request; PPRO's are handed to the worker.
	var (
		e     store.WebhookEvent
		isNew bool
	)
	if p.Name() == "stripe" {
		e, isNew, err = h.store.StoreWebhookEventClaimed(ctx, p.Name(), ev, webhookLease)
	} else {
		e, isNew, err = h.store.StoreWebhookEvent(ctx, p.Name(), ev)
	}
	if err != nil {
		log.Error("webhook: store", "error", err)
		// Not stored: the provider delivers it again (a 503 when our
		// database is briefly away, as after a restart).
		status := http.StatusInternalServerError
		if store.Unavailable(err) {
			status = http.StatusServiceUnavailable
		}
		http.Error(w, "try again", status)
		return
	}
	if !isNew && e.Status != store.EventPending {
		log.Info("webhook duplicate dropped")
		w.Write([]byte("duplicate\n"))
		return
	}
	if p.Name() != "stripe" {
		h.processLater()
		w.WriteHeader(http.StatusAccepted)
		w.Write([]byte("accepted\n"))
		return
	}
	if claimed, err := h.claim(ctx, e, isNew); err != nil || !claimed {
		// Being processed elsewhere, or the database is busy: it is
		// stored, and will be processed either way.
		if err != nil {
			log.Warn("webhook: claim", "error", err)
		}
		h.processLater()
		w.WriteHeader(http.StatusAccepted)
		w.Write([]byte("accepted: being processed\n"))
		return
	}
	out := h.svc.ProcessEvent(ctx, p, e, h.now())
	switch out.Status {
	case store.EventPending:
		if err := h.store.RetryWebhookEvent(ctx, e.ID, out.Detail, out.RetryAt); err != nil {
			log.Error("webhook: retry later", "error", err)
		}
		if out.Err != nil {
			log.Warn("webhook: provider unavailable; asking for a redelivery", "error", out.Err)
			http.Error(w, "provider unavailable, try again", http.StatusServiceUnavailable)
			return
		}
		h.processLater() // fetched a moment ago: the worker does it shortly
		w.WriteHeader(http.StatusAccepted)
		w.Write([]byte("accepted: " + out.Detail + "\n"))
		return
	default:
		if err := h.store.FinishWebhookEvent(ctx, e.ID, out.Status, out.Detail, out.MandateID); err != nil {
			log.Error("webhook: finish", "error", err)
			http.Error(w, "try again", http.StatusInternalServerError)
			return
		}
	}
	log.Info("webhook", "status", out.Status, "mandate_id", out.MandateID, "outcome", out.Detail)
	w.Write([]byte("ok\n"))
}

// claim takes a Stripe event for this request: a new one was stored
// claimed; a redelivered one still pending is claimed now, unless another
// process holds it.
func (h *handler) claim(ctx context.Context, e store.WebhookEvent, isNew bool) (bool, error) {
	if isNew {
		return true, nil
	}
	return h.store.ClaimWebhookEvent(ctx, e.ID, webhookLease)
}

package stripesim

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"time"

	"example.com/storefront/sandbox/simkit"
)

// The events the sandbox's (implicit) webhook endpoint is subscribed to.
const (
	eventCheckoutSessionCompleted = "checkout.session.completed"
	eventCheckoutSessionExpired   = "checkout.session.expired"
	eventSetupIntentSucceeded     = "setup_intent.succeeded"
	eventSetupIntentSetupFailed   = "setup_intent.setup_failed"

	eventMandateUpdated              = "mandate.updated"
	eventPaymentMethodDetached       = "payment_method.detached"
	eventPaymentIntentCreated        = "payment_intent.created"
	eventPaymentIntentSucceeded      = "payment_intent.succeeded"
	eventPaymentIntentFailed         = "payment_intent.payment_failed"
	eventPaymentIntentProcessing     = "payment_intent.processing"
	eventPaymentIntentRequiresAction = "payment_intent.requires_action"
	eventChargeSucceeded             = "charge.succeeded"
	eventChargePending               = "charge.pending"
	eventChargeFailed                = "charge.failed"
	eventDisputeCreated              = "charge.dispute.created"
	eventDisputeClosed               = "charge.dispute.closed"
	eventChargeRefunded              = "charge.refunded"
	eventChargeRefundUpdated         = "charge.refund.updated"
	eventRefundCreated               = "refund.created"
	eventRefundUpdated               = "refund.updated"
)

// stripeEmit records a Stripe event about obj (which must be unexpanded, as
// in real events) and queues its delivery. req is the API request that
// caused it, or nil for what a shopper did on a hosted page, for which
// Stripe reports a null request id.
func (s *Sim) stripeEmit(ctx context.Context, tx *simkit.WriteTx, typ string, obj any, req *stripeRequest) error {
	return s.stripeEmitChange(ctx, tx, typ, obj, nil, req)
}

// stripeEmitChange is stripeEmit for an event about a change, which
// carries the changed fields' earlier values in data.previous_attributes,
// as Stripe's *.updated (and detached, refunded) events do.
func (s *Sim) stripeEmitChange(ctx context.Context, tx *simkit.WriteTx, typ string, obj any, previous map[string]any, req *stripeRequest) error {
	e := stripeEvent{
		ID:         simkit.NewID("evt_", 24),
		Object:     "event",
		APIVersion: stripeAPIVersion,
		Created:    s.host.Now().Unix(),
		Data:       stripeEventData{Object: obj, PreviousAttributes: previous},
		Type:       typ,
	}
	if s.host.WebhooksEnabled(Provider) {
		e.PendingWebhooks = 1
	}
	if req != nil {
		e.Request.ID = &req.id
		if req.idempotencyKey != "" {
			e.Request.IdempotencyKey = &req.idempotencyKey
		}
	}
	// Stored compact, indented on delivery (WebhookEndpoint): indenting
	// here would hold the sandbox's writer longer and store a third more.
	payload, err := stripeCompactJSON(e)
	if err != nil {
		return err
	}
	return s.host.RecordEvent(ctx, tx, simkit.Event{Provider: Provider, ID: e.ID, Type: typ, Created: e.Created, Payload: payload})
}

// WebhookEndpoint is where the Stripe part delivers its events: url, each
// attempt signed with secret ("whsec_…") as Stripe signs.
func WebhookEndpoint(url, secret string, events []string) simkit.WebhookEndpoint {
	return simkit.WebhookEndpoint{URL: url, Headers: stripeSigner(secret), Events: events, Indent: "  "}
}

// stripeSigner signs each delivery attempt as Stripe does:
// Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>.
func stripeSigner(secret string) func(payload []byte, now time.Time) http.Header {
	return func(payload []byte, now time.Time) http.Header {
		t := strconv.FormatInt(now.Unix(), 10)
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(t + "."))
		mac.Write(payload)
		h := http.Header{}
		h.Set("Stripe-Signature", "t="+t+",v1="+hex.EncodeToString(mac.Sum(nil)))
		h.Set("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
		return h
	}
}

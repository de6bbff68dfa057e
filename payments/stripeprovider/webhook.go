package stripeprovider

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/stripe/stripe-go/v76/webhook"

	"example.com/storefront/payments"
)

// ParseWebhook verifies the Stripe-Signature header and reads which setup
// the event concerns. The API-version check is skipped on purpose: events
// may come in the account's default version (stripe listen cannot pick
// 2023-10-16), and only the object's id is used, then re-fetched through
// the API in our pinned version.
func (p *Provider) ParseWebhook(r *http.Request) (payments.Event, error) {
	if p.webhookSecret == "" {
		return payments.Event{}, payments.ErrWebhooksDisabled
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return payments.Event{}, fmt.Errorf("stripe webhook: read body: %w", err)
	}
	ev, err := webhook.ConstructEventWithOptions(body, r.Header.Get("Stripe-Signature"), p.webhookSecret,
		webhook.ConstructEventOptions{IgnoreAPIVersionMismatch: true})
	if err != nil {
		return payments.Event{}, fmt.Errorf("stripe webhook: %w", err)
	}
	out := payments.Event{ID: ev.ID, Type: string(ev.Type)}
	if err := payments.CheckEvent(out); err != nil {
		return payments.Event{}, fmt.Errorf("stripe webhook: %w", err)
	}
	var obj struct {
		ID       string            `json:"id"`
		Object   string            `json:"object"`
		Metadata map[string]string `json:"metadata"`
	}
	if ev.Data != nil {
		if err := json.Unmarshal(ev.Data.Raw, &obj); err != nil {
			return payments.Event{}, fmt.Errorf("stripe webhook %s: data.object: %w", ev.ID, err)
		}
	}
	switch obj.Object {
	case "checkout.session":
		out.SetupRef = obj.ID
		out.MandateID = obj.Metadata["mandate_id"]
	case "setup_intent":
		// Our SetupIntents carry the mandate id (setup_intent_data.metadata).
		out.MandateID = obj.Metadata["mandate_id"]
	}
	return out, nil
}

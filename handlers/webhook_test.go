package handlers_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"example.com/storefront/internal/pagetest"
	"example.com/storefront/mandate"
	"example.com/storefront/store"
)

// waitStatus polls the store until the mandate reaches want.
func (e *env) waitStatus(id string, want mandate.Status) store.Mandate {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		m, err := e.Store.Mandate(context.Background(), id)
		if err != nil {
			e.t.Fatal(err)
		}
		if m.Status == want {
			return m
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("mandate %s is %s after 10 s, want %s", id, m.Status, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// webhookActivated takes a shopper through a Stripe checkout to approval
// without following the answer back, and waits for the webhook to
// activate the mandate. It returns the shopper's browser, the active
// mandate and the approval's (unfollowed) redirect back to the app.
func (e *env) webhookActivated() (*pagetest.Browser, store.Mandate, *pagetest.Page) {
	e.t.Helper()
	b := pagetest.NewBrowser(e.t)
	checkout := e.checkout(b, e.validForm(b))
	m, err := e.Store.MandateByProviderRef(context.Background(), "stripe", sessionID(checkout))
	if err != nil {
		e.t.Fatal(err)
	}
	back := e.decide(b, e.amazonPay(b, checkout), "approve").Expect(http.StatusSeeOther)
	return b, e.waitStatus(m.ID, mandate.Active), back
}

// The shopper approves and never comes back: the webhook activates the
// mandate, and a late return page changes nothing.
func TestWebhookActivatesWhenTheShopperNeverReturns(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withWebhooks)
	b := pagetest.NewBrowser(t)
	checkout := e.checkout(b, e.validForm(b))
	m, _ := e.Store.MandateByProviderRef(context.Background(), "stripe", sessionID(checkout))
	back := e.decide(b, e.amazonPay(b, checkout), "approve").Expect(http.StatusSeeOther)

	active := e.waitStatus(m.ID, mandate.Active)
	if active.PaymentMethodType != "amazon_pay" || active.PaymentMethodID == "" {
		t.Errorf("activated by webhook without the payment method: %+v", active)
	}
	h, _ := e.Store.History(context.Background(), m.ID)
	if len(h) != 2 || h[1].Source != mandate.SourceWebhook {
		t.Fatalf("history = %+v, want the activation from the webhook", h)
	}
	// The event row is marked just after the mandate moves: wait for it.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if e.count(`SELECT count(*) FROM webhook_events WHERE provider = 'stripe' AND mandate_id = ?`, m.ID) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no webhook event recorded against the mandate")
		}
	}

	// The shopper's late return shows the same outcome and changes nothing.
	page := b.Follow(back).Expect(http.StatusOK)
	if got := page.TestIDAttr("outcome", "data-status"); got != "active" {
		t.Errorf("late return shows %q", got)
	}
	if h2, _ := e.Store.History(context.Background(), m.ID); len(h2) != 2 {
		t.Errorf("late return added history: %+v", h2)
	}
}

func TestWebhookCancelsOnExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withWebhooks)
	b := pagetest.NewBrowser(t)
	checkout := e.checkout(b, e.validForm(b))
	csID := sessionID(checkout)
	m, _ := e.Store.MandateByProviderRef(context.Background(), "stripe", csID)
	if _, err := e.Stripe.CheckoutSessions.Expire(csID, nil); err != nil {
		t.Fatal(err)
	}
	got := e.waitStatus(m.ID, mandate.Canceled)
	if !strings.Contains(got.FailureReason, "expired") {
		t.Errorf("reason = %q", got.FailureReason)
	}
}

// postEvent delivers a hand-made event signed with secret.
func (e *env) postEvent(payload, secret string) (int, string) {
	e.t.Helper()
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(payload), Secret: secret})
	req, _ := http.NewRequest(http.MethodPost, e.URL+"/webhooks/stripe", strings.NewReader(payload))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Stripe-Signature", signed.Header)
	// A browser-like cross-site header must not matter: webhooks are exempt
	// from cross-origin protection and verified by signature instead.
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestWebhookVerificationAndDuplicates(t *testing.T) {
	t.Parallel()
	e := newEnv(t) // the sandbox sends nothing: every delivery here is hand-made
	b := pagetest.NewBrowser(t)
	checkout := e.checkout(b, e.validForm(b))
	csID := sessionID(checkout)
	m, _ := e.Store.MandateByProviderRef(context.Background(), "stripe", csID)
	e.decide(b, e.amazonPay(b, checkout), "approve").Expect(http.StatusSeeOther)

	event := func(id string) string {
		return fmt.Sprintf(`{"id":%q,"object":"event","api_version":"2024-06-20","type":"checkout.session.completed",`+
			`"request":null,"data":{"object":{"id":%q,"object":"checkout.session","status":"complete","metadata":{"mandate_id":%q}}}}`, id, csID, m.ID)
	}
	if code, _ := e.postEvent(event("evt_forged"), "whsec_wrong"); code != http.StatusBadRequest {
		t.Errorf("wrong signature: %d, want 400", code)
	}
	if got, _ := e.Store.Mandate(context.Background(), m.ID); got.Status != mandate.Pending {
		t.Fatalf("a forged event moved the mandate to %s", got.Status)
	}
	req, _ := http.NewRequest(http.MethodPost, e.URL+"/webhooks/stripe", strings.NewReader(event("evt_unsigned")))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unsigned: %v %v, want 400", resp.StatusCode, err)
	}

	// Signed, in another API version than stripe-go's: accepted, and the
	// status comes from the API, not the payload.
	if code, body := e.postEvent(event("evt_1"), webhookSecret); code != http.StatusOK || body != "ok\n" {
		t.Fatalf("signed event: %d %q", code, body)
	}
	got, _ := e.Store.Mandate(context.Background(), m.ID)
	if got.Status != mandate.Active || got.PaymentMethodID == "" {
		t.Fatalf("after the event: %+v", got)
	}
	if code, body := e.postEvent(event("evt_1"), webhookSecret); code != http.StatusOK || body != "duplicate\n" {
		t.Errorf("duplicate: %d %q", code, body)
	}
	// An event about something that is not ours is acknowledged and ignored.
	other := `{"id":"evt_2","object":"event","type":"checkout.session.completed","request":null,` +
		`"data":{"object":{"id":"cs_test_not_ours","object":"checkout.session","metadata":{}}}}`
	if code, _ := e.postEvent(other, webhookSecret); code != http.StatusOK {
		t.Errorf("foreign event: %d, want 200", code)
	}
	if h, _ := e.Store.History(context.Background(), m.ID); len(h) != 2 || h[1].Source != mandate.SourceWebhook {
		t.Errorf("history = %+v", h)
	}
}

// When Stripe's API is down, the webhook asks for a redelivery and the
// mandate stays pending.
func TestWebhookAsksForRedeliveryWhenStripeIsDown(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := pagetest.NewBrowser(t)
	checkout := e.checkout(b, e.validForm(b))
	csID := sessionID(checkout)
	e.decide(b, e.amazonPay(b, checkout), "approve").Expect(http.StatusSeeOther)
	payload := fmt.Sprintf(`{"id":"evt_3","object":"event","type":"checkout.session.completed","request":null,`+
		`"data":{"object":{"id":%q,"object":"checkout.session"}}}`, csID)
	e.outage.Store(upstream500)
	if code, _ := e.postEvent(payload, webhookSecret); code < 500 {
		t.Fatalf("with Stripe down: %d, want 5xx", code)
	}
	e.outage.Store(upstreamUp)
	// Stripe redelivers minutes later, long after the limit on fetching one
	// object (1 ms in these tests) has passed; on a fast machine the two
	// posts can otherwise fall within it.
	time.Sleep(10 * time.Millisecond)
	if code, body := e.postEvent(payload, webhookSecret); code != http.StatusOK || body != "ok\n" {
		t.Fatalf("redelivery: %d %q", code, body)
	}
	m, _ := e.Store.MandateByProviderRef(context.Background(), "stripe", csID)
	if m.Status != mandate.Active {
		t.Errorf("after redelivery: %s", m.Status)
	}
}

// Once the setup is decided, a setup's own events have nothing to fetch,
// and types the app does not use are acknowledged without being stored;
// an event about the payment method still asks Stripe.
func TestDecidedSetupEventsFetchNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t) // the sandbox sends nothing: every delivery here is hand-made
	m, _ := e.activeMandate("stripe")
	var calls atomic.Int32
	e.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		calls.Add(1)
		return false
	})
	for i, typ := range []string{"checkout.session.completed", "setup_intent.succeeded"} {
		obj := fmt.Sprintf(`{"id":%q,"object":"checkout.session","status":"complete","metadata":{"mandate_id":%q}}`, m.ProviderRef, m.ID)
		if typ == "setup_intent.succeeded" {
			obj = fmt.Sprintf(`{"id":"seti_x","object":"setup_intent","status":"succeeded","metadata":{"mandate_id":%q}}`, m.ID)
		}
		ev := fmt.Sprintf(`{"id":"evt_setup_%d","object":"event","type":%q,"request":null,"data":{"object":%s}}`, i, typ, obj)
		if code, body := e.postEvent(ev, webhookSecret); code != http.StatusOK || body != "ok\n" {
			t.Fatalf("%s: %d %q", typ, code, body)
		}
	}
	unused := `{"id":"evt_created","object":"event","type":"payment_intent.created","request":null,` +
		`"data":{"object":{"id":"pi_x","object":"payment_intent","metadata":{}}}}`
	if code, body := e.postEvent(unused, webhookSecret); code != http.StatusOK || body != "ignored\n" {
		t.Fatalf("payment_intent.created: %d %q, want 200 ignored", code, body)
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("%d calls to Stripe for events with nothing to fetch", n)
	}
	if n := e.count(`SELECT count(*) FROM webhook_events WHERE event_id = 'evt_created'`); n != 0 {
		t.Errorf("an unused event type was stored (%d rows)", n)
	}
	detached := fmt.Sprintf(`{"id":"evt_pm","object":"event","type":"payment_method.detached","request":null,`+
		`"data":{"object":{"id":%q,"object":"payment_method"}}}`, m.PaymentMethodID)
	if code, _ := e.postEvent(detached, webhookSecret); code != http.StatusOK {
		t.Fatalf("payment_method.detached: %d", code)
	}
	if calls.Load() == 0 {
		t.Error("payment_method.detached did not ask Stripe about the mandate's standing")
	}
}

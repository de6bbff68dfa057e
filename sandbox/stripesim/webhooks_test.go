package stripesim_test

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"
	_ "modernc.org/sqlite" // reads the sandbox's database

	"example.com/storefront/sandbox"
)

const testWebhookSecret = "whsec_sandbox_test_secret"

// receiver is the app's webhook endpoint, as far as the sandbox can tell:
// it verifies each delivery with stripe-go and can refuse the first
// attempts of every event.
type receiver struct {
	srv    *httptest.Server
	events chan stripe.Event
	errs   chan error

	mu        sync.Mutex
	failFirst int               // attempts to refuse, per event
	attempts  map[string]int    // by event id
	bodies    map[string][]byte // the last body received, by event id
}

func newReceiver(t *testing.T, failFirst int) *receiver {
	t.Helper()
	r := &receiver{
		events:    make(chan stripe.Event, 64),
		errs:      make(chan error, 64),
		failFirst: failFirst,
		attempts:  map[string]int{},
		bodies:    map[string][]byte{},
	}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			r.errs <- err
			return
		}
		ev, err := webhook.ConstructEvent(body, req.Header.Get("Stripe-Signature"), testWebhookSecret)
		if err != nil {
			r.errs <- err
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.attempts[ev.ID]++
		r.bodies[ev.ID] = body
		refuse := r.attempts[ev.ID] <= r.failFirst
		r.mu.Unlock()
		if refuse {
			http.Error(w, "not now", http.StatusInternalServerError)
			return
		}
		r.events <- ev
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// testRetryAfter shortens the wait before a retry, so that retries are
// seen in milliseconds.
const testRetryAfter = 50 * time.Millisecond

func (r *receiver) config(c *sandbox.Config) {
	c.Stripe.WebhookURL = r.srv.URL + "/webhooks/stripe"
	c.Stripe.WebhookSecret = testWebhookSecret
	c.WebhookRetryAfter = testRetryAfter
}

func (r *receiver) attemptsFor(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.attempts[id]
}

func (r *receiver) totalAttempts() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, a := range r.attempts {
		n += a
	}
	return n
}

func (r *receiver) setFailFirst(n int) {
	r.mu.Lock()
	r.failFirst = n
	r.mu.Unlock()
}

// next waits for the next verified event.
func (r *receiver) next(t *testing.T) stripe.Event {
	t.Helper()
	select {
	case ev := <-r.events:
		return ev
	case err := <-r.errs:
		t.Fatalf("delivery failed verification: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("no webhook delivered within 10 s")
	}
	return stripe.Event{}
}

// collect collects n distinct events and returns them by type. Delivery
// is at least once: an event delivered as the sandbox closed, before its
// delivery was recorded, is delivered again after it reopens, and counts
// once here.
func (r *receiver) collect(t *testing.T, n int) map[stripe.EventType]stripe.Event {
	t.Helper()
	byType := map[stripe.EventType]stripe.Event{}
	seen := map[string]bool{}
	for len(seen) < n {
		ev := r.next(t)
		if !seen[ev.ID] {
			seen[ev.ID] = true
			byType[ev.Type] = ev
		}
	}
	return byType
}

func (r *receiver) none(t *testing.T, wait time.Duration) {
	t.Helper()
	select {
	case ev := <-r.events:
		t.Errorf("unexpected event %s", ev.Type)
	case <-time.After(wait):
	}
}

func decode[T any](t *testing.T, ev stripe.Event) (*T, map[string]any) {
	t.Helper()
	obj := new(T)
	if err := json.Unmarshal(ev.Data.Raw, obj); err != nil {
		t.Fatalf("decode %s: %v", ev.Type, err)
	}
	var raw map[string]any
	if err := json.Unmarshal(ev.Data.Raw, &raw); err != nil {
		t.Fatalf("decode %s: %v", ev.Type, err)
	}
	return obj, raw
}

func TestWebhooksOnApproval(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, 0)
	e := newEnv(t, rcv.config)
	_, cs := e.newFlow()
	res := e.Post(e.chooseAmazonPay(cs), url.Values{"decision": {"approve"}})
	wantStatus(t, res, http.StatusSeeOther)

	events := rcv.collect(t, 2)
	completed, ok := events["checkout.session.completed"]
	if !ok {
		t.Fatalf("events %v lack checkout.session.completed", events)
	}
	if completed.APIVersion != "2023-10-16" || completed.Object != "event" || !strings.HasPrefix(completed.ID, "evt_") {
		t.Errorf("event envelope: version %q object %q id %q", completed.APIVersion, completed.Object, completed.ID)
	}
	if completed.Request == nil || completed.Request.ID != "" {
		t.Errorf("request = %+v, want an object with a null id (the shopper acted, not the API)", completed.Request)
	}
	session, raw := decode[stripe.CheckoutSession](t, completed)
	if session.ID != cs.ID || session.Status != stripe.CheckoutSessionStatusComplete {
		t.Errorf("session %s status %s", session.ID, session.Status)
	}
	if got, want := raw["setup_intent"], cs.SetupIntent.ID; got != want {
		t.Errorf("data.object.setup_intent = %v, want the id %s (unexpanded)", got, want)
	}

	succeeded, ok := events["setup_intent.succeeded"]
	if !ok {
		t.Fatalf("events %v lack setup_intent.succeeded", events)
	}
	si, _ := decode[stripe.SetupIntent](t, succeeded)
	if si.ID != cs.SetupIntent.ID || si.Status != stripe.SetupIntentStatusSucceeded || !strings.HasPrefix(si.PaymentMethod.ID, "pm_") {
		t.Errorf("setup intent %s status %s payment method %+v", si.ID, si.Status, si.PaymentMethod)
	}
}

func TestWebhookOnDecline(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, 0)
	e := newEnv(t, rcv.config)
	_, cs := e.newFlow()
	wantStatus(t, e.Post(e.chooseAmazonPay(cs), url.Values{"decision": {"decline"}}), http.StatusSeeOther)

	ev := rcv.next(t)
	if ev.Type != "setup_intent.setup_failed" {
		t.Fatalf("event %s, want setup_intent.setup_failed", ev.Type)
	}
	si, _ := decode[stripe.SetupIntent](t, ev)
	if si.Status != stripe.SetupIntentStatusRequiresPaymentMethod || si.LastSetupError == nil ||
		si.LastSetupError.Code != stripe.ErrorCodeSetupIntentAuthenticationFailure {
		t.Errorf("setup intent %s last_setup_error %+v", si.Status, si.LastSetupError)
	}
	rcv.none(t, 200*time.Millisecond)
}

func TestWebhookOnCardSuccess(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, 0)
	e := newEnv(t, rcv.config)
	_, cs := e.newFlow()
	wantStatus(t, e.Post(checkoutPath(cs), url.Values{"method": {"card"}, "card_number": {"4242424242424242"}}), http.StatusSeeOther)
	events := rcv.collect(t, 2)
	for _, typ := range []stripe.EventType{"checkout.session.completed", "setup_intent.succeeded"} {
		if _, ok := events[typ]; !ok {
			t.Errorf("no %s event", typ)
		}
	}
}

func TestWebhooksOnExpiry(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, 0)
	e := newEnv(t, rcv.config)

	// Expired through the API: the event names the request.
	_, cs := e.newFlow()
	p := &stripe.CheckoutSessionExpireParams{}
	p.SetIdempotencyKey("expire-1")
	expired, err := e.api.CheckoutSessions.Expire(cs.ID, p)
	if err != nil {
		t.Fatal(err)
	}
	ev := rcv.next(t)
	if ev.Type != "checkout.session.expired" {
		t.Fatalf("event %s, want checkout.session.expired", ev.Type)
	}
	if ev.Request == nil || ev.Request.ID != expired.LastResponse.RequestID || ev.Request.IdempotencyKey != "expire-1" {
		t.Errorf("request = %+v, want %s / expire-1", ev.Request, expired.LastResponse.RequestID)
	}

	// Expired lazily, when read after expires_at.
	_, cs2 := e.newFlow()
	e.Clock.Advance(25 * time.Hour)
	e.getSession(cs2.ID)
	ev = rcv.next(t)
	session, _ := decode[stripe.CheckoutSession](t, ev)
	if ev.Type != "checkout.session.expired" || session.ID != cs2.ID || session.Status != stripe.CheckoutSessionStatusExpired {
		t.Errorf("event %s for %s (%s), want checkout.session.expired for %s", ev.Type, session.ID, session.Status, cs2.ID)
	}
	e.getSession(cs2.ID) // a second read expires nothing more
	rcv.none(t, 200*time.Millisecond)
}

func TestWebhookRetriedUntilAccepted(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, 2)
	e := newEnv(t, rcv.config)
	_, cs := e.newFlow()
	if _, err := e.api.CheckoutSessions.Expire(cs.ID, nil); err != nil {
		t.Fatal(err)
	}
	ev := rcv.next(t)
	if ev.Type != "checkout.session.expired" {
		t.Fatalf("event %s", ev.Type)
	}
	if got, want := rcv.attemptsFor(ev.ID), 3; got != want {
		t.Errorf("delivered on attempt %d, want %d (two refusals first)", got, want)
	}
}

func TestCloseStopsRetriesAndNewResumesThem(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, 100)
	e := newEnv(t, rcv.config)
	_, cs := e.newFlow()
	if _, err := e.api.CheckoutSessions.Expire(cs.ID, nil); err != nil {
		t.Fatal(err)
	}
	// Retries wait 1, 2, then 4 times testRetryAfter.
	deadline := time.Now().Add(10 * time.Second)
	for rcv.totalAttempts() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d attempts within 10 s", rcv.totalAttempts())
		}
		time.Sleep(20 * time.Millisecond)
	}
	start := time.Now()
	if err := e.Sandbox.Close(); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("Close took %v: it waited for a retry instead of cancelling it", took)
	}
	time.Sleep(3 * 4 * testRetryAfter) // three times the wait the next retry had
	if got, want := rcv.totalAttempts(), 3; got != want {
		t.Errorf("%d attempts after Close, want %d", got, want)
	}

	// The delivery is still pending in the database; the next run resumes it.
	rcv.setFailFirst(0)
	e.Open()
	ev := rcv.next(t)
	if ev.Type != "checkout.session.expired" || rcv.attemptsFor(ev.ID) != 4 {
		t.Errorf("resumed delivery: %s on attempt %d, want checkout.session.expired on attempt 4", ev.Type, rcv.attemptsFor(ev.ID))
	}
}

// An endpoint subscribed to some types (Stripe's enabled_events) is sent
// only those.
func TestWebhooksOnlyOfTheSubscribedTypes(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, 0)
	e := newEnv(t, rcv.config, func(c *sandbox.Config) { c.Stripe.WebhookEvents = []string{"setup_intent.succeeded"} })
	_, cs := e.newFlow()
	wantStatus(t, e.Post(e.chooseAmazonPay(cs), url.Values{"decision": {"approve"}}), http.StatusSeeOther)
	if ev := rcv.next(t); ev.Type != "setup_intent.succeeded" {
		t.Errorf("delivered %s, want setup_intent.succeeded only", ev.Type)
	}
	rcv.none(t, 300*time.Millisecond)
}

// Stripe sends its webhook bodies indented. The sandbox stores each event
// compact (less to write while it holds its one writer) and indents it on
// delivery, signing what it sends (the receiver verifies the signature
// over the bytes it got).
func TestWebhookBodiesGoIndentedAndAreStoredCompact(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, 0)
	e := newEnv(t, rcv.config)
	_, cs := e.newFlow()
	wantStatus(t, e.Post(e.chooseAmazonPay(cs), url.Values{"decision": {"approve"}}), http.StatusSeeOther)
	events := rcv.collect(t, 2)

	db, err := sql.Open("sqlite", "file:"+e.Cfg.DBPath+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, ev := range events {
		rcv.mu.Lock()
		body := rcv.bodies[ev.ID]
		rcv.mu.Unlock()
		var compact, indented bytes.Buffer
		if err := json.Compact(&compact, body); err != nil {
			t.Fatalf("%s: %v", ev.ID, err)
		}
		json.Indent(&indented, compact.Bytes(), "", "  ")
		if !bytes.Equal(body, indented.Bytes()) {
			t.Errorf("event %s was sent as\n%s\nwant it indented by two spaces, as Stripe sends it", ev.ID, body)
		}
		var stored []byte
		if err := db.QueryRow(`SELECT payload FROM events WHERE id = ?`, ev.ID).Scan(&stored); err != nil {
			t.Fatalf("%s: %v", ev.ID, err)
		}
		if !bytes.Equal(stored, compact.Bytes()) {
			t.Errorf("event %s is stored as\n%s\nwant the compact form of what was sent", ev.ID, stored)
		}
	}
}

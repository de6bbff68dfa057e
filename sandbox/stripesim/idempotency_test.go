package stripesim_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"example.com/storefront/sandbox"
	"example.com/storefront/sandbox/stripesim"
)

// Idempotency keys as Stripe documents them: a key in use by a running
// request is answered 409, a request that failed while it ran is replayed
// with its 500, and keys expire after 24 hours of the sandbox's clock.

// chargeWithKey charges s off-session with an idempotency key.
func (e *env) chargeWithKey(s saved, amount int64, key string) (*stripe.PaymentIntent, error) {
	p := chargeParams(s, amount)
	p.SetIdempotencyKey(key)
	return e.api.PaymentIntents.New(p)
}

// paymentIntentCount is how many PaymentIntents the customer of s has.
func (e *env) paymentIntentCount(s saved) int {
	e.t.Helper()
	it := e.api.PaymentIntents.List(&stripe.PaymentIntentListParams{Customer: stripe.String(s.customer.ID)})
	n := 0
	for it.Next() {
		n++
	}
	if it.Err() != nil {
		e.t.Fatal(it.Err())
	}
	return n
}

func TestIdempotencyKeyInUse(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.saveAmazonPay()
	const hold = time.Second
	e.Sandbox.StripeSim().SetSettings(stripesim.Settings{InFlight: hold})

	type result struct {
		pi  *stripe.PaymentIntent
		err error
	}
	first := make(chan result, 1)
	go func() {
		pi, err := e.chargeWithKey(s, 1000, "charge-17")
		first <- result{pi, err}
	}()
	time.Sleep(hold / 4) // the first request's work is done; it has not answered yet

	started := time.Now()
	_, err := e.chargeWithKey(s, 1000, "charge-17")
	wantStripeError(t, err, http.StatusConflict, stripe.ErrorTypeIdempotency, stripe.ErrorCodeIdempotencyKeyInUse, "")
	if waited := time.Since(started); waited > hold/2 {
		t.Errorf("the 409 took %v: it waited for the first request", waited)
	}
	// Another key is not held up by the running request... beyond its own
	// hold.
	if _, err := e.chargeWithKey(s, 1000, "charge-18"); err != nil {
		t.Errorf("another key: %v", err)
	}

	r := <-first
	if r.err != nil {
		t.Fatalf("first request: %v", r.err)
	}
	again, err := e.chargeWithKey(s, 1000, "charge-17")
	if err != nil || again.ID != r.pi.ID || again.LastResponse.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("after it answered: %v, %v; want the replay of %s", again, err, r.pi.ID)
	}
	if n := e.paymentIntentCount(s); n != 2 {
		t.Errorf("%d payment intents, want 2 (charge-17 once, charge-18)", n)
	}
}

// With HoldBefore a request waits with its key reserved before it does
// anything: meanwhile Stripe holds no payment and the key is in use; then
// it runs and answers, once.
func TestHoldBeforeRunsNothingYet(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.saveAmazonPay()
	const hold = time.Second
	e.Sandbox.StripeSim().SetSettings(stripesim.Settings{HoldBefore: hold})

	first := make(chan *stripe.PaymentIntent, 1)
	go func() {
		pi, err := e.chargeWithKey(s, 1000, "charge-1")
		if err != nil {
			t.Errorf("first request: %v", err)
		}
		first <- pi
	}()
	time.Sleep(hold / 4)
	if n := e.paymentIntentCount(s); n != 0 {
		t.Errorf("%d payment intents while the request waits, want 0", n)
	}
	_, err := e.chargeWithKey(s, 1000, "charge-1")
	wantStripeError(t, err, http.StatusConflict, stripe.ErrorTypeIdempotency, stripe.ErrorCodeIdempotencyKeyInUse, "")

	pi := <-first
	if pi == nil || pi.Status != stripe.PaymentIntentStatusSucceeded {
		t.Fatalf("first request answered %v, want a succeeded payment", pi)
	}
	if n := e.paymentIntentCount(s); n != 1 {
		t.Errorf("%d payment intents after the request ran, want 1", n)
	}
}

// With APILatency the answer is held after the request has finished: a
// retry meanwhile replays it, as Stripe's would after a network delay.
func TestIdempotencyReplayWhileAnswerIsDelayed(t *testing.T) {
	t.Parallel()
	const latency = time.Second
	e := newEnv(t, func(c *sandbox.Config) { c.APILatency = latency })
	s := e.saveAmazonPay()
	first := make(chan *stripe.PaymentIntent, 1)
	go func() {
		pi, err := e.chargeWithKey(s, 1000, "charge-1")
		if err != nil {
			t.Errorf("first request: %v", err)
		}
		first <- pi
	}()
	time.Sleep(latency / 4)
	again, err := e.chargeWithKey(s, 1000, "charge-1")
	if err != nil || again.LastResponse.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry while the answer is held: %v, %v; want a replay", again, err)
	}
	if pi := <-first; pi == nil || pi.ID != again.ID {
		t.Errorf("replayed %s, first answered %v", again.ID, pi)
	}
}

func TestFailNextStoredAndReplayed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.saveAmazonPay()
	e.Sandbox.StripeSim().SetSettings(stripesim.Settings{FailNext: 1})

	_, err := e.chargeWithKey(s, 1000, "charge-1")
	wantStripeError(t, err, http.StatusInternalServerError, stripe.ErrorTypeAPI, "", "")
	if got := e.Sandbox.StripeSim().Settings().FailNext; got != 0 {
		t.Errorf("FailNext %d after one failure, want 0", got)
	}
	if n := e.paymentIntentCount(s); n != 0 {
		t.Errorf("%d payment intents after the failed request, want 0 (its work is undone)", n)
	}
	// The same key replays the stored 500, however often.
	for range 2 {
		_, err = e.chargeWithKey(s, 1000, "charge-1")
		se := wantStripeError(t, err, http.StatusInternalServerError, stripe.ErrorTypeAPI, "", "")
		if se.LastResponse == nil || se.LastResponse.Header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("retry with the key: not a replay")
		}
	}
	if n := e.paymentIntentCount(s); n != 0 {
		t.Errorf("%d payment intents after the replays, want 0", n)
	}
	// A new key runs.
	if pi, err := e.chargeWithKey(s, 1000, "charge-1-retry"); err != nil || pi.Status != stripe.PaymentIntentStatusSucceeded {
		t.Errorf("new key: %v, %v", pi, err)
	}
	// A request refused by validation does not use one up.
	e.Sandbox.StripeSim().SetSettings(stripesim.Settings{FailNext: 1})
	if _, err := e.chargeWithKey(s, 10, "too-small"); err == nil {
		t.Fatal("10 cents was accepted")
	}
	if got := e.Sandbox.StripeSim().Settings().FailNext; got != 1 {
		t.Errorf("FailNext %d after a refused request, want 1", got)
	}
}

func TestIdempotencyKeysExpireAfter24HoursOfTheSandboxClock(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.saveAmazonPay()
	first, err := e.chargeWithKey(s, 1000, "charge-1")
	if err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(23*time.Hour + 59*time.Minute)
	if again, err := e.chargeWithKey(s, 1000, "charge-1"); err != nil || again.ID != first.ID {
		t.Errorf("just under 24 h later: %v, %v; want the replay of %s", again, err, first.ID)
	}
	e.Clock.Advance(2 * time.Minute)
	again, err := e.chargeWithKey(s, 1000, "charge-1")
	if err != nil || again.ID == first.ID || again.LastResponse.Header.Get("Idempotent-Replayed") != "" {
		t.Errorf("over 24 h later: %v, %v; want a new payment intent", again, err)
	}
	if n := e.paymentIntentCount(s); n != 2 {
		t.Errorf("%d payment intents, want 2", n)
	}
}

// A request whose caller gives up while its work runs still ends as at
// Stripe: its work is done once and its answer kept under the key, so the
// resend gets that answer, not a stored 500. The sandbox's clock cancels
// the request's context as the work reads the time after reserving the key.
func TestCallerGivingUpMidRequestKeepsTheAnswer(t *testing.T) {
	t.Parallel()
	var (
		mu     sync.Mutex
		cancel context.CancelFunc // the armed request's
		reads  int                // clock reads since it was armed
	)
	var now func() time.Time
	e := newEnv(t, func(c *sandbox.Config) {
		now = c.Now
		c.Now = func() time.Time {
			mu.Lock()
			if cancel != nil {
				if reads++; reads == 2 { // the key is reserved: the work has begun
					cancel()
				}
			}
			mu.Unlock()
			return now()
		}
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Test-Give-Up") != "" {
			ctx, c := context.WithCancel(r.Context())
			mu.Lock()
			cancel, reads = c, 0
			mu.Unlock()
			r = r.WithContext(ctx)
		}
		e.Sandbox.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	create := func(giveUp bool) (*http.Response, string) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/sandbox/stripe/v1/customers",
			strings.NewReader(url.Values{"email": {"ada@example.com"}}.Encode()))
		req.Header.Set("Authorization", "Bearer "+testKey)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Idempotency-Key", "customer-1")
		if giveUp {
			req.Header.Set("X-Test-Give-Up", "yes")
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var c struct {
			ID string `json:"id"`
		}
		json.NewDecoder(res.Body).Decode(&c)
		return res, c.ID
	}
	_, firstID := create(true)
	mu.Lock()
	fired := reads >= 2
	mu.Unlock()
	if !fired {
		t.Fatal("the request's work never read the clock twice: the test gave up nothing")
	}
	again, id := create(false)
	if again.StatusCode != http.StatusOK || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("resend: %d, replayed %q; want the first request's 200, replayed", again.StatusCode, again.Header.Get("Idempotent-Replayed"))
	}
	if id == "" || id != firstID {
		t.Errorf("the resend names customer %q, the first request %q: want the same one", id, firstID)
	}
	if _, err := e.api.Customers.Get(id, nil); err != nil {
		t.Errorf("the customer made before the caller gave up: %v", err)
	}
}

// A keyed request that runs whole in one transaction writes its key once,
// with its answer (a reservation grown into the answer split a page of the
// table each time); only a request held in flight reserves the key first,
// for others to see, and then completes it.
func TestIdempotencyKeyWrittenOnceWithItsAnswer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.saveAmazonPay()
	writes := e.KeyWrites()

	first, err := e.chargeWithKey(s, 1000, "charge-once")
	if err != nil {
		t.Fatal(err)
	}
	if got := writes("charge-once"); got != "insert" {
		t.Errorf("a request run whole wrote its key as %q, want one insert", got)
	}
	again, err := e.chargeWithKey(s, 1000, "charge-once")
	if err != nil || again.ID != first.ID || again.LastResponse.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("the resend: %v, %v; want the replay of %s", again, err, first.ID)
	}
	if got := writes("charge-once"); got != "insert" {
		t.Errorf("after a replay the key was written as %q, want the one insert", got)
	}

	e.Sandbox.StripeSim().SetSettings(stripesim.Settings{InFlight: 50 * time.Millisecond})
	if _, err := e.chargeWithKey(s, 1000, "charge-held"); err != nil {
		t.Fatal(err)
	}
	if got := writes("charge-held"); got != "insert update" {
		t.Errorf("a request held in flight wrote its key as %q, want its reservation, then its answer", got)
	}
}

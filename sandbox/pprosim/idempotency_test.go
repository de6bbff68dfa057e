package pprosim_test

import (
	"net/http"
	"testing"
	"time"

	"example.com/storefront/sandbox/pprosim"
)

// A second request with a key whose first request is still in flight is
// answered 409, as PPRO's OpenAPI documents for the refunds endpoint;
// once the first is done, the key replays its answer.
func TestPPROIdempotencyKeyInFlight(t *testing.T) {
	t.Parallel()
	e := newPPROEnv(t)
	chargeID := str(t, e.chargeAgreement(e.activeAgreement(), 1200), "id")
	e.configure(func(s *pprosim.Settings) { s.Processing = 2 * time.Second })
	key := http.Header{"Request-Idempotency-Key": {"4d0f3c1e-in-flight"}}

	// Two at once: whichever reserves the key first works for 2 s, and
	// the other is told it is in flight.
	answers := make(chan apiResponse, 2)
	for range 2 {
		go func() { answers <- e.refund(chargeID, 400, nil, key) }()
	}
	a1, a2 := <-answers, <-answers
	if a1.Status == http.StatusConflict {
		a1, a2 = a2, a1
	}
	r := a1
	wantAPIStatus(t, r, http.StatusOK)
	wantException(t, a2, http.StatusConflict, "Request-Idempotency-Key", "still being processed")
	e.configure(func(s *pprosim.Settings) { s.Processing = 0 })
	replay := e.refund(chargeID, 400, nil, key)
	wantAPIStatus(t, replay, http.StatusOK)
	if replay.Header.Get("Request-Idempotency") != "true" || string(replay.raw) != string(r.raw) {
		t.Errorf("after the first finished: %s (Request-Idempotency %q), want its answer %s",
			replay.raw, replay.Header.Get("Request-Idempotency"), r.raw)
	}
	if n := len(list(t, e.getCharge(chargeID), "refunds")); n != 1 {
		t.Errorf("%d refunds, want 1", n)
	}
}

// A refused request (4xx) gives its key back even after being in flight.
func TestPPROIdempotencyRefusedReleasesKey(t *testing.T) {
	t.Parallel()
	e := newPPROEnv(t)
	chargeID := str(t, e.chargeAgreement(e.activeAgreement(), 1200), "id")
	e.configure(func(s *pprosim.Settings) { s.Processing = 10 * time.Millisecond })
	key := http.Header{"Request-Idempotency-Key": {"refused-then-used"}}
	wantAPIStatus(t, e.refund(chargeID, 5000, nil, key), http.StatusBadRequest)
	ok := e.refund(chargeID, 500, nil, key)
	wantAPIStatus(t, ok, http.StatusOK)
	if ok.Header.Get("Request-Idempotency") != "" {
		t.Error("the refused request's key replayed")
	}
}

// Keys live 24 hours on the sandbox's clock: after that the same key
// makes a new refund.
func TestPPROIdempotencyKeysExpire(t *testing.T) {
	t.Parallel()
	e := newPPROEnv(t)
	chargeID := str(t, e.chargeAgreement(e.activeAgreement(), 1200), "id")
	key := http.Header{"Request-Idempotency-Key": {"day-old"}}
	first := e.refund(chargeID, 100, nil, key)
	wantAPIStatus(t, first, http.StatusOK)

	e.Clock.Advance(24*time.Hour - time.Second)
	replay := e.refund(chargeID, 100, nil, key)
	if replay.Header.Get("Request-Idempotency") != "true" || str(t, replay.Body, "id") != str(t, first.Body, "id") {
		t.Fatalf("within 24 h: %s, want the replay of %s", replay.raw, first.raw)
	}
	e.Clock.Advance(time.Second)
	fresh := e.refund(chargeID, 100, nil, key)
	wantAPIStatus(t, fresh, http.StatusOK)
	if fresh.Header.Get("Request-Idempotency") != "" || str(t, fresh.Body, "id") == str(t, first.Body, "id") {
		t.Errorf("after 24 h: %s, want a new refund", fresh.raw)
	}
	if n := len(list(t, e.getCharge(chargeID), "refunds")); n != 2 {
		t.Errorf("%d refunds, want 2", n)
	}
}

// A keyed request that runs whole in one transaction writes its key once,
// with its answer, and a refused one writes nothing under it; only a
// request held in flight reserves the key first, for others to see, and
// then completes it.
func TestPPROIdempotencyKeyWrittenOnceWithItsAnswer(t *testing.T) {
	t.Parallel()
	e := newPPROEnv(t)
	chargeID := str(t, e.chargeAgreement(e.activeAgreement(), 1200), "id")
	writes := e.KeyWrites()

	refused := http.Header{"Request-Idempotency-Key": {"refused-at-once"}}
	wantAPIStatus(t, e.refund(chargeID, 5000, nil, refused), http.StatusBadRequest)
	if got := writes("refused-at-once"); got != "" {
		t.Errorf("a refused request wrote its key as %q, want nothing", got)
	}
	wantAPIStatus(t, e.refund(chargeID, 100, nil, refused), http.StatusOK)

	once := http.Header{"Request-Idempotency-Key": {"refund-once"}}
	wantAPIStatus(t, e.refund(chargeID, 100, nil, once), http.StatusOK)
	if got := writes("refund-once"); got != "insert" {
		t.Errorf("a request run whole wrote its key as %q, want one insert", got)
	}

	e.configure(func(s *pprosim.Settings) { s.Processing = 10 * time.Millisecond })
	held := http.Header{"Request-Idempotency-Key": {"refund-held"}}
	wantAPIStatus(t, e.refund(chargeID, 100, nil, held), http.StatusOK)
	if got := writes("refund-held"); got != "insert update" {
		t.Errorf("a request held in flight wrote its key as %q, want its reservation, then its answer", got)
	}
}

package simkit_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"example.com/storefront/sandbox/simkit"
)

// The key's life as both providers use it: reserved while its first
// request runs, completed with the answer, released when nothing was
// stored, forgotten after 24 hours of the sandbox's clock, and a
// reservation a crashed run left dropped at the next start.
func TestIdempotencyReservation(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sandbox.db")
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	open := func() *simkit.Host {
		h, err := simkit.Open(ctx, simkit.Config{DBPath: path, PublicURL: "http://127.0.0.1/sandbox", Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	h := open()
	type answer struct {
		rec      *simkit.IdempotencyRecord
		inFlight bool
	}
	reserve := func(key string) answer {
		t.Helper()
		var a answer
		if err := h.Write(ctx, func(tx *simkit.WriteTx) error {
			var err error
			a.rec, a.inFlight, err = simkit.ReserveIdempotency(ctx, tx, "stripe", "scope", key, "fp", now)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return a
	}
	write := func(fn func(tx *simkit.WriteTx) error) {
		t.Helper()
		if err := h.Write(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}

	if a := reserve("k1"); a.rec != nil || a.inFlight {
		t.Fatalf("first reservation: %+v", a)
	}
	if a := reserve("k1"); a.rec != nil || !a.inFlight {
		t.Errorf("while it runs: %+v, want in flight", a)
	}
	write(func(tx *simkit.WriteTx) error {
		return simkit.StoreIdempotency(ctx, tx, "stripe", "scope", "k1",
			simkit.IdempotencyRecord{Fingerprint: "fp", StatusCode: 500, Body: []byte(`{}`), RequestID: "req_1"}, now.Add(time.Minute))
	})
	if a := reserve("k1"); a.inFlight || a.rec == nil || a.rec.StatusCode != 500 || a.rec.RequestID != "req_1" {
		t.Errorf("after it stored its answer: %+v", a)
	}
	// Releasing a completed key changes nothing.
	write(func(tx *simkit.WriteTx) error { return simkit.ReleaseIdempotency(ctx, tx, "stripe", "scope", "k1") })
	if a := reserve("k1"); a.rec == nil {
		t.Error("release dropped a completed record")
	}

	reserve("k2")
	write(func(tx *simkit.WriteTx) error { return simkit.ReleaseIdempotency(ctx, tx, "stripe", "scope", "k2") })
	if a := reserve("k2"); a.rec != nil || a.inFlight {
		t.Errorf("after a release: %+v, want a new reservation", a)
	}

	// 24 hours from the first request (not from its answer), on the
	// sandbox's clock.
	now = now.Add(24*time.Hour - time.Second)
	if a := reserve("k1"); a.rec == nil {
		t.Error("forgotten before 24 hours")
	}
	now = now.Add(time.Second)
	if a := reserve("k1"); a.rec != nil || a.inFlight {
		t.Errorf("after 24 hours: %+v, want a new reservation", a)
	}

	// A restart drops what the last run left running (k1 and k2 now).
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	h = open()
	defer h.Close()
	for _, k := range []string{"k1", "k2"} {
		if a := reserve(k); a.rec != nil || a.inFlight {
			t.Errorf("%s after a restart: %+v, want a new reservation", k, a)
		}
	}
}

// A request that runs whole in one transaction (the common case) looks its
// key up and stores its answer there: nothing is written under the key
// before the answer, and the key's 24 hours start with it.
func TestIdempotencyLookupThenComplete(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	h, err := simkit.Open(ctx, simkit.Config{DBPath: filepath.Join(t.TempDir(), "sandbox.db"),
		PublicURL: "http://127.0.0.1/sandbox", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	lookup := func(key string) (*simkit.IdempotencyRecord, bool) {
		t.Helper()
		var rec *simkit.IdempotencyRecord
		var inFlight bool
		if err := h.Write(ctx, func(tx *simkit.WriteTx) error {
			var err error
			rec, inFlight, err = simkit.LookupIdempotency(ctx, tx, "stripe", "scope", key, now)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return rec, inFlight
	}
	if err := h.Write(ctx, func(tx *simkit.WriteTx) error {
		if rec, inFlight, err := simkit.LookupIdempotency(ctx, tx, "stripe", "scope", "k1", now); err != nil || rec != nil || inFlight {
			t.Errorf("a new key: %+v, %v, %v", rec, inFlight, err)
		}
		return simkit.CompleteIdempotency(ctx, tx, "stripe", "scope", "k1",
			simkit.IdempotencyRecord{Fingerprint: "fp", StatusCode: 200, Body: []byte(`{"id":"pi_1"}`), RequestID: "req_1"}, now)
	}); err != nil {
		t.Fatal(err)
	}
	if rec, inFlight := lookup("k1"); inFlight || rec == nil || rec.StatusCode != 200 || string(rec.Body) != `{"id":"pi_1"}` || rec.RequestID != "req_1" {
		t.Errorf("after the answer: %+v, in flight %v", rec, inFlight)
	}

	// A request that failed stored nothing: its transaction rolled back,
	// and the key is free.
	failed := errors.New("refused")
	if err := h.Write(ctx, func(tx *simkit.WriteTx) error {
		if _, _, err := simkit.LookupIdempotency(ctx, tx, "stripe", "scope", "k2", now); err != nil {
			return err
		}
		return failed
	}); !errors.Is(err, failed) {
		t.Fatalf("Write: %v", err)
	}
	if rec, inFlight := lookup("k2"); rec != nil || inFlight {
		t.Errorf("after a failed request: %+v, in flight %v; want the key free", rec, inFlight)
	}

	now = now.Add(24*time.Hour - time.Second)
	if rec, _ := lookup("k1"); rec == nil {
		t.Error("forgotten before 24 hours")
	}
	now = now.Add(time.Second)
	if rec, inFlight := lookup("k1"); rec != nil || inFlight {
		t.Errorf("after 24 hours: %+v, in flight %v; want the key free", rec, inFlight)
	}
}

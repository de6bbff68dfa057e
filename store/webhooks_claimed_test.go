package store

import (
	"context"
	"example.com/storefront/internal/dbtest"
	"testing"
	"time"

	"example.com/storefront/clock"
	"example.com/storefront/payments"
)

// A Stripe event its request processes itself is stored already claimed:
// the worker cannot take it between the insert and the request's own
// claim (the request then answered "being processed" for an event nobody
// else had), until the request's lease has passed in real time. A
// redelivery of it is not claimed by the insert.
func TestStoreWebhookEventClaimedHoldsItForTheRequest(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		ctx := context.Background()
		real := clock.Stopped(time.Date(2027, 3, 10, 9, 0, 0, 0, time.UTC))
		s, err := Open(ctx, db.New(t), real.Now, LeaseClock(real.Now))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		ev := payments.Event{ID: "evt_1", Type: "mandate.updated"}
		e, claimed, err := s.StoreWebhookEventClaimed(ctx, "stripe", ev, time.Minute)
		if err != nil || !claimed || e.Status != EventPending {
			t.Fatalf("stored: %+v, claimed %v, %v", e, claimed, err)
		}
		if got, err := s.ClaimWebhookEvents(ctx, time.Minute, 10); err != nil || len(got) != 0 {
			t.Fatalf("the worker claimed %d events held by the request (%v)", len(got), err)
		}
		if _, claimed, err := s.StoreWebhookEventClaimed(ctx, "stripe", ev, time.Minute); err != nil || claimed {
			t.Errorf("a redelivery claimed by the insert: %v, %v", claimed, err)
		}
		real.Advance(time.Minute + time.Second) // the request died without finishing it
		if got, err := s.ClaimWebhookEvents(ctx, time.Minute, 10); err != nil || len(got) != 1 {
			t.Errorf("after the lease the worker claimed %d events (%v), want 1", len(got), err)
		}
	})
}

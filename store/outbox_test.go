package store

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"example.com/storefront/internal/dbtest"
)

// The outbox on both databases: a message per key however often its event
// is replayed; a message is claimed by one deliverer at a time, across
// processes, and taken again when its deliverer's lease ends; retries wait
// in real time; a message given up is counted for the merchant.
func TestOutbox(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		ctx := context.Background()
		a, b, clock := twoInstances(t, db, time.Date(2027, 3, 10, 9, 0, 0, 0, time.UTC))
		md, err := a.CreateMandate(ctx, newMandate("ada@example.com"))
		if err != nil {
			t.Fatal(err)
		}

		if due, err := a.MessagesDue(ctx); err != nil || due {
			t.Fatalf("an empty outbox has messages due: %v %v", due, err)
		}
		type receipt struct{ Amount string }
		for range 3 { // the same event, replayed
			if _, err := a.EnqueueMessage(ctx, NewMessage{Key: "charge/1/receipt", Kind: "receipt", MandateID: md.ID,
				To: "ada@example.com", Data: receipt{"12.00 USD"}}); err != nil {
				t.Fatal(err)
			}
		}
		if isNew, err := b.EnqueueMessage(ctx, NewMessage{Key: "mandate/x/link", Kind: "link", To: "ada@example.com"}); err != nil || !isNew {
			t.Fatalf("a second key: new %v, %v", isNew, err)
		}
		if _, err := a.EnqueueMessage(ctx, NewMessage{Key: "k", Kind: "receipt"}); err == nil {
			t.Error("a message without a recipient was written")
		}
		if c, err := a.CountMessages(ctx); err != nil || c.Pending != 2 || c.Failed != 0 {
			t.Fatalf("counts %+v (%v), want 2 pending", c, err)
		}
		if due, err := b.MessagesDue(ctx); err != nil || !due {
			t.Fatalf("two pending messages, none due: %v %v", due, err)
		}

		// Two processes claim at once: each message goes to one.
		var wg sync.WaitGroup
		claimed := make([][]Message, 2)
		for i, s := range []*Store{a, b} {
			wg.Go(func() {
				var err error
				if claimed[i], err = s.ClaimMessages(ctx, time.Minute, 10); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if n := len(claimed[0]) + len(claimed[1]); n != 2 {
			t.Fatalf("%d messages claimed by two processes, want each of the 2 once", n)
		}
		if due, err := a.MessagesDue(ctx); err != nil || due {
			t.Fatalf("both messages are held, yet some are due: %v %v", due, err)
		}
		got, err := a.MessageByKey(ctx, "charge/1/receipt")
		if err != nil {
			t.Fatal(err)
		}
		var r receipt
		if err := json.Unmarshal(got.Data, &r); err != nil || r.Amount != "12.00 USD" || got.MandateID != md.ID || got.Attempts != 1 {
			t.Errorf("stored message %+v (%v)", got, err)
		}
		if again, _ := a.ClaimMessages(ctx, time.Minute, 10); len(again) != 0 {
			t.Errorf("claimed messages were claimed again while leased: %d", len(again))
		}

		// The deliverer of one died: its lease ends, another takes it.
		clock.Advance(2 * time.Minute)
		retaken, err := b.ClaimMessages(ctx, time.Minute, 10)
		if err != nil || len(retaken) != 2 || retaken[0].Attempts != 2 {
			t.Fatalf("after the leases ended: %+v (%v)", retaken, err)
		}
		// One is sent; the other fails now and is tried again in 5 minutes.
		receiptID, linkID := retaken[0].ID, retaken[1].ID
		if retaken[0].Key != "charge/1/receipt" {
			receiptID, linkID = linkID, receiptID
		}
		if err := b.MessageWasSent(ctx, receiptID); err != nil {
			t.Fatal(err)
		}
		if err := b.RetryMessage(ctx, linkID, "421 try later", clock.Now().Add(5*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if got, _ := a.ClaimMessages(ctx, time.Minute, 10); len(got) != 0 {
			t.Errorf("a message was claimed before its retry was due: %+v", got)
		}
		clock.Advance(5 * time.Minute)
		due, err := a.ClaimMessages(ctx, time.Minute, 10)
		if err != nil || len(due) != 1 || due[0].ID != linkID || due[0].LastError != "421 try later" {
			t.Fatalf("the retry: %+v (%v)", due, err)
		}
		if err := a.FailMessage(ctx, linkID, "550 no such user"); err != nil {
			t.Fatal(err)
		}
		if c, err := b.CountMessages(ctx); err != nil || c.Pending != 0 || c.Failed != 1 {
			t.Errorf("counts %+v (%v), want 1 failed", c, err)
		}
		sent, err := a.Messages(ctx, md.ID)
		if err != nil || len(sent) != 1 || sent[0].Status != MessageSent || sent[0].SentAt.IsZero() {
			t.Errorf("the mandate's messages: %+v (%v)", sent, err)
		}
		// A sent message stays sent: a late retry of a stale deliverer
		// changes nothing.
		if err := a.RetryMessage(ctx, receiptID, "stale", clock.Now()); err != nil {
			t.Fatal(err)
		}
		if m, _ := a.MessageByKey(ctx, "charge/1/receipt"); m.Status != MessageSent {
			t.Errorf("a sent message became %s", m.Status)
		}
	})
}

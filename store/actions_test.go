package store

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"example.com/storefront/internal/dbtest"
	"example.com/storefront/mandate"
	"example.com/storefront/payments"
)

// A merchant's charge of another amount than the price the terms say (the
// price in effect) is refused without a reason, writes nothing, leaves the
// form's token unused, and keeps the reason it is given. A refund keeps its
// reason and note; the shopper's message says the reason, never the note.
func TestMerchantActionsKeepTheirReasons(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		ctx := context.Background()
		now := time.Date(2027, 1, 31, 9, 0, 0, 0, time.UTC)
		s, err := Open(ctx, db.New(t), func() time.Time { return now })
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		m, err := s.CreateMandate(ctx, newMandate("ada@example.com"))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Transition(ctx, m.ID, mandate.Active, Change{Source: mandate.SourceWebhook, PaymentMethodID: "pm_1"}); err != nil {
			t.Fatal(err)
		}
		token, err := s.IssueFormToken(ctx, m.ID, "charge")
		if err != nil {
			t.Fatal(err)
		}
		off := payments.Money{Amount: 50000, Currency: plan.Price.Currency}
		_, _, err = s.CreateCharge(ctx, NewCharge{MandateID: m.ID, Kind: KindMerchant, InitiatedBy: ByMerchant, Amount: off, FormToken: token})
		var ot *OffTermsError
		if !errors.As(err, &ot) || ot.Price != plan.Price {
			t.Fatalf("500.00 without a reason: %v, want OffTermsError at %s", err, plan.Price)
		}
		if cs, _ := s.Charges(ctx, m.ID); len(cs) != 0 {
			t.Fatalf("a refused charge wrote %+v", cs)
		}
		c, _, err := s.CreateCharge(ctx, NewCharge{MandateID: m.ID, Kind: KindMerchant, InitiatedBy: ByMerchant, Amount: off,
			FormToken: token, Reason: "annual upgrade agreed by phone"})
		if err != nil || c.Reason != "annual upgrade agreed by phone" {
			t.Fatalf("with a reason (the same token): %+v, %v", c, err)
		}
		if price, err := s.TermsPrice(ctx, m); err != nil || price.Money != plan.Price {
			t.Errorf("terms price %v, %v; want %s", price, err, plan.Price)
		}
		if _, _, err := s.ApplyCharge(ctx, c.ID, payments.ChargeResult{Ref: "pi_1", State: payments.ChargeSucceeded}); err != nil {
			t.Fatal(err)
		}

		if _, err := s.CreateRefund(ctx, c.ID, 500, "", "because", ""); err == nil {
			t.Error("a refund with an unknown reason was written")
		}
		r, err := s.CreateRefund(ctx, c.ID, 500, "", "duplicate", "double click at the till")
		if err != nil || r.Reason != "duplicate" || r.Note != "double click at the till" {
			t.Fatalf("refund %+v, %v", r, err)
		}
		if _, _, err := s.ApplyRefund(ctx, r.ID, payments.RefundResult{Ref: "re_1", State: payments.RefundSucceeded}); err != nil {
			t.Fatal(err)
		}
		msgs, err := s.Messages(ctx, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, msg := range msgs {
			if msg.Kind != MsgRefund {
				continue
			}
			found = true
			var d RefundData
			if err := json.Unmarshal(msg.Data, &d); err != nil || d.Reason != "duplicate" || strings.Contains(string(msg.Data), "till") {
				t.Errorf("refund message %s (%v): want the reason, never the note", msg.Data, err)
			}
		}
		if !found {
			t.Error("no refund message")
		}
	})
}

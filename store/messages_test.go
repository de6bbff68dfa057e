package store

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"testing"
	"time"

	"example.com/storefront/billing"
	"example.com/storefront/internal/dbtest"
	"example.com/storefront/mandate"
	"example.com/storefront/payments"
)

// Each event writes its message in its own transaction, exactly once: a
// replayed report (the same webhook twice, a retried call) writes none,
// and what the message says is the event's facts.
func TestEachEventWritesOneMessage(t *testing.T) {
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
		twice := func(what string, fn func() error) {
			t.Helper()
			for range 2 {
				if err := fn(); err != nil {
					t.Fatalf("%s: %v", what, err)
				}
			}
		}
		twice("activate", func() error {
			_, _, err := s.Transition(ctx, m.ID, mandate.Active, Change{Source: mandate.SourceWebhook, PaymentMethodID: "pm_1"})
			return err
		})

		// Period 1, charged by the schedule and paid.
		c, _, err := s.CreateCharge(ctx, NewCharge{MandateID: m.ID, Kind: KindScheduled, InitiatedBy: BySchedule, Period: 1, Attempt: 1, Amount: plan.Price})
		if err != nil {
			t.Fatal(err)
		}
		twice("pay", func() error {
			_, _, err := s.ApplyCharge(ctx, c.ID, payments.ChargeResult{Ref: "pi_1", State: payments.ChargeSucceeded})
			return err
		})
		r, err := s.CreateRefund(ctx, c.ID, 500, "", "", "")
		if err != nil {
			t.Fatal(err)
		}
		twice("refund", func() error {
			_, _, err := s.ApplyRefund(ctx, r.ID, payments.RefundResult{Ref: "re_1", State: payments.RefundSucceeded})
			return err
		})

		// Period 2 declines once (a retry follows), then for good.
		b, err := s.Billing(ctx, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		declines := 0
		decline := func(to string, retry time.Time) {
			t.Helper()
			declines++
			d, _, err := s.CreateCharge(ctx, NewCharge{MandateID: m.ID, Kind: KindScheduled, InitiatedBy: BySchedule, Period: 2, Attempt: declines, Amount: plan.Price})
			if err != nil {
				t.Fatal(err)
			}
			d, _, err = s.ApplyCharge(ctx, d.ID, payments.ChargeResult{Ref: "pi_d" + strconv.Itoa(declines), State: payments.ChargeFailed,
				Code: "insufficient_funds", Reason: "Your card has insufficient funds."})
			if err != nil {
				t.Fatal(err)
			}
			twice("settle", func() error {
				if _, err := s.ClaimDueBilling(ctx, "w", now.Add(365*24*time.Hour), time.Minute, 10); err != nil {
					return err
				}
				err := s.SettleBilling(ctx, m.ID, "w", BillingOutcome{To: to, Period: 2, NextDueAt: retry, Failures: declines, Declined: &d}, now)
				if err == ErrLeaseLost {
					return nil // settled already: the second time nobody holds it
				}
				return err
			})
		}
		retryAt := billing.Due(b.AnchorAt, plan.Interval, 2).Add(24 * time.Hour)
		decline(BillingPastDue, retryAt)
		decline(BillingEnded, retryAt)
		twice("revoke after the end", func() error {
			_, _, err := s.Transition(ctx, m.ID, mandate.Revoked, Change{Source: mandate.SourceWorker, RevokedBy: payments.RevokedByMerchant})
			return err
		})

		msgs, err := s.Messages(ctx, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, msg := range msgs {
			kinds = append(kinds, msg.Kind)
			if msg.To != "ada@example.com" || msg.Status != MessagePending {
				t.Errorf("%s: to %q, %s", msg.Key, msg.To, msg.Status)
			}
		}
		// The end for non-payment says no payment follows: the revocation
		// that follows it writes nothing more.
		want := []string{MsgConfirmed, MsgReceipt, MsgRefund, MsgDeclined, MsgEnded}
		if !slices.Equal(kinds, want) {
			t.Fatalf("messages %v, want %v", kinds, want)
		}
		var receipt ReceiptData
		decode(t, msgs[1].Data, &receipt)
		// Anchored on 31 January: the next is the last day of February.
		if receipt.Amount != plan.Price || receipt.Period != 1 || !receipt.NextAt.Equal(time.Date(2027, 2, 28, 9, 0, 0, 0, time.UTC)) ||
			receipt.NextAmount != plan.Price || !receipt.PaidAt.Equal(now) {
			t.Errorf("receipt says %+v", receipt)
		}
		var refund RefundData
		decode(t, msgs[2].Data, &refund)
		if refund.Amount.Amount != 500 || refund.ChargeAmount != plan.Price || refund.ChargeID != c.ID {
			t.Errorf("refund says %+v", refund)
		}
		var declined DeclinedData
		decode(t, msgs[3].Data, &declined)
		if declined.Failures != 1 || declined.Period != 2 || !declined.RetryAt.Equal(retryAt) || declined.Reason != "Your card has insufficient funds." {
			t.Errorf("decline says %+v", declined)
		}
		var ended EndedData
		decode(t, msgs[4].Data, &ended)
		if ended.Failures != 2 || ended.Period != 2 || ended.Amount != plan.Price {
			t.Errorf("end says %+v", ended)
		}
	})
}

// A mandate revoked while it is billed tells its shopper who did it; a
// dispute is written only when the merchant wants it.
func TestRevocationAndDisputeMessages(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		ctx := context.Background()
		for _, notify := range []bool{false, true} {
			var opts []Option
			if notify {
				opts = append(opts, NotifyDisputes())
			}
			s, _ := mustOpenAt(t, db.New(t), opts...)
			m, err := s.CreateMandate(ctx, newMandate("grace@example.com"))
			if err != nil {
				t.Fatal(err)
			}
			c := mustCharge(t, s, m.ID, 1200)
			if _, _, err := s.ApplyCharge(ctx, c.ID, payments.ChargeResult{Ref: "pi_x", State: payments.ChargeSucceeded}); err != nil {
				t.Fatal(err)
			}
			for range 2 {
				if _, _, err := s.ApplyDispute(ctx, c.ID, "stripe", payments.Dispute{Ref: "dp_1", State: payments.DisputeNeedsResponse,
					Reason: "fraudulent"}); err != nil {
					t.Fatal(err)
				}
				if _, _, err := s.Transition(ctx, m.ID, mandate.Revoked, Change{Source: mandate.SourceShopper, RevokedBy: payments.RevokedByShopper}); err != nil {
					t.Fatal(err)
				}
			}
			msgs, err := s.Messages(ctx, m.ID)
			if err != nil {
				t.Fatal(err)
			}
			var kinds []string
			for _, msg := range msgs {
				kinds = append(kinds, msg.Kind)
			}
			want := []string{MsgConfirmed, MsgReceipt, MsgRevoked}
			if notify {
				want = []string{MsgConfirmed, MsgReceipt, MsgDispute, MsgRevoked}
			}
			if !slices.Equal(kinds, want) {
				t.Fatalf("notify disputes %v: messages %v, want %v", notify, kinds, want)
			}
			var revoked RevokedData
			decode(t, msgs[len(msgs)-1].Data, &revoked)
			if revoked.By != payments.RevokedByShopper {
				t.Errorf("revocation says %+v", revoked)
			}
			// A merchant's payment outside the schedule: its receipt names
			// the next scheduled payment, the one billing waits for.
			var receipt ReceiptData
			decode(t, msgs[1].Data, &receipt)
			b, err := s.Billing(ctx, m.ID)
			if err != nil {
				t.Fatal(err)
			}
			if receipt.Period != 0 || !receipt.NextAt.Equal(b.NextDueAt) {
				t.Errorf("receipt of a merchant's payment says %+v, billing is due %s", receipt, b.NextDueAt)
			}
		}
	})
}

func decode(t *testing.T, raw json.RawMessage, v any) {
	t.Helper()
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
}

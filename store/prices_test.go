package store

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"example.com/storefront/internal/dbtest"
	"example.com/storefront/mandate"
	"example.com/storefront/payments"
)

// openWithClock opens a new database of kind db whose app clock (the demo
// clock) is the returned one.
func openWithClock(t *testing.T, db dbtest.Kind, start time.Time) (*Store, *realClock) {
	t.Helper()
	clock := &realClock{t: start}
	s, err := Open(context.Background(), db.New(t), clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, clock
}

// activeMandate makes an active mandate of email at provider, on plan.
func activeMandate(t *testing.T, s *Store, email, provider string) Mandate {
	t.Helper()
	ctx := context.Background()
	n := newMandate(email)
	n.Provider = provider
	m, err := s.CreateMandate(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	m, _, err = s.Transition(ctx, m.ID, mandate.Active, Change{Source: mandate.SourceWebhook, PaymentMethodID: "pm_" + m.ID,
		PaymentMethodType: "amazon_pay"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func usd(amount int64) payments.Money { return payments.Money{Amount: amount, Currency: "USD"} }

func exactAtPPRO(provider string) bool { return provider == "ppro" }

func TestPriceChangeRefusals(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		ctx := context.Background()
		now := time.Date(2027, 1, 10, 15, 30, 0, 0, time.UTC)
		s, _ := openWithClock(t, db, now)
		activeMandate(t, s, "ada@example.com", "stripe")
		ok := now.Add(NoticePeriod)
		for _, tc := range []struct {
			name string
			c    NewPriceChange
			want error
		}{
			{"a day short of the notice", NewPriceChange{Plan: plan, Price: usd(1500), EffectiveAt: ok.Add(-24 * time.Hour)}, ErrPriceTooSoon},
			{"a second short of the notice", NewPriceChange{Plan: plan, Price: usd(1500), EffectiveAt: ok.Add(-time.Second)}, ErrPriceTooSoon},
			{"the same price", NewPriceChange{Plan: plan, Price: usd(1200), EffectiveAt: ok}, ErrPriceUnchanged},
			{"another currency", NewPriceChange{Plan: plan, Price: payments.Money{Amount: 1500, Currency: "EUR"}, EffectiveAt: ok}, ErrPriceCurrency},
			{"zero", NewPriceChange{Plan: plan, Price: usd(0), EffectiveAt: ok}, ErrPriceNotAmount},
			{"negative", NewPriceChange{Plan: plan, Price: usd(-100), EffectiveAt: ok}, ErrPriceNotAmount},
		} {
			if _, created, err := s.SchedulePriceChange(ctx, tc.c); !errors.Is(err, tc.want) || created {
				t.Errorf("%s: created %v, %v; want %v", tc.name, created, err, tc.want)
			}
		}
		if got, err := s.PriceChanges(ctx, 10); err != nil || len(got) != 0 {
			t.Fatalf("refused changes were written: %+v (%v)", got, err)
		}
		var notices int
		if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM outbox WHERE kind = ?`, MsgPriceChange).Scan(&notices); err != nil || notices != 0 {
			t.Fatalf("refused changes wrote %d notices (%v)", notices, err)
		}

		// Exactly 14 days is enough; then another is refused while it is pending.
		first, created, err := s.SchedulePriceChange(ctx, NewPriceChange{Plan: plan, Price: usd(1500), EffectiveAt: ok})
		if err != nil || !created {
			t.Fatalf("14 days' notice: created %v, %v", created, err)
		}
		_, created, err = s.SchedulePriceChange(ctx, NewPriceChange{Plan: plan, Price: usd(1800), EffectiveAt: ok.AddDate(0, 1, 0)})
		if !errors.Is(err, ErrPriceChangeOpen) || created {
			t.Fatalf("a second change while one is pending: created %v, %v", created, err)
		}
		if got, err := s.PriceChanges(ctx, 10); err != nil || len(got) != 1 || got[0].ID != first.ID {
			t.Fatalf("changes %+v (%v), want only the first", got, err)
		}
	})
}

// A change tells every active mandate on the plan once, whatever its
// provider, and none that is pending, revoked, on another plan or already
// at the new price; the same form sent again (or by two instances at
// once) writes nothing more.
func TestPriceChangeNotifiesEveryActiveMandateOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		ctx := context.Background()
		now := time.Date(2027, 1, 31, 9, 0, 0, 0, time.UTC)
		s, clock := openWithClock(t, db, now)
		ada := activeMandate(t, s, "ada@example.com", "stripe")
		grace := activeMandate(t, s, "grace@example.com", "ppro")
		clock.Advance(3 * 24 * time.Hour) // grace is anchored later
		alan := activeMandate(t, s, "alan@example.com", "stripe")
		revoked := activeMandate(t, s, "rev@example.com", "stripe")
		if _, _, err := s.Transition(ctx, revoked.ID, mandate.Revoked, Change{Source: mandate.SourceShopper, RevokedBy: payments.RevokedByShopper}); err != nil {
			t.Fatal(err)
		}
		pending, err := s.CreateMandate(ctx, newMandate("pending@example.com"))
		if err != nil {
			t.Fatal(err)
		}
		other := newMandate("yearly@example.com")
		other.Plan.Interval = payments.Year
		if _, err := s.CreateMandate(ctx, other); err != nil {
			t.Fatal(err)
		}

		eff := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
		c := NewPriceChange{Plan: plan, Price: usd(1500), EffectiveAt: eff, ExactAmount: exactAtPPRO}
		var wg sync.WaitGroup
		results := make([]PriceChange, 8)
		errs := make([]error, 8)
		created := make([]bool, 8)
		for i := range 8 { // the form sent eight times at once, on as many connections
			wg.Go(func() { results[i], created[i], errs[i] = s.SchedulePriceChange(ctx, c) })
		}
		wg.Wait()
		n := 0
		for i := range 8 {
			if errs[i] != nil {
				t.Fatalf("attempt %d: %v", i, errs[i])
			}
			if results[i].ID != results[0].ID {
				t.Fatalf("two changes made: %d and %d", results[0].ID, results[i].ID)
			}
			if created[i] {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d attempts created the change, want 1", n)
		}
		ch := results[0]

		want := map[string]Mandate{ada.ID: ada, grace.ID: grace, alan.ID: alan}
		for id, m := range want {
			msgs, err := s.Messages(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			var notices []Message
			for _, msg := range msgs {
				if msg.Kind == MsgPriceChange {
					notices = append(notices, msg)
				}
			}
			if len(notices) != 1 {
				t.Fatalf("%s has %d price notices, want 1", m.Customer.Email, len(notices))
			}
			msg := notices[0]
			var d PriceChangeData
			if err := json.Unmarshal(msg.Data, &d); err != nil {
				t.Fatal(err)
			}
			if msg.To != m.Customer.Email || d.ChangeID != ch.ID || d.Old != usd(1200) || d.New != usd(1500) || !d.EffectiveAt.Equal(eff) {
				t.Errorf("%s's notice: to %s, %+v", m.Customer.Email, msg.To, d)
			}
			// Anchored on 31 January (ada, grace): due 28 Feb, then 31 Mar.
			// Anchored on 3 February (alan): due 3 March.
			wantFirst := time.Date(2027, 3, 31, 9, 0, 0, 0, time.UTC)
			if id == alan.ID {
				wantFirst = time.Date(2027, 3, 3, 9, 0, 0, 0, time.UTC)
			}
			if !d.FirstAt.Equal(wantFirst) {
				t.Errorf("%s's first payment at the new price: %s, want %s", m.Customer.Email, d.FirstAt, wantFirst)
			}
			if d.EndsAgreement != (m.Provider == "ppro") {
				t.Errorf("%s (%s): ends agreement %v", m.Customer.Email, m.Provider, d.EndsAgreement)
			}
			prices, err := s.MandatePrices(ctx, id)
			if err != nil || len(prices) != 1 || prices[0].MessageKey != msg.Key || prices[0].Price != usd(1500) ||
				prices[0].MessageStatus != MessagePending || !prices[0].FirstAt.Equal(wantFirst) {
				t.Errorf("%s's prices: %+v (%v)", m.Customer.Email, prices, err)
			}
		}
		for _, id := range []string{revoked.ID, pending.ID} {
			if prices, err := s.MandatePrices(ctx, id); err != nil || len(prices) != 0 {
				t.Errorf("%s was told: %+v (%v)", id, prices, err)
			}
		}
		var notices int
		if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM outbox WHERE kind = ?`, MsgPriceChange).Scan(&notices); err != nil || notices != 3 {
			t.Fatalf("%d price notices in the outbox (%v), want 3", notices, err)
		}
		list, err := s.PriceChanges(ctx, 10)
		if err != nil || len(list) != 1 || list[0].Notified != 3 || list[0].Pending != 3 || list[0].Old != usd(1200) {
			t.Fatalf("changes %+v (%v)", list, err)
		}
		// One notice delivered: two pending.
		claimed, err := s.ClaimMessages(ctx, time.Minute, 100)
		if err != nil {
			t.Fatal(err)
		}
		sent := false
		for _, msg := range claimed {
			if msg.Kind == MsgPriceChange && !sent {
				sent = true
				err = s.MessageWasSent(ctx, msg.ID)
			} else {
				err = s.RetryMessage(ctx, msg.ID, "not this one", time.Now())
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if !sent {
			t.Fatal("no price notice was claimed")
		}
		if list, err := s.PriceChanges(ctx, 10); err != nil || list[0].Pending != 2 || list[0].Notified != 3 {
			t.Fatalf("after one sent: %+v (%v)", list, err)
		}
	})
}

// The price of each period: the old one before the effective date, the
// new one from it; a mandate that became active after the change was
// scheduled keeps the price it signed up at; new shoppers sign up at the
// new price once it is in effect; a later change starts from the price
// each mandate pays.
func TestPriceForEachPeriod(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		ctx := context.Background()
		now := time.Date(2027, 1, 10, 9, 0, 0, 0, time.UTC)
		s, clock := openWithClock(t, db, now)
		ada := activeMandate(t, s, "ada@example.com", "stripe")
		eff := time.Date(2027, 2, 10, 9, 0, 0, 0, time.UTC)
		if _, _, err := s.SchedulePriceChange(ctx, NewPriceChange{Plan: plan, Price: usd(1500), EffectiveAt: eff}); err != nil {
			t.Fatal(err)
		}
		late := activeMandate(t, s, "late@example.com", "stripe") // signed at 12.00, never told
		for _, tc := range []struct {
			m    Mandate
			due  time.Time
			want payments.Money
		}{
			{ada, now, usd(1200)},
			{ada, eff.Add(-time.Second), usd(1200)},
			{ada, eff, usd(1500)},
			{ada, eff.AddDate(0, 1, 0), usd(1500)},
			{late, eff.AddDate(0, 1, 0), usd(1200)},
		} {
			got, err := s.PriceFor(ctx, tc.m, tc.due)
			if err != nil || got.Money != tc.want {
				t.Errorf("%s on %s: %v (%v), want %v", tc.m.Customer.Email, tc.due, got, err, tc.want)
			}
			// The dashboard's reading of the same rule agrees.
			prices, err := s.MandatePrices(ctx, tc.m.ID)
			if err != nil {
				t.Fatal(err)
			}
			if shown := PriceOn(tc.m.Plan.Price, prices, tc.due); shown != got {
				t.Errorf("%s on %s: the page shows %+v, billing charges %+v", tc.m.Customer.Email, tc.due, shown, got)
			}
		}
		if p, err := s.CurrentPlan(ctx, plan); err != nil || p.Price != usd(1200) {
			t.Fatalf("before the change: the plan is at %v (%v)", p.Price, err)
		}
		clock.Advance(eff.Sub(now))
		if p, err := s.CurrentPlan(ctx, plan); err != nil || p.Price != usd(1500) {
			t.Fatalf("once in effect: the plan is at %v (%v), want 15.00 USD", p.Price, err)
		}

		// A second change, now that the first took effect: ada goes from
		// 15.00, late from 12.00; a new shopper at 15.00 is told too.
		n := newMandate("new@example.com")
		n.Plan.Price = usd(1500)
		nm, err := s.CreateMandate(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Transition(ctx, nm.ID, mandate.Active, Change{Source: mandate.SourceWebhook, PaymentMethodID: "pm_new"}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.SchedulePriceChange(ctx, NewPriceChange{Plan: plan, Price: usd(1500), EffectiveAt: clock.Now().Add(NoticePeriod)}); !errors.Is(err, ErrPriceUnchanged) {
			t.Fatalf("15.00 again: %v", err)
		}
		ch, _, err := s.SchedulePriceChange(ctx, NewPriceChange{Plan: plan, Price: usd(1000), EffectiveAt: clock.Now().Add(NoticePeriod)})
		if err != nil {
			t.Fatal(err)
		}
		if ch.Old != usd(1500) || ch.Notified != 3 {
			t.Fatalf("second change %+v", ch)
		}
		for m, old := range map[string]payments.Money{ada.ID: usd(1500), late.ID: usd(1200), nm.ID: usd(1500)} {
			msg, err := s.MessageByKey(ctx, "price/"+itoa(ch.ID)+"/mandate/"+m)
			if err != nil {
				t.Fatal(err)
			}
			var d PriceChangeData
			if err := json.Unmarshal(msg.Data, &d); err != nil || d.Old != old || d.New != usd(1000) {
				t.Errorf("%s: %+v (%v), want from %v", m, d, err, old)
			}
		}
	})
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

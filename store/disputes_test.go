package store

import (
	"context"
	"errors"
	"example.com/storefront/internal/dbtest"
	"slices"
	"testing"
	"time"

	"example.com/storefront/mandate"
	"example.com/storefront/payments"
)

func mustCharge(t *testing.T, s *Store, mandateID string, amount int64) Charge {
	t.Helper()
	if _, _, err := s.Transition(context.Background(), mandateID, mandate.Active, Change{Source: mandate.SourceWebhook,
		PaymentMethodID: "pm_" + mandateID, PaymentMethodType: "amazon_pay"}); err != nil {
		t.Fatal(err)
	}
	c, _, err := s.CreateCharge(context.Background(), NewCharge{MandateID: mandateID, Kind: KindMerchant, InitiatedBy: "merchant",
		Amount: payments.Money{Amount: amount, Currency: "USD"}, Reason: "a test of this amount"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A dispute moves forward only: a stale answer (read before a newer one)
// changes nothing, a decided dispute keeps its outcome, and an unchanged
// answer is no change. PPRO's events state no amount: the whole charge.
func TestApplyDisputeMovesForwardOnly(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		s, _ := mustOpenAt(t, db.New(t))
		ctx := context.Background()
		m, err := s.CreateMandate(ctx, newMandate("d@example.com"))
		if err != nil {
			t.Fatal(err)
		}
		c := mustCharge(t, s, m.ID, 1204)
		other := mustCharge(t, s, m.ID, 1300)
		due := time.Date(2026, 12, 20, 23, 59, 59, 0, time.UTC)
		d := payments.Dispute{Ref: "dp_1", ChargeRef: "pi_1", Amount: payments.Money{Amount: 1204, Currency: "USD"},
			State: payments.DisputeNeedsResponse, ProviderStatus: "needs_response", Reason: "fraudulent", EvidenceDueBy: due}
		steps := []struct {
			name        string
			state       payments.DisputeState
			wantState   payments.DisputeState
			wantChanged bool
		}{
			{"new", payments.DisputeNeedsResponse, payments.DisputeNeedsResponse, true},
			{"the same again", payments.DisputeNeedsResponse, payments.DisputeNeedsResponse, false},
			{"forward", payments.DisputeUnderReview, payments.DisputeUnderReview, true},
			{"stale", payments.DisputeNeedsResponse, payments.DisputeUnderReview, false},
			{"decided", payments.DisputeLost, payments.DisputeLost, true},
			{"another outcome after the decision", payments.DisputeWon, payments.DisputeLost, false},
		}
		for _, st := range steps {
			d.State, d.ProviderStatus = st.state, string(st.state)
			got, changed, err := s.ApplyDispute(ctx, c.ID, "stripe", d)
			if err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			if got.Status != st.wantState || changed != st.wantChanged {
				t.Errorf("%s: %s changed=%v, want %s changed=%v", st.name, got.Status, changed, st.wantState, st.wantChanged)
			}
			if got.MandateID != m.ID || got.ChargeID != c.ID || !got.EvidenceDueBy.Equal(due) || got.Reason != "fraudulent" ||
				got.Amount != d.Amount {
				t.Errorf("%s: stored %+v", st.name, got)
			}
		}
		if _, _, err := s.ApplyDispute(ctx, other.ID, "stripe", d); !errors.Is(err, ErrOtherCharge) {
			t.Errorf("the same dispute on another charge: %v, want ErrOtherCharge", err)
		}
		// The same id at another provider is another dispute.
		pd := payments.Dispute{Ref: "dp_1", State: payments.DisputeChargedBack, ProviderStatus: "CHARGEBACK_SUCCEEDED"}
		got, _, err := s.ApplyDispute(ctx, other.ID, "ppro", pd)
		if err != nil {
			t.Fatal(err)
		}
		if got.Amount != other.Amount || !got.EvidenceDueBy.IsZero() {
			t.Errorf("a dispute with no amount or deadline: %+v, want the charge's amount and no deadline", got)
		}
		// A charge-back (PPRO) may still be decided later; a stale open state
		// does not undo it.
		for _, st := range []struct {
			state, want payments.DisputeState
		}{
			{payments.DisputeNeedsResponse, payments.DisputeChargedBack},
			{payments.DisputeLost, payments.DisputeLost},
		} {
			pd.State = st.state
			if got, _, err := s.ApplyDispute(ctx, other.ID, "ppro", pd); err != nil || got.Status != st.want {
				t.Errorf("charged back, then %s: %s, %v; want %s", st.state, got.Status, err, st.want)
			}
		}
		all, err := s.Disputes(ctx, m.ID)
		if err != nil || len(all) != 2 {
			t.Fatalf("disputes of the mandate: %d, %v", len(all), err)
		}
	})
}

// The "disputed" filter lists each disputed mandate once, however many
// disputes it has, with the other filters and across pages; the counts
// and the consent export agree with plain SQL over the disputes.
func TestDisputedFilterCountsAndExport(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		s, _ := mustOpenAt(t, db.New(t))
		ctx := context.Background()
		var ids []string
		for i, p := range []string{"stripe", "ppro", "stripe", "ppro", "stripe"} {
			n := newMandate(string(rune('a'+i)) + "@example.com")
			n.Provider = p
			m, err := s.CreateMandate(ctx, n)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, m.ID)
		}
		dispute := func(mandateID, ref, provider string) {
			c := mustCharge(t, s, mandateID, 1204)
			if _, _, err := s.ApplyDispute(ctx, c.ID, provider, payments.Dispute{Ref: ref, State: payments.DisputeNeedsResponse}); err != nil {
				t.Fatal(err)
			}
		}
		dispute(ids[0], "dp_a", "stripe")
		dispute(ids[0], "dp_b", "stripe") // a second dispute of the same mandate
		dispute(ids[1], "chargeback_x", "ppro")
		dispute(ids[4], "dp_c", "stripe")
		mustCharge(t, s, ids[2], 1300) // charged, never disputed

		want := func(provider string) []string {
			rows, err := s.db.QueryContext(ctx, `SELECT m.id FROM mandates m
				WHERE (? = '' OR m.provider = ?) AND EXISTS (SELECT 1 FROM disputes d WHERE d.mandate_id = m.id)
				ORDER BY m.created_at DESC, m.id DESC`, provider, provider)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var out []string
			for rows.Next() {
				var id string
				rows.Scan(&id)
				out = append(out, id)
			}
			return out
		}
		for _, provider := range []string{"", "stripe", "ppro"} {
			// One mandate a page, so the cursor is walked too.
			var got []string
			f := ListFilter{Disputed: true, Provider: provider, Limit: 1}
			for {
				page, next, err := s.ListMandates(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range page {
					if !r.Disputed {
						t.Errorf("%s is listed as disputed but not marked so", r.ID)
					}
					got = append(got, r.ID)
				}
				if next == "" {
					break
				}
				f.After = next
			}
			if w := want(provider); !slices.Equal(got, w) || len(w) == 0 {
				t.Errorf("disputed of %q: %v, want %v", provider, got, w)
			}
			counts, err := s.CountMandates(ctx, provider)
			if err != nil {
				t.Fatal(err)
			}
			if counts.Disputed != len(want(provider)) {
				t.Errorf("disputed count of %q: %d, want %d", provider, counts.Disputed, len(want(provider)))
			}
		}
		// With the billing filter too: none of these is past due.
		if got, _, err := s.ListMandates(ctx, ListFilter{Disputed: true, Billing: BillingPastDue}); err != nil || len(got) != 0 {
			t.Errorf("disputed and past due: %d rows, %v", len(got), err)
		}
		all, _, err := s.ListMandates(ctx, ListFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range all {
			if r.Disputed != slices.Contains(want(""), r.ID) {
				t.Errorf("%s in the whole list: disputed=%v", r.ID, r.Disputed)
			}
		}
		exported := map[string]int{}
		if err := s.EachConsent(ctx, func(r ConsentRow) error { exported[r.MandateID] = r.Disputes; return nil }); err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			var n int
			if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM disputes WHERE mandate_id = ?`, id).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if exported[id] != n {
				t.Errorf("export of %s: %d disputes, want %d", id, exported[id], n)
			}
		}
	})
}

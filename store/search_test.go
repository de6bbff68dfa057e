package store

import (
	"context"
	"slices"
	"testing"
	"time"

	"example.com/storefront/internal/dbtest"
	"example.com/storefront/mandate"
	"example.com/storefront/payments"
)

// searchShop is four mandates with every kind of id the store keeps, made
// on the 1st of March, April, May and June 2026.
type searchShop struct {
	ada, grace, adam, emile string // mandate ids
}

func fillSearchShop(t *testing.T, s *Store) searchShop {
	t.Helper()
	ctx := context.Background()
	at := func(month time.Month) {
		s.now = func() time.Time { return time.Date(2026, month, 1, 0, 0, 0, 0, time.UTC) }
	}
	create := func(month time.Month, email, name, provider string, amount int64) string {
		at(month)
		n := newMandate(email)
		n.Name, n.Provider, n.Plan.Price.Amount = name, provider, amount
		m, err := s.CreateMandate(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		return m.ID
	}
	// paid activates id with its provider's ids and pays (and refunds) it.
	paid := func(id, ref string, c Change, charge, refund string) {
		if err := s.SetProviderRef(ctx, id, ref, ""); err != nil {
			t.Fatal(err)
		}
		c.Source, c.PaymentMethodType = mandate.SourceWebhook, "amazon_pay"
		if _, _, err := s.Transition(ctx, id, mandate.Active, c); err != nil {
			t.Fatal(err)
		}
		ch, _, err := s.CreateCharge(ctx, NewCharge{MandateID: id, Kind: KindMerchant, InitiatedBy: ByMerchant, Amount: usd(700),
			Reason: "a part agreed with the shopper"})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.ApplyCharge(ctx, ch.ID, payments.ChargeResult{Ref: charge, State: payments.ChargeSucceeded}); err != nil {
			t.Fatal(err)
		}
		if refund == "" {
			return
		}
		r, err := s.CreateRefund(ctx, ch.ID, 300, "", "", "")
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.ApplyRefund(ctx, r.ID, payments.RefundResult{Ref: refund, State: payments.RefundSucceeded}); err != nil {
			t.Fatal(err)
		}
	}
	var sh searchShop
	sh.ada = create(time.March, "ada@example.com", "Ada Lovelace", "stripe", 1200)
	paid(sh.ada, "cs_ada", Change{PaymentMethodID: "pm_ada", ProviderCustomerRef: "cus_ada", SetupIntentRef: "seti_ada",
		ProviderMandateRef: "mandate_ada"}, "pi_ada", "re_ada")
	sh.grace = create(time.April, "grace@example.org", "Grace Hopper", "ppro", 2500)
	paid(sh.grace, "agr_grace", Change{PaymentMethodID: "agr_grace"}, "charge_grace", "")
	sh.adam = create(time.May, "adam.smith@example.net", "ADAM Smith", "stripe", 1200)
	sh.emile = create(time.June, "emile@example.com", "Émile Zola", "stripe", 1200)
	return sh
}

// The search box finds a mandate by the beginning of its email ("ada@",
// which found nothing while any "@" meant a whole address), by the
// beginning of its name whatever the case, by our reference and by every
// id a provider gave us, a payment's and a refund's included; the date
// range and the price narrow the list, with the other filters and across
// pages.
func TestListMandatesSearchesAndFilters(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		s, _ := mustOpenAt(t, db.New(t))
		sh := fillSearchShop(t, s)
		ctx := context.Background()
		day := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 0, 0, 0, 0, time.UTC) }
		for _, tc := range []struct {
			name string
			f    ListFilter
			want []string
		}{
			{"an email's beginning up to @", ListFilter{Query: "ada@"}, []string{sh.ada}},
			{"an email's beginning past @", ListFilter{Query: "ada@exa"}, []string{sh.ada}},
			{"a whole email, in capitals", ListFilter{Query: " ADA@EXAMPLE.COM "}, []string{sh.ada}},
			{"a word: emails and names", ListFilter{Query: "ada"}, []string{sh.adam, sh.ada}},
			{"a name's beginning, any case", ListFilter{Query: "adam SM"}, []string{sh.adam}},
			{"a name's beginning", ListFilter{Query: "Grace  Hop"}, []string{sh.grace}},
			{"a name in lower case", ListFilter{Query: "grace"}, []string{sh.grace}},
			{"a name beginning with É", ListFilter{Query: "Émile"}, []string{sh.emile}},
			{"not a beginning", ListFilter{Query: "hopper"}, nil},
			{"our reference", ListFilter{Query: sh.grace}, []string{sh.grace}},
			{"a Checkout Session", ListFilter{Query: "cs_ada"}, []string{sh.ada}},
			{"a customer", ListFilter{Query: "cus_ada"}, []string{sh.ada}},
			{"a SetupIntent", ListFilter{Query: "seti_ada"}, []string{sh.ada}},
			{"a PaymentMethod", ListFilter{Query: "pm_ada"}, []string{sh.ada}},
			{"a Stripe mandate", ListFilter{Query: "mandate_ada"}, []string{sh.ada}},
			{"a PaymentIntent", ListFilter{Query: "pi_ada"}, []string{sh.ada}},
			{"a refund", ListFilter{Query: "re_ada"}, []string{sh.ada}},
			{"a PPRO agreement", ListFilter{Query: "agr_grace"}, []string{sh.grace}},
			{"a PPRO charge", ListFilter{Query: "charge_grace"}, []string{sh.grace}},
			{"an id nobody has", ListFilter{Query: "cus_nobody"}, nil},
			{"an id, and another provider", ListFilter{Query: "pi_ada", Provider: "ppro"}, nil},
			{"a date range", ListFilter{CreatedFrom: day(3, 15), CreatedBefore: day(5, 1)}, []string{sh.grace}},
			{"from a date", ListFilter{CreatedFrom: day(5, 1)}, []string{sh.emile, sh.adam}},
			{"a price at least", ListFilter{MinAmount: 2000}, []string{sh.grace}},
			{"a price at most", ListFilter{MaxAmount: 1200}, []string{sh.emile, sh.adam, sh.ada}},
			{"a search, a provider and a price", ListFilter{Query: "ada", Provider: "stripe", MaxAmount: 1200}, []string{sh.adam, sh.ada}},
			{"a search and a status", ListFilter{Query: "ada", Status: mandate.Active}, []string{sh.ada}},
			{"a search and a date", ListFilter{Query: "ada", CreatedBefore: day(4, 1)}, []string{sh.ada}},
			{"a search and billing", ListFilter{Query: "ada", Billing: BillingActive}, []string{sh.ada}},
			{"a search and past due", ListFilter{Query: "ada", Billing: BillingPastDue}, nil},
			{"a search, disputed", ListFilter{Query: "ada", Disputed: true}, nil},
		} {
			got, _, err := s.ListMandates(ctx, tc.f)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			var ids []string
			for _, m := range got {
				ids = append(ids, m.ID)
			}
			if !slices.Equal(ids, tc.want) {
				t.Errorf("%s (%+v): %v, want %v", tc.name, tc.f, ids, tc.want)
			}
		}
		// A date range's pages follow one another, a mandate a page (the
		// cursor folds into the range's end).
		var paged []string
		f := ListFilter{CreatedFrom: day(3, 1), CreatedBefore: day(6, 2), Limit: 1}
		for range 5 {
			page, next, err := s.ListMandates(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range page {
				paged = append(paged, m.ID)
			}
			if next == "" {
				break
			}
			f.After = next
		}
		if want := []string{sh.emile, sh.adam, sh.grace, sh.ada}; !slices.Equal(paged, want) {
			t.Errorf("a date range page by page: %v, want %v", paged, want)
		}
		// A search's pages follow one another.
		first, next, err := s.ListMandates(ctx, ListFilter{Query: "ada", Limit: 1})
		if err != nil || len(first) != 1 || first[0].ID != sh.adam || next == "" {
			t.Fatalf("first page %+v, next %q: %v", first, next, err)
		}
		second, next, err := s.ListMandates(ctx, ListFilter{Query: "ada", Limit: 1, After: next})
		if err != nil || len(second) != 1 || second[0].ID != sh.ada || next != "" {
			t.Fatalf("second page %+v, next %q: %v", second, next, err)
		}
	})
}

// The payments and refunds exports hold those of the mandates the list
// shows for its filters.
func TestExportsFollowTheListsFilters(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		s, _ := mustOpenAt(t, db.New(t))
		sh := fillSearchShop(t, s)
		ctx := context.Background()
		payments := func(f ListFilter) []string {
			var out []string
			if err := s.EachPayment(ctx, f, func(r PaymentRow) error {
				if r.Mandate.ID != r.Charge.MandateID {
					t.Errorf("payment %s under mandate %s", r.Charge.ProviderRef, r.Mandate.ID)
				}
				out = append(out, r.Charge.ProviderRef)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			return out
		}
		refunds := func(f ListFilter) []string {
			var out []string
			if err := s.EachRefund(ctx, f, func(r RefundRow) error {
				if r.Mandate.ID != sh.ada || r.Charge.ProviderRef != "pi_ada" || r.Refund.Amount != usd(300) {
					t.Errorf("refund %+v", r)
				}
				out = append(out, r.Refund.ProviderRef)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			return out
		}
		if got := payments(ListFilter{}); !slices.Equal(got, []string{"charge_grace", "pi_ada"}) {
			t.Errorf("all payments: %v", got)
		}
		if got := payments(ListFilter{Provider: "ppro"}); !slices.Equal(got, []string{"charge_grace"}) {
			t.Errorf("PPRO's payments: %v", got)
		}
		if got := payments(ListFilter{Query: "ada@"}); !slices.Equal(got, []string{"pi_ada"}) {
			t.Errorf("ada@'s payments: %v", got)
		}
		if got := refunds(ListFilter{}); !slices.Equal(got, []string{"re_ada"}) {
			t.Errorf("all refunds: %v", got)
		}
		if got := refunds(ListFilter{MinAmount: 2000}); len(got) != 0 {
			t.Errorf("refunds of 20.00-plans: %v", got)
		}
		var consents []string
		if err := s.EachListedConsent(ctx, ListFilter{Query: "ada"}, func(c ConsentRow) error {
			consents = append(consents, c.MandateID+" "+c.Email)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if want := []string{sh.adam + " adam.smith@example.net", sh.ada + " ada@example.com"}; !slices.Equal(consents, want) {
			t.Errorf("consents of ada: %v, want %v", consents, want)
		}
	})
}

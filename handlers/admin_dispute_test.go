package handlers_test

import (
	"context"
	"encoding/csv"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"example.com/storefront/internal/pagetest"
	"example.com/storefront/payments"
	"example.com/storefront/sandbox/pprosim"
	"example.com/storefront/store"
)

// disputeProviders are the providers whose sandbox disputes a charge of an
// amount ending in 04, and closes the dispute from its Go API.
var disputeProviders = []string{"stripe", "ppro"}

// A payment of an amount ending in 04 is disputed a moment after it
// succeeds. The provider's event reaches the app, which records the
// dispute and shows it on the payment (amount, reason, status, the
// deadline for evidence) with no refund offered; the list counts the
// mandate under "disputed" and filters it; the consent export says it.
// Stripe's disputes need a response (a banner on the mandate's page says
// by when); when the sandbox closes them (one won, one lost) the page
// shows each outcome and the banner goes. PPRO's chargeback is money
// charged back, and PPRO reports no outcome of the merchant's defence: the
// sandbox's decision changes nothing in the app.
func TestAdminDisputeShownCountedExportedAndClosed(t *testing.T) {
	t.Parallel()
	for _, provider := range disputeProviders {
		t.Run(provider, func(t *testing.T) {
			t.Parallel()
			// The plan's own price ends in 04, so that PPRO's EXACT agreement
			// takes it: period 1 and a charge for the same amount are both
			// disputed.
			e := newEnv(t, withWebhooks, withPlan(payments.Plan{Name: "Coffee Club",
				Price: payments.Money{Amount: 1204, Currency: "USD"}, Interval: payments.Month}))
			e.fastSettle()
			// A mandate with no payment, which the disputed filter leaves out.
			b := pagetest.NewBrowser(t)
			e.checkout(b, e.validForm(b))
			m, _ := e.activeMandate(provider)
			admin := e.adminBrowser()
			e.send(admin, chargeForm(e.adminPage(admin, m.ID), "12.04"))
			charges, err := e.Store.Charges(context.Background(), m.ID)
			if err != nil || len(charges) != 2 {
				t.Fatalf("%d charges (%v), want period 1 and the merchant's", len(charges), err)
			}
			opened := map[string]struct {
				state    payments.DisputeState
				words    string
				noRefund string
				banners  int
			}{
				"stripe": {payments.DisputeNeedsResponse, "needs response", "No refund while the payment is disputed.", 2},
				"ppro":   {payments.DisputeChargedBack, "charged back", "The chargeback gave the money back to the shopper.", 0},
			}[provider]
			disputes := e.waitDisputes(m.ID, 2, func(d store.Dispute) bool { return d.Status == opened.state })
			for _, d := range disputes {
				c := charges[slices.IndexFunc(charges, func(c store.Charge) bool { return c.ID == d.ChargeID })]
				if d.Amount != c.Amount || d.ProviderRef == "" || d.Provider != provider ||
					(provider == "ppro" && d.ProviderRef != "chargeback_"+c.ProviderRef) {
					t.Errorf("dispute %+v of charge %+v", d, c)
				}
				if provider == "stripe" && (d.Reason != "product_not_received" || d.EvidenceDueBy.IsZero()) {
					t.Errorf("Stripe's dispute has its reason and deadline: %+v", d)
				}
			}

			page := e.adminPage(admin, m.ID)
			for _, d := range disputes {
				status, text, ok := chargeOnPage(t, page, d.ChargeID)
				if !ok || status != "succeeded" || !strings.Contains(text, "dispute 12.04 USD") || !strings.Contains(text, opened.words) ||
					!strings.Contains(text, d.ProviderRef) {
					t.Errorf("charge %d on the page: %q %q", d.ChargeID, status, text)
				}
				if strings.Contains(text, "Refund (USD") || !strings.Contains(text, opened.noRefund) {
					t.Errorf("charge %d offers a refund while disputed: %q", d.ChargeID, text)
				}
				if provider == "stripe" && (!strings.Contains(text, "product not received") ||
					!strings.Contains(text, "evidence due by "+d.EvidenceDueBy.UTC().Format("2 Jan 2006, 15:04 UTC"))) {
					t.Errorf("charge %d on the page lacks the reason or the deadline: %q", d.ChargeID, text)
				}
			}
			if n := page.Count("dispute-banner"); n != opened.banners {
				t.Errorf("%d dispute banners, want %d", n, opened.banners)
			}

			// The list: counted, filtered, marked.
			list := admin.Get(e.URL + "/admin").Expect(http.StatusOK)
			if n, _ := list.TestID("count-disputed"); !strings.HasPrefix(strings.TrimSpace(n), "1") {
				t.Errorf("the disputed count reads %q, want 1", n)
			}
			filtered := admin.Get(e.URL + "/admin?disputed=1").Expect(http.StatusOK)
			if ids := filtered.AllTestIDAttr("mandate-row", "data-id"); !slices.Equal(ids, []string{m.ID}) {
				t.Errorf("the disputed filter lists %v, want only %s", ids, m.ID)
			}
			if filtered.Count("row-disputed") != 1 {
				t.Errorf("the disputed mandate's row is not marked")
			}

			// The export.
			if got := exportedDisputes(t, e)[m.ID]; got != "2" {
				t.Errorf("the export says %q disputes of %s, want 2", got, m.ID)
			}

			// The provider decides: the first won, the second lost.
			e.closeDispute(provider, charges, disputes[0], true)
			e.closeDispute(provider, charges, disputes[1], false)
			if provider == "ppro" {
				// Nothing is sent, so nothing changes; a webhook or a look-up
				// that came would have done so by the time the worker passed.
				if _, err := e.Worker.Pass(context.Background()); err != nil {
					t.Fatal(err)
				}
				time.Sleep(200 * time.Millisecond)
				if got, _ := e.Store.Disputes(context.Background(), m.ID); len(got) != 2 || got[0] != disputes[0] || got[1] != disputes[1] {
					t.Errorf("PPRO's chargebacks after the sandbox decided them: %+v, want them unchanged", got)
				}
				return
			}
			e.waitDisputes(m.ID, 2, func(d store.Dispute) bool { return !d.Status.Open() })
			page = e.adminPage(admin, m.ID)
			// A won dispute leaves the payment refundable; a lost one gave the
			// money back already.
			for i, tc := range []struct{ state, refund string }{{"won", "Refund (USD, at most 12.04 USD)"},
				{"lost", "The lost dispute gave the money back to the shopper."}} {
				got, _ := e.Store.Disputes(context.Background(), m.ID)
				if got[i].Status != payments.DisputeState(tc.state) {
					t.Errorf("dispute %s is %s, want %s", got[i].ProviderRef, got[i].Status, tc.state)
				}
				if _, text, _ := chargeOnPage(t, page, disputes[i].ChargeID); !strings.Contains(text, "dispute 12.04 USD "+tc.state) ||
					!strings.Contains(text, tc.refund) {
					t.Errorf("charge %d on the page after the dispute was %s: %q", disputes[i].ChargeID, tc.state, text)
				}
			}
			if n := page.Count("dispute-banner"); n != 0 {
				t.Errorf("%d dispute banners after both closed, want none", n)
			}
		})
	}
}

// fastSettle makes the sandbox's later outcomes (a dispute) come at once.
func (e *env) fastSettle() {
	s := e.sandbox.StripeSim().Settings()
	s.SettleAfter = 20 * time.Millisecond
	e.sandbox.StripeSim().SetSettings(s)
	p := e.sandbox.PPROSim().Settings()
	p.SettleAfter = 20 * time.Millisecond
	e.sandbox.PPROSim().SetSettings(p)
}

// waitDisputes waits until a mandate has n disputes that all satisfy ok.
func (e *env) waitDisputes(mandateID string, n int, ok func(store.Dispute) bool) []store.Dispute {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, err := e.Store.Disputes(context.Background(), mandateID)
		if err != nil {
			e.t.Fatal(err)
		}
		if len(got) == n && !slices.ContainsFunc(got, func(d store.Dispute) bool { return !ok(d) }) {
			return got
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("mandate %s has disputes %+v, want %d in the state asked for", mandateID, got, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// closeDispute has the provider decide a dispute, from the sandbox's Go
// API. PPRO's chargeback is found by its charge: the sandbox's own id is
// nowhere in what PPRO sends.
func (e *env) closeDispute(provider string, charges []store.Charge, d store.Dispute, won bool) {
	e.t.Helper()
	var err error
	switch provider {
	case "stripe":
		err = e.sandbox.StripeSim().CloseDispute(context.Background(), d.ProviderRef, won)
	case "ppro":
		c := charges[slices.IndexFunc(charges, func(c store.Charge) bool { return c.ID == d.ChargeID })]
		cbs, lerr := e.sandbox.PPROSim().Chargebacks(context.Background())
		if lerr != nil {
			e.t.Fatal(lerr)
		}
		i := slices.IndexFunc(cbs, func(cb pprosim.Chargeback) bool { return cb.ChargeID == c.ProviderRef })
		if i < 0 {
			e.t.Fatalf("the sandbox has no chargeback of %s: %+v", c.ProviderRef, cbs)
		}
		err = e.sandbox.PPROSim().ResolveChargeback(context.Background(), cbs[i].ID, won)
	default:
		e.t.Fatalf("no provider %q", provider)
	}
	if err != nil {
		e.t.Fatal(err)
	}
}

// exportedDisputes is the consent export's disputes column by mandate id.
func exportedDisputes(t *testing.T, e *env) map[string]string {
	t.Helper()
	resp, err := e.adminBrowser().Client.Get(e.URL + "/admin/consents.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	records, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil || len(records) == 0 {
		t.Fatalf("export: %v", err)
	}
	id, n := slices.Index(records[0], "mandate_id"), slices.Index(records[0], "disputes")
	if n < 0 {
		t.Fatalf("no disputes column in %q", records[0])
	}
	out := map[string]string{}
	for _, r := range records[1:] {
		out[r[id]] = r[n]
	}
	return out
}

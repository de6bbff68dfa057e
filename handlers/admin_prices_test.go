package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"example.com/storefront/internal/pagetest"
	"example.com/storefront/payments"
	"example.com/storefront/store"
)

// The merchant schedules a new price from the dashboard: every refusal is
// said in words on the form, kept as typed; a valid change tells every
// active shopper once (the form sent twice does nothing more), shows on
// the list with its notices, and on each mandate's page. Once it takes
// effect, new shoppers see and sign up at the new price, and a checkout
// page loaded before it is asked to agree again.
func TestAdminSchedulesAPriceChange(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	stripeMandate, stripeShopper := e.activeMandate("stripe")
	pproMandate, pproShopper := e.activeMandate("ppro")
	admin := e.adminBrowser()

	form := admin.Get(e.URL + "/admin/prices").Expect(http.StatusOK)
	earliest := store.EarliestEffective(e.Clock.Now())
	if got := form.InputValue("effective"); got != earliest.Format("2006-01-02") {
		t.Fatalf("the form's date is %q, want the earliest allowed, %s", got, earliest.Format("2006-01-02"))
	}
	if rule, _ := form.TestID("price-rule"); !strings.Contains(rule, "at least 14 days") || !strings.Contains(rule, "PPRO") {
		t.Errorf("the form does not say the rule: %q", rule)
	}
	if got, _ := form.TestID("current-price"); got != "12.00 USD" {
		t.Errorf("current price %q", got)
	}

	tooSoon := earliest.AddDate(0, 0, -1).Format("2006-01-02")
	for _, tc := range []struct{ amount, day, want string }{
		{"", "", "Enter the new price."},
		{"twelve", "", "is not an amount in USD"},
		{"15.00", "1 March", "Enter the day the new price takes effect"},
		{"12.00", "", "The new price is the plan's price already (12.00 USD)."},
		{"0", "", "more than zero"},
		{"15.00", tooSoon, "The new price must take effect at least 14 days after the notice: the earliest is " + earliest.Format("2 January 2006") + "."},
	} {
		fill := url.Values{"amount": {tc.amount}, "effective": {earliest.Format("2006-01-02")}}
		if tc.day != "" {
			fill.Set("effective", tc.day)
		}
		// Each from the page the last refusal showed, as a browser does.
		page := admin.Do(form.Submit("", "/admin/prices", fill)).Expect(http.StatusUnprocessableEntity)
		form = page
		if msg, _ := page.TestID("price-error"); !strings.Contains(msg, tc.want) {
			t.Errorf("%q from %q: the form says %q, want %q", tc.amount, tc.day, msg, tc.want)
		}
		if page.InputValue("amount") != tc.amount {
			t.Errorf("%q: the form lost what was typed (%q)", tc.amount, page.InputValue("amount"))
		}
	}
	if n := e.count(`SELECT count(*) FROM price_changes`); n != 0 {
		t.Fatalf("refused forms scheduled %d changes", n)
	}

	send := form.Submit("", "/admin/prices", url.Values{"amount": {"15.00"}, "effective": {earliest.Format("2006-01-02")}})
	done := e.send(admin, send)
	if flash, _ := done.TestID("flash"); !strings.Contains(flash, "Scheduled: 15.00 USD from "+earliest.Format("2 Jan 2006")+". 2 shoppers are told by email.") {
		t.Errorf("flash %q", flash)
	}
	if got := done.AllTestIDAttr("price-change", "data-state"); len(got) != 1 || got[0] != "scheduled" {
		t.Errorf("changes listed %v", got)
	}
	if n, _ := done.TestID("notified"); n != "2" {
		t.Errorf("notified %q, want 2", n)
	}
	if n, _ := done.TestID("pending"); n != "2" {
		t.Errorf("pending notices %q, want 2", n)
	}
	// The same form again (a double click, the back button).
	again := admin.Do(send).Expect(http.StatusSeeOther)
	if flash, _ := admin.Follow(again).Expect(http.StatusOK).TestID("flash"); !strings.Contains(flash, "already sent") {
		t.Errorf("the form sent twice: %q", flash)
	}
	if n := e.count(`SELECT count(*) FROM outbox WHERE kind = 'price_change'`); n != 2 {
		t.Fatalf("%d notices, want 2", n)
	}
	// Another change while this one is pending.
	page := admin.Do(done.Submit("", "/admin/prices", url.Values{"amount": {"18.00"},
		"effective": {earliest.AddDate(0, 1, 0).Format("2006-01-02")}})).Expect(http.StatusUnprocessableEntity)
	if msg, _ := page.TestID("price-error"); !strings.Contains(msg, "A price change is already scheduled") {
		t.Errorf("a second change: %q", msg)
	}

	// Each mandate's record keeps the price and the notice.
	if p := e.adminPage(admin, stripeMandate.ID); p.Count("mandate-price") != 1 || p.Count("ends-agreement") != 0 {
		t.Errorf("the Stripe mandate's page shows %d prices", p.Count("mandate-price"))
	} else if status, _ := p.TestID("notice-status"); status != "pending" {
		t.Errorf("notice %q", status)
	}
	if p := e.adminPage(admin, stripeMandate.ID); !strings.Contains(p.Text(), "at 15.00 USD") {
		t.Errorf("the Stripe mandate's next periods do not show the new price")
	}
	if p := e.adminPage(admin, pproMandate.ID); p.Count("ends-agreement") != 1 ||
		!strings.Contains(p.Text(), "not charged: the agreement ends with the price change") {
		t.Errorf("the PPRO mandate's page does not say its agreement ends")
	}

	// Each shopper's own page says what comes: the next payment (due after
	// the change) at the new price; on PPRO, none, and why.
	next := func(b *pagetest.Browser, id string) string {
		t.Helper()
		text, _ := b.Get(e.URL + "/mandates/" + id).Expect(http.StatusOK).TestID("next-payment")
		return text
	}
	if got := next(stripeShopper, stripeMandate.ID); !strings.HasPrefix(got, "15.00 USD on ") {
		t.Errorf("the Stripe shopper's next payment: %q", got)
	}
	if got := next(pproShopper, pproMandate.ID); !strings.HasPrefix(got, "none: the price is now 15.00 USD, your approval is for 12.00 USD exactly, so your subscription ends on ") {
		t.Errorf("the PPRO shopper's next payment: %q", got)
	}

	// Before the change, a shopper loads the shop; the change takes effect.
	shopper := pagetest.NewBrowser(t)
	before := e.validForm(shopper)
	if !strings.Contains(shopper.Get(e.URL+"/").Expect(http.StatusOK).Body, "12.00 USD") {
		t.Fatal("the shop does not show the price before the change")
	}
	e.Clock.Advance(earliest.Sub(e.Clock.Now()) + time.Minute)
	home := shopper.Get(e.URL + "/").Expect(http.StatusOK)
	if !strings.Contains(home.Body, "15.00 USD") || strings.Contains(home.Body, "12.00 USD") {
		t.Error("after the change the shop does not show only the new price")
	}
	stale := shopper.Post(e.URL+"/create-checkout-session", before).Expect(http.StatusUnprocessableEntity)
	if !strings.Contains(stale.Body, "The terms changed since this page was loaded") {
		t.Error("a form loaded before the change was not asked to agree again")
	}
	checkout := e.checkout(shopper, e.validForm(shopper))
	m, err := e.Store.MandateByProviderRef(ctx, "stripe", sessionID(checkout))
	if err != nil {
		t.Fatal(err)
	}
	if m.Plan.Price.Amount != 1500 || !strings.Contains(m.Consent.Authorization, "15.00 USD") {
		t.Errorf("a new shopper signed up at %s (%q), want 15.00 USD", m.Plan.Price, m.Consent.Authorization)
	}
	if p := admin.Get(e.URL + "/admin/prices").Expect(http.StatusOK); p.TestIDAttr("price-change", "data-state") != "in effect" {
		t.Errorf("the change is %q after its day", p.TestIDAttr("price-change", "data-state"))
	}
}

// A price change further off than the next payment: the shopper's page
// names the next payment at today's price, then the new price and the
// first payment it applies to.
func TestShopperPageNamesAPriceChangeAfterTheNextPayment(t *testing.T) {
	e := newEnv(t)
	m, shopper := e.activeMandate("stripe")
	b, err := e.Store.Billing(context.Background(), m.ID)
	if err != nil {
		t.Fatal(err)
	}
	effective := store.EarliestEffective(b.NextDueAt) // after the next payment, 14 days' notice and more
	if _, _, err := e.Service.SchedulePriceChange(context.Background(), m.Plan, payments.Money{Amount: 1500, Currency: "USD"}, effective); err != nil {
		t.Fatal(err)
	}
	prices, err := e.Store.MandatePrices(context.Background(), m.ID)
	if err != nil || len(prices) != 1 {
		t.Fatalf("prices %+v (%v)", prices, err)
	}
	got, _ := shopper.Get(e.URL + "/mandates/" + m.ID).Expect(http.StatusOK).TestID("next-payment")
	want := "12.00 USD on " + b.NextDueAt.UTC().Format("2 January 2006") + "; from " + prices[0].FirstAt.UTC().Format("2 January 2006") + ", 15.00 USD"
	if got != want {
		t.Errorf("next payment %q, want %q", got, want)
	}
}

package handlers_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"example.com/storefront/mandate"
	"example.com/storefront/payments"
	"example.com/storefront/store"
)

// The mandate's page and the shop's activity page show what happened,
// newest first, with who did it: the schedule's payment, the merchant's
// charge and revocation, the emails. A mandate the app revoked because its
// billing ended says so, not "revoked by merchant".
func TestActivityPagesShowWhatHappened(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m, _ := e.activeMandate("stripe")
	admin := e.adminBrowser()
	e.send(admin, chargeForm(e.adminPage(admin, m.ID), "5.00"))
	e.send(admin, revokeNow(e.adminPage(admin, m.ID)))

	page := e.adminPage(admin, m.ID)
	log, ok := page.TestID("activity")
	if !ok {
		t.Fatal("no activity on the mandate's page")
	}
	// Newest first.
	inOrder(t, "the mandate's activity", log,
		"Billing stopped: the mandate was revoked", "by the merchant",
		"Mandate revoked by the merchant", "by the merchant",
		"One-off payment", "5.00 USD", "by the merchant",
		"Paid period 1", "by the schedule",
		"Payment of period 1", "12.00 USD", "by the schedule",
		"Billing started: period 1 due",
		"Mandate confirmed: active", "by the shopper", // on their way back from Amazon Pay
		"Mandate created", "by the shopper")
	if strings.Contains(log, "active → active") {
		t.Errorf("the activity still folds a paid period into %q", "active → active")
	}
	inOrder(t, "the mandate's emails", log, "Receipt emailed to "+m.Customer.Email, "by the app",
		"Confirmation emailed to "+m.Customer.Email, "by the app")
	if n := strings.Count(log, "One-off payment"); n != 1 {
		t.Errorf("the merchant's charge is shown %d times", n)
	}

	list := admin.Get(e.URL + "/admin").Expect(http.StatusOK)
	if href := list.TestIDAttr("activity-link", "href"); href != "/admin/activity" {
		t.Errorf("the dashboard's nav links the activity at %q", href)
	}
	shop := admin.Get(e.URL + "/admin/activity").Expect(http.StatusOK)
	all, _ := shop.TestID("shop-activity")
	inOrder(t, "the shop's activity", all,
		"Mandate revoked by the merchant", m.Customer.Email,
		"One-off payment", "5.00 USD",
		"Payment of period 1", "Mandate created")
	if got := admin.Get(e.URL + "/admin/activity?after=junk").Expect(http.StatusOK); !strings.Contains(got.Text(), "not valid") {
		t.Error("a broken page link is not said to be broken")
	}

	// Billing ended for non-payment; the app revokes the mandate at the
	// provider, which reports it as the merchant's.
	ended, _ := e.activeMandate("stripe")
	ctx := context.Background()
	if _, err := e.Store.ClaimDueBilling(ctx, "test", time.Now().Add(400*24*time.Hour), time.Minute, 100); err != nil {
		t.Fatal(err)
	}
	if err := e.Store.SettleBilling(ctx, ended.ID, "test", store.BillingOutcome{To: store.BillingEnded, Period: 2,
		NextDueAt: time.Now(), Failures: 4, Detail: "ended for non-payment: 4 declined (insufficient_funds)"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.Store.Transition(ctx, ended.ID, mandate.Revoked, store.Change{Source: mandate.SourceWorker,
		RevokedBy: payments.RevokedByMerchant, Code: "REVOKED_BY_MERCHANT"}); err != nil {
		t.Fatal(err)
	}
	page = e.adminPage(admin, ended.ID)
	if why, _ := page.TestID("ended"); !strings.HasPrefix(why, "For non-payment") {
		t.Errorf("the ended mandate's page says %q", why)
	}
	if by, ok := page.TestID("revoked-by"); ok {
		t.Errorf("the ended mandate's page says it was revoked by %q", by)
	}
	log, _ = page.TestID("activity")
	inOrder(t, "the ended mandate's activity", log,
		"Ended for non-payment: the mandate was revoked at the provider", "by the schedule",
		"Billing ended for non-payment of period 2")
	if strings.Contains(log, "revoked by the merchant") {
		t.Errorf("the ended mandate's activity says it was revoked by the merchant: %s", log)
	}
}

// inOrder fails unless text holds each of want, in that order.
func inOrder(t *testing.T, what, text string, want ...string) {
	t.Helper()
	at := 0
	for _, w := range want {
		i := strings.Index(text[at:], w)
		if i < 0 {
			t.Errorf("%s: %q is missing after %q (offset %d):\n%s", what, w, text[max(0, at-80):at], at, text)
			return
		}
		at += i + len(w)
	}
}

package handlers_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"example.com/storefront/store"
)

// The merchant sees every email written to a shopper on the mandate's
// page; the dashboard warns of emails waiting with no mail server set and
// of emails given up, lists them, and sends a given-up one again (once,
// however often the form is sent).
func TestDashboardShowsEmailsToTheShopper(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m, _ := e.activeMandate("stripe")
	admin := e.adminBrowser()

	page := e.adminPage(admin, m.ID)
	if n := page.Count("message"); n != 2 {
		t.Fatalf("%d emails on the mandate's page, want the confirmation and period 1's receipt", n)
	}
	if text, _ := page.TestID("messages"); !strings.Contains(text, "Confirmation") || !strings.Contains(text, "Receipt") ||
		!strings.Contains(text, m.Customer.Email) {
		t.Errorf("the emails section says %q", text)
	}
	list := admin.Get(e.URL + "/admin").Expect(http.StatusOK)
	if alert, ok := list.TestID("message-alert"); !ok || !strings.Contains(alert, "2 emails to shoppers are waiting") || !strings.Contains(alert, "SMTP_URL") {
		t.Errorf("the dashboard's alert says %q (shown %v)", alert, ok)
	}

	ctx := context.Background()
	receipt, err := e.Store.MessageByKey(ctx, "charge/1/receipt")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Store.FailMessage(ctx, receipt.ID, "smtp: 550 5.1.1 no such mailbox"); err != nil {
		t.Fatal(err)
	}
	list = admin.Get(e.URL + "/admin").Expect(http.StatusOK)
	if alert, _ := list.TestID("message-alert"); !strings.Contains(alert, "1 email to a shopper could not be sent") {
		t.Errorf("after a failure the alert says %q", alert)
	}
	messages := admin.Get(e.URL + "/admin/messages").Expect(http.StatusOK)
	failed, _ := messages.TestID("failed-messages")
	if !strings.Contains(failed, "550 5.1.1 no such mailbox") || !strings.Contains(failed, "Receipt") {
		t.Fatalf("the failed list says %q", failed)
	}
	resend := messages.Submit("", "/resend", nil)
	again := messages.Submit("", "/resend", nil)
	if got := e.send(admin, resend); !strings.Contains(got.Text(), "goes out again") {
		t.Errorf("after the resend: %s", got.Text())
	}
	if got := e.send(admin, again); !strings.Contains(got.Text(), "not waiting to be sent again") {
		t.Errorf("the same form again: %s", got.Text())
	}
	if msg, err := e.Store.MessageByKey(ctx, "charge/1/receipt"); err != nil || msg.Status != store.MessagePending || msg.Attempts != 0 {
		t.Fatalf("after the resend the receipt is %+v (%v), want pending afresh", msg, err)
	}
}

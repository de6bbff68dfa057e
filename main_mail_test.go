package main

import (
	"database/sql"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"example.com/storefront/internal/pagetest"
	"example.com/storefront/internal/smtptest"
)

// Every event makes exactly one email, across a mail server that is down
// and a kill -9 between the events and their delivery. The storefront runs
// as a real process (all-sandbox, SMTP_URL set to a real SMTP server in the
// test). With the mail server down, a shopper subscribes (the confirmation,
// and period 1's receipt), the merchant advances the demo clock a month
// (period 2's receipt), refunds part of period 1 and revokes the mandate:
// five events, five messages that cannot be sent yet. The process is
// killed with SIGKILL while they wait; the mail server comes back; the
// storefront restarts on the same data. Each of the five messages then
// reaches the mail server once, and the sandbox's mailbox once; the
// confirmation's link opens the shopper's page in another browser.
func TestEveryEventMailsOnceAcrossAnOutageAndKill9(t *testing.T) {
	t.Parallel()
	bin := storefrontBinary(t)
	smtp := smtptest.Start(t)
	smtp.Stop() // down from the start

	dataDir := t.TempDir()
	env := billingEnv(dataDir)
	env["SMTP_URL"] = smtp.URL()
	env["MERCHANT_NAME"] = "Acme Coffee Club"
	env["MERCHANT_EMAIL"] = "hello@acme.example"
	app := startProcess(t, bin, env)
	appDB := readOnly(t, filepath.Join(dataDir, "storefront.db"))
	sandboxDB := readOnly(t, filepath.Join(dataDir, "sandbox.db"))

	b := pagetest.NewBrowser(t)
	b.Do(sandboxApproval(b, app.URL, "stripe").Submit("decision", "approve", nil)).Expect(http.StatusSeeOther)
	mandateID := waitActiveMandate(t, appDB, "stripe")
	waitFor(t, "period 1 paid", func() bool {
		return scalar(appDB, `SELECT next_period FROM billing WHERE mandate_id = ?`, mandateID) == "2"
	})

	b.Post(app.URL+"/admin/login", url.Values{"password": {env["ADMIN_PASSWORD"]}}).Expect(http.StatusSeeOther)
	page := b.Get(app.URL + "/admin/mandates/" + mandateID).Expect(http.StatusOK)
	b.Do(page.Submit("", "/admin/clock/advance", url.Values{"by": {"period"}})).Expect(http.StatusSeeOther)
	waitFor(t, "period 2 paid", func() bool {
		return scalar(appDB, `SELECT next_period FROM billing WHERE mandate_id = ?`, mandateID) == "3"
	})
	first := scalar(appDB, `SELECT id FROM charges WHERE mandate_id = ? AND period = 1`, mandateID)
	page = b.Get(app.URL + "/admin/mandates/" + mandateID).Expect(http.StatusOK)
	b.Do(page.Submit("", "/charges/"+first+"/refund", url.Values{"amount": {"5.00"}})).Expect(http.StatusSeeOther)
	waitFor(t, "the refund made", func() bool {
		return scalar(appDB, `SELECT status FROM refunds WHERE charge_id = ?`, first) == "succeeded"
	})
	page = b.Get(app.URL + "/admin/mandates/" + mandateID).Expect(http.StatusOK)
	b.Do(page.Submit("", "/revoke", nil)).Expect(http.StatusSeeOther)

	// Five messages, each tried and waiting for the mail server.
	kinds := []string{"confirmed", "receipt", "receipt", "refund", "revoked"}
	waitFor(t, "five messages tried while the mail server is down", func() bool {
		return scalar(appDB, `SELECT count(*) FROM outbox WHERE status = 'pending' AND attempts > 0 AND last_error != ''`) == "5"
	})
	app.kill9()
	if got := scalar(appDB, `SELECT group_concat(kind, ',') FROM (SELECT kind FROM outbox ORDER BY id)`); got != strings.Join(kinds, ",") {
		t.Fatalf("after the kill the outbox holds %q, want %v", got, kinds)
	}
	if n := len(smtp.Messages()); n != 0 {
		t.Fatalf("the mail server, down, has %d messages", n)
	}

	// Back: the mail server, then the storefront. Their retries fall due
	// at once (as waiting out the backoff would leave them).
	smtp.Restart(t)
	rw, err := sql.Open("sqlite", "file:"+filepath.Join(dataDir, "storefront.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rw.Exec(`UPDATE outbox SET next_attempt_at = '2000-01-01T00:00:00.000000Z', leased_until = NULL`); err != nil {
		t.Fatal(err)
	}
	rw.Close()
	startProcess(t, bin, env)

	smtp.WaitFor(t, 5)
	waitFor(t, "every message marked sent", func() bool {
		return scalar(appDB, `SELECT count(*) FROM outbox WHERE status = 'sent'`) == "5"
	})
	time.Sleep(2 * time.Second) // time for a second copy, were one coming
	got := smtp.Messages()
	if len(got) != 5 {
		t.Fatalf("the mail server has %d messages, want 5 (one per event)", len(got))
	}
	ids := map[string]bool{}
	for _, m := range got {
		ids[m.Header.Get("Message-Id")] = true
		if !slices.Equal(m.To, []string{"ada@example.com"}) || !strings.Contains(m.Header.Get("From"), "hello@acme.example") {
			t.Errorf("%q: to %v, from %q", m.Subject, m.To, m.Header.Get("From"))
		}
		if m.Text == "" || m.HTML == "" || !strings.Contains(m.Text, "Acme Coffee Club") {
			t.Errorf("%q: needs a text and an HTML part naming the merchant", m.Subject)
		}
	}
	if len(ids) != 5 {
		t.Errorf("%d distinct Message-IDs among 5 messages", len(ids))
	}
	if n := scalar(sandboxDB, `SELECT count(*) FROM mail`); n != "5" {
		t.Errorf("the sandbox's mailbox holds %s messages, want 5", n)
	}

	// The confirmation's link opens the shopper's page in a browser that
	// never saw the shop.
	var confirmation *smtptest.Received
	for i := range got {
		if strings.Contains(got[i].Text, "/mandates/"+mandateID+"?") && strings.Contains(got[i].Subject, "is set up") {
			confirmation = &got[i]
		}
	}
	if confirmation == nil {
		t.Fatalf("no confirmation with a link to the shopper's page among %v", subjects(got))
	}
	link := regexp.MustCompile(`http://[^\s"<>]+/mandates/[^\s"<>]+`).FindString(confirmation.Text)
	other := pagetest.NewBrowser(t)
	shopper := other.Get(link).Expect(http.StatusOK)
	if !strings.Contains(shopper.Text(), "Coffee Club") {
		t.Errorf("the link %s opens a page without the plan: %s", link, shopper.Text())
	}
}

func subjects(ms []smtptest.Received) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Subject)
	}
	return out
}

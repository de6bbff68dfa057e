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
	b.Do(page.Submit("", "/revoke", url.Values{"when": {"now"}})).Expect(http.StatusSeeOther)

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

// A price change as the terms promise, on a real process with the demo
// clock. Two shoppers subscribe (Stripe, and PPRO, whose agreement states
// 12.00 USD exactly); the merchant schedules 15.00 USD from the earliest
// day the dashboard allows (14 days on), and each shopper gets the notice
// once. The presenter advances the clock a month, then another: the
// Stripe mandate pays period 1 at 12.00 and every period due after the
// change at 15.00; the PPRO agreement is not charged at the new price,
// ends, and its shopper is told. Nothing else is charged.
func TestPriceChangeWithTheDemoClock(t *testing.T) {
	t.Parallel()
	bin := storefrontBinary(t)
	smtp := smtptest.Start(t)
	dataDir := t.TempDir()
	env := billingEnv(dataDir)
	env["SMTP_URL"] = smtp.URL()
	app := startProcess(t, bin, env)
	appDB := readOnly(t, filepath.Join(dataDir, "storefront.db"))

	var ids []string
	for _, provider := range []string{"stripe", "ppro"} {
		b := pagetest.NewBrowser(t)
		b.Do(sandboxApproval(b, app.URL, provider).Submit("decision", "approve", nil)).Expect(http.StatusSeeOther)
		id := waitActiveMandate(t, appDB, provider)
		waitFor(t, provider+"'s period 1 paid", func() bool {
			return scalar(appDB, `SELECT next_period FROM billing WHERE mandate_id = ?`, id) == "2"
		})
		ids = append(ids, id)
	}
	stripeID, pproID := ids[0], ids[1]

	admin := pagetest.NewBrowser(t)
	admin.Post(app.URL+"/admin/login", url.Values{"password": {env["ADMIN_PASSWORD"]}}).Expect(http.StatusSeeOther)
	prices := admin.Get(app.URL + "/admin/prices").Expect(http.StatusOK)
	send := prices.Submit("", "/admin/prices", url.Values{"amount": {"15.00"}}) // the date as the form proposes it
	admin.Do(send).Expect(http.StatusSeeOther)
	admin.Do(send).Expect(http.StatusSeeOther) // sent twice: one change
	notices := func() []smtptest.Received {
		var out []smtptest.Received
		for _, m := range smtp.Messages() {
			if strings.Contains(m.Subject, "changes from 12.00 USD to 15.00 USD") {
				out = append(out, m)
			}
		}
		return out
	}
	waitFor(t, "two price notices", func() bool { return len(notices()) >= 2 })

	for range 2 {
		page := admin.Get(app.URL + "/admin").Expect(http.StatusOK)
		admin.Do(page.Submit("", "/admin/clock/advance", url.Values{"by": {"period"}})).Expect(http.StatusSeeOther)
	}
	waitFor(t, "Stripe's period 3 paid", func() bool {
		return scalar(appDB, `SELECT next_period FROM billing WHERE mandate_id = ?`, stripeID) == "4"
	})
	if got := scalar(appDB, `SELECT group_concat(period || ':' || amount || ':' || status, ' ') FROM
		(SELECT period, amount, status FROM charges WHERE mandate_id = ? ORDER BY period, attempt)`, stripeID); got != "1:1200:succeeded 2:1500:succeeded 3:1500:succeeded" {
		t.Errorf("the Stripe mandate's charges: %s", got)
	}
	waitFor(t, "the PPRO agreement revoked", func() bool {
		return scalar(appDB, `SELECT status FROM mandates WHERE id = ?`, pproID) == "revoked"
	})
	if got := scalar(appDB, `SELECT group_concat(period || ':' || amount, ' ') FROM charges WHERE mandate_id = ?`, pproID); got != "1:1200" {
		t.Errorf("the PPRO mandate's charges: %s", got)
	}
	if got := scalar(appDB, `SELECT state FROM billing WHERE mandate_id = ?`, pproID); got != "ended" {
		t.Errorf("the PPRO mandate's billing is %s", got)
	}
	waitFor(t, "the PPRO shopper told of the end", func() bool {
		for _, m := range smtp.Messages() {
			if strings.Contains(m.Subject, "has ended") && strings.Contains(m.Text, "approval is for exactly 12.00 USD") {
				return true
			}
		}
		return false
	})
	time.Sleep(time.Second) // time for a second copy, were one coming
	if n := len(notices()); n != 2 {
		t.Errorf("%d price notices, want one per shopper", n)
	}
	if got := scalar(appDB, `SELECT count(*) FROM price_changes`); got != "1" {
		t.Errorf("%s price changes, want 1", got)
	}
	// Every email's key is unique, whatever was sent.
	seen := map[string]bool{}
	for _, m := range smtp.Messages() {
		id := m.Header.Get("Message-Id")
		if seen[id] {
			t.Errorf("%q sent twice", m.Subject)
		}
		seen[id] = true
	}
}

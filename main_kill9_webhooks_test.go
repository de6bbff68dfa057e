package main

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"example.com/storefront/internal/pagetest"
)

// No webhook is lost to a kill -9 of the sandbox. The sandbox records a
// delivery's attempt with its next write (or within a fraction of a
// second), not at once, so a kill can lose the record of a delivery the
// app has already processed. The storefront (with its built-in sandbox)
// runs as a real process; shoppers set up Stripe mandates until the app
// holds a processed event whose delivery the sandbox still has pending,
// and the process is killed with SIGKILL at that moment. Restarted on the
// same data, the sandbox delivers the event again (at least once, as the
// providers deliver), and the app drops it as a duplicate: every delivery
// ends delivered, and the app holds the event once.
func TestKill9LosesNoWebhookDelivery(t *testing.T) {
	bin := storefrontBinary(t)
	dataDir := t.TempDir()
	env := billingEnv(dataDir)
	app := startProcess(t, bin, env)
	appDB := readOnly(t, filepath.Join(dataDir, "storefront.db"))
	sandboxDB := readOnly(t, filepath.Join(dataDir, "sandbox.db"))

	// caught is a processed event whose delivery is still pending.
	caught := func() string {
		rows, err := sandboxDB.Query(`SELECT event_id FROM webhook_deliveries WHERE status = 'pending'`)
		if err != nil {
			return "" // the table may be being created
		}
		var pending []string
		for rows.Next() {
			var id string
			if rows.Scan(&id) == nil {
				pending = append(pending, id)
			}
		}
		rows.Close()
		for _, id := range pending {
			if s := scalar(appDB, `SELECT status FROM webhook_events WHERE event_id = ?`, id); s != "" && s != "pending" {
				return id
			}
		}
		return ""
	}
	var event string
	flow := 1
	for ; event == ""; flow++ {
		if flow > 10 {
			t.Fatal("in 10 flows, no processed event was still pending at the sandbox when looked at")
		}
		b := pagetest.NewBrowser(t)
		b.Do(sandboxApproval(b, app.URL, "stripe").Submit("decision", "approve", nil)).Expect(http.StatusSeeOther)
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
			if event = caught(); event != "" {
				app.kill9()
				break
			}
		}
	}
	t.Logf("killed during flow %d, with %s processed and its delivery pending", flow-1, event)
	if got := scalar(sandboxDB, `SELECT status FROM webhook_deliveries WHERE event_id = ?`, event); got != "pending" {
		t.Fatalf("after the kill the delivery of %s is %q, want pending (its record lost)", event, got)
	}

	again := startProcess(t, bin, env)
	deadline := time.Now().Add(60 * time.Second)
	for scalar(sandboxDB, `SELECT count(*) FROM webhook_deliveries WHERE status != 'delivered'`) != "0" {
		if time.Now().After(deadline) {
			t.Fatalf("deliveries still not delivered 60 s after the restart: %s", scalar(sandboxDB,
				`SELECT group_concat(event_id || ' ' || status, ', ') FROM webhook_deliveries WHERE status != 'delivered'`))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := scalar(appDB, `SELECT count(*) FROM webhook_events WHERE event_id = ?`, event); got != "1" {
		t.Errorf("the app holds %s rows of %s, want 1", got, event)
	}
	// Delivered again after the restart, and dropped as a duplicate (the
	// process's logs are shown if not).
	waitFor(t, event+" delivered again and dropped as a duplicate", func() bool {
		for _, line := range strings.Split(again.Logs(), "\n") {
			if strings.Contains(line, "webhook duplicate dropped") && strings.Contains(line, event) {
				return true
			}
		}
		return false
	})
}

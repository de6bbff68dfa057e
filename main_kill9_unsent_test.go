package main

import (
	"database/sql"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"example.com/storefront/internal/pagetest"
	"example.com/storefront/payments/ppro"
)

// A payment never sent is no decline, proved across kill -9. The
// storefront runs as a real process; its sandbox is told (on /sandbox/, as
// a presenter would) to hold each keyed API request before its work:
// PPRO's Processing, Stripe's HoldBefore. The worker writes period 1's
// charge and sends it; while the provider holds the request, having done
// nothing, the process is killed with SIGKILL. The demo clock (the
// sandbox's clock, so the provider's in the all-sandbox demo) is then a
// month on: the key's life is over and a re-send would be a new request.
// Restarted, the app looks the payment up, finds none, records the first
// attempt as not made and pays the period with a second attempt that is
// no retry: billing never goes past due, no failure is counted, the
// provider holds exactly one payment for the period, and the dashboard
// shows no decline.
func TestKill9BeforeTheProviderHasThePayment(t *testing.T) {
	bin := storefrontBinary(t)
	for _, pc := range []providerCheck{stripeCheck, pproCheck} {
		t.Run(pc.name, func(t *testing.T) {
			t.Parallel()
			kill9UnsentScenario(t, bin, pc)
		})
	}
}

func kill9UnsentScenario(t *testing.T, bin string, pc providerCheck) {
	dataDir := t.TempDir()
	env := billingEnv(dataDir)
	app := startProcess(t, bin, env)
	appDB := readOnly(t, filepath.Join(dataDir, "storefront.db"))
	sandboxDB := readOnly(t, filepath.Join(dataDir, "sandbox.db"))

	b := pagetest.NewBrowser(t)
	page := sandboxApproval(b, app.URL, pc.name)
	// From now on the provider holds each keyed request ten minutes before
	// it does anything: the next one is period 1's charge.
	settings := b.Get(app.URL + "/sandbox/").Expect(http.StatusOK)
	hold := map[string]url.Values{"stripe": {"hold_before": {"600"}}, "ppro": {"processing_s": {"600"}}}
	b.Do(settings.Submit("", "/"+pc.name+"/settings", hold[pc.name])).Expect(http.StatusSeeOther)
	b.Do(page.Submit("decision", "approve", nil)).Expect(http.StatusSeeOther)

	mandateID := waitActiveMandate(t, appDB, pc.name)
	period := "mandate/" + mandateID + "/period/1/attempt/"
	first, second := period+"1", period+"2"

	// The window: our row says the charge was sent, the provider has its
	// key reserved and no payment. Then kill -9. (PPRO gets a UUID made
	// from our key.)
	sentKey := first
	if pc.name == "ppro" {
		sentKey = ppro.IdempotencyKey(first)
	}
	deadline := time.Now().Add(60 * time.Second)
	for scalar(sandboxDB, `SELECT count(*) FROM idempotency_keys WHERE key = ? AND in_flight = 1`, sentKey) != "1" {
		if time.Now().After(deadline) {
			t.Fatalf("the provider holds no request with key %s within 60 s", first)
		}
		time.Sleep(5 * time.Millisecond)
	}
	app.kill9()
	if got := scalar(appDB, `SELECT status || ',' || coalesce(provider_ref, '') || ',' || (first_sent_at IS NOT NULL)
		FROM charges WHERE idempotency_key = ?`, first); got != "pending,,1" {
		t.Fatalf("after the kill the app's charge is %q, want pending, sent, without the provider's reference", got)
	}
	if got := scalar(sandboxDB, pc.payments, first); got != "0" {
		t.Fatalf("after the kill the provider holds %s payments for %s, want none", got, first)
	}

	// A month later by the demo clock, which the sandbox keeps its keys
	// by: the key is long forgotten. The dead process's leases are made to
	// have ended, as waiting them out (in real time) would.
	rw, err := sql.Open("sqlite", "file:"+filepath.Join(dataDir, "storefront.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`UPDATE demo_clock SET offset_seconds = 31 * 86400`,
		`UPDATE billing SET lease_until = '2000-01-01T00:00:00.000000Z' WHERE lease_until IS NOT NULL`,
		`UPDATE webhook_events SET leased_until = '2000-01-01T00:00:00.000000Z' WHERE leased_until IS NOT NULL`,
	} {
		if _, err := rw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	rw.Close()

	// Restarted on the same data; the sandbox's settings are back to
	// their defaults (they live in memory).
	again := startProcess(t, bin, env)
	deadline = time.Now().Add(4 * time.Minute)
	for scalar(appDB, `SELECT next_period FROM billing WHERE mandate_id = ?`, mandateID) < "2" {
		if time.Now().After(deadline) {
			t.Fatalf("period 1 was not settled within 4 minutes of the restart; charges: %s",
				scalar(appDB, `SELECT group_concat(idempotency_key || '=' || status || ' ' || coalesce(failure_code, ''), '; ') FROM charges`))
		}
		time.Sleep(100 * time.Millisecond)
	}

	if got := scalar(appDB, `SELECT status || ' ' || coalesce(failure_code, '') FROM charges WHERE idempotency_key = ?`, first); got != "failed not_made" {
		t.Errorf("the first attempt is %q, want failed not_made", got)
	}
	if got := scalar(appDB, `SELECT status FROM charges WHERE idempotency_key = ?`, second); got != "succeeded" {
		t.Errorf("the second attempt is %q, want succeeded", got)
	}
	if got := scalar(appDB, `SELECT count(*) FROM charges WHERE mandate_id = ? AND period = 1`, mandateID); got != "2" {
		t.Errorf("the app has %s attempts for period 1, want 2", got)
	}
	// Never past due, no failure counted.
	if got := scalar(appDB, `SELECT state || ' ' || failures FROM billing WHERE mandate_id = ?`, mandateID); got != "active 0" {
		t.Errorf("billing is %q, want active with 0 failures", got)
	}
	if got := scalar(appDB, `SELECT count(*) FROM billing_events WHERE mandate_id = ? AND to_state = 'past_due'`, mandateID); got != "0" {
		t.Errorf("billing went past due %s times", got)
	}
	// The provider: nothing for the first key, one paid payment for the
	// second, and exactly one for the period.
	if got := scalar(sandboxDB, pc.payments, first); got != "0" {
		t.Errorf("the provider holds %s payments for %s, want none", got, first)
	}
	if got := scalar(sandboxDB, pc.paid, second); got != "1" {
		t.Errorf("the provider holds %s succeeded payments for %s, want 1", got, second)
	}
	forPeriod := `SELECT count(*) FROM stripe_payment_intents WHERE json_extract(metadata, '$.charge_ref') LIKE ? || '%'`
	if pc.name == "ppro" {
		forPeriod = `SELECT count(*) FROM ppro_charges WHERE merchant_reference LIKE ? || '%'`
		// The second attempt is sent as scheduled, not as a retry.
		if got := scalar(sandboxDB, `SELECT schedule_type FROM ppro_charges WHERE merchant_reference = ?`, second); got != "SCHEDULED" {
			t.Errorf("the second attempt reached PPRO as %q, want SCHEDULED (no retry)", got)
		}
	}
	if got := scalar(sandboxDB, forPeriod, period); got != "1" {
		t.Errorf("the provider holds %s payments for period 1, want exactly 1", got)
	}

	// The merchant's dashboard shows no decline: the period is paid, the
	// unsent attempt says it was never made.
	b.Follow(b.Post(again.URL+"/admin/login", url.Values{"password": {env["ADMIN_PASSWORD"]}}).Expect(http.StatusSeeOther)).Expect(http.StatusOK)
	mp := b.Get(again.URL + "/admin/mandates/" + url.PathEscape(mandateID)).Expect(http.StatusOK)
	billingText, _ := mp.TestID("billing")
	paymentsText, _ := mp.TestID("payments")
	for _, section := range []string{billingText, paymentsText} {
		if text := strings.ToLower(section); strings.Contains(text, "declin") || strings.Contains(text, "retry") || strings.Contains(text, "past due") {
			t.Errorf("the mandate page speaks of a decline, a retry or past due:\n%s", section)
		}
	}
	if got := mp.TestIDAttr("period", "data-status"); got != "paid" {
		t.Errorf("period 1 shows %q, want paid", got)
	}
	if got := mp.AllTestIDAttr("charge", "data-status"); !slices.Contains(got, "failed") || !slices.Contains(got, "succeeded") {
		t.Errorf("the payments shown are %v, want the attempt not made and the paid one", got)
	}
	if label, _ := mp.TestID("charge-failure-label"); label != "Not made" {
		t.Errorf("the first attempt is shown as %q, want Not made", label)
	}
	if t.Failed() {
		t.Logf("after the restart:\n%s", again.Logs())
	}
}

package main

import (
	"bufio"
	"database/sql"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"example.com/storefront/internal/pagetest"
)

// storefrontBinary builds the storefront into a temporary directory, or
// skips the test when it cannot be built (it fails in CI).
func storefrontBinary(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "storefront")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		msg := "cannot build the storefront binary (go build -o … .): " + err.Error() + "\n" + string(out)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return bin
}

// process is the storefront running as a separate process.
type process struct {
	t    testing.TB
	cmd  *exec.Cmd
	URL  string
	Env  map[string]string // what it was started with
	mu   sync.Mutex
	logs strings.Builder
	done chan struct{} // closed when it has exited
}

// startProcess runs the binary with args and exactly env (and no .env
// file: it runs in an empty directory) and waits until it says where it
// listens.
func startProcess(t testing.TB, bin string, env map[string]string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = t.TempDir()
	cmd.Env = []string{"HOME=" + cmd.Dir}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{t: t, cmd: cmd, Env: env, done: make(chan struct{})}
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.mu.Lock()
			p.logs.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				urlc <- m[1]
			}
		}
		cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("storefront logs:\n%s", p.Logs())
		}
	})
	select {
	case p.URL = <-urlc:
	case <-p.done:
		t.Fatalf("the storefront exited before listening:\n%s", p.Logs())
	case <-time.After(30 * time.Second):
		t.Fatalf("the storefront did not listen within 30 s:\n%s", p.Logs())
	}
	return p
}

func (p *process) Logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

// kill9 kills the process with SIGKILL: no shutdown, no deferred work.
func (p *process) kill9() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		p.t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.t.Fatal("the storefront did not die within 10 s of SIGKILL")
	}
}

// readOnly opens a SQLite file read-only, beside the process writing it.
func readOnly(t *testing.T, file string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+file+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// scalar reads one value; "" when there is no row (or the table does not
// exist yet).
func scalar(db *sql.DB, query string, args ...any) string {
	var v sql.NullString
	if err := db.QueryRow(query, args...).Scan(&v); err != nil {
		return ""
	}
	return v.String
}

// billingEnv is the environment of a storefront process that bills on
// its own: its data in dataDir, the worker passing every second.
func billingEnv(dataDir string) map[string]string {
	return map[string]string{
		"DATA_DIR":        dataDir,
		"ADDR":            "127.0.0.1:0",
		"ADMIN_PASSWORD":  "correct horse battery staple",
		"WORKER_INTERVAL": "1s",
		"LOG_LEVEL":       "debug",
	}
}

// sandboxApproval walks a shopper from the storefront's home page to the
// provider sandbox's approval page for provider, and returns that page.
func sandboxApproval(b *pagetest.Browser, appURL, provider string) *pagetest.Page {
	home := b.Get(appURL + "/").Expect(http.StatusOK)
	form := url.Values{
		"name": {"Ada Lovelace"}, "email": {"ada@example.com"}, "country": {"US"}, "provider": {provider},
		"consent": {"yes"}, "terms_version": {home.InputValue("terms_version")}, "terms_sha256": {home.InputValue("terms_sha256")},
	}
	page := b.Follow(b.Post(appURL+"/create-checkout-session", form).Expect(http.StatusSeeOther)).Expect(http.StatusOK)
	if provider == "stripe" {
		page = b.Follow(b.Do(page.Submit("method", "amazon_pay", nil)).Expect(http.StatusSeeOther)).Expect(http.StatusOK)
	}
	return page
}

// waitActiveMandate waits up to 60 s for the app to hold an active
// mandate with provider, and returns its id.
func waitActiveMandate(t *testing.T, appDB *sql.DB, provider string) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if id := scalar(appDB, `SELECT id FROM mandates WHERE provider = ? AND status = 'active'`, provider); id != "" {
			return id
		}
		if time.Now().After(deadline) {
			t.Fatalf("the mandate did not become active within 60 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// providerCheck is how a provider's payments are read from the sandbox's
// own database, by our reference (the charge's idempotency key).
type providerCheck struct {
	name string
	// payments counts the provider's payments with a reference; paid
	// counts those that succeeded.
	payments, paid string
}

var stripeCheck = providerCheck{"stripe",
	`SELECT count(*) FROM stripe_payment_intents WHERE json_extract(metadata, '$.charge_ref') = ?`,
	`SELECT count(*) FROM stripe_payment_intents WHERE json_extract(metadata, '$.charge_ref') = ? AND status = 'succeeded'`}

var pproCheck = providerCheck{"ppro",
	`SELECT count(*) FROM ppro_charges WHERE merchant_reference = ?`,
	`SELECT count(*) FROM ppro_charges WHERE merchant_reference = ? AND status = 'CAPTURED'`}

// Exactly once across kill -9. The storefront runs as a real process with
// a slow sandbox (every API answer held back 3 s after the work is
// recorded). A shopper sets up a mandate; the worker charges period 1 at
// activation; the moment the sandbox's own database shows the payment
// while the app's charge row is still pending, the process is killed with
// SIGKILL. Restarted on the same data without latency, the app converges
// on the provider's truth: the charge succeeded, and the provider holds
// exactly one payment for the period.
func TestKill9BetweenPaymentAndAnswer(t *testing.T) {
	bin := storefrontBinary(t)
	for _, pc := range []providerCheck{stripeCheck, pproCheck} {
		t.Run(pc.name, func(t *testing.T) {
			t.Parallel()
			kill9Scenario(t, bin, pc)
		})
	}
}

func kill9Scenario(t *testing.T, bin string, pc providerCheck) {
	dataDir := t.TempDir()
	env := billingEnv(dataDir)
	env["SANDBOX_LATENCY"] = "3s"
	app := startProcess(t, bin, env)
	appDB := readOnly(t, filepath.Join(dataDir, "storefront.db"))
	sandboxDB := readOnly(t, filepath.Join(dataDir, "sandbox.db"))

	// A shopper approves; the app learns of it from the webhook (the
	// shopper's own return is slow too, and not needed).
	b := pagetest.NewBrowser(t)
	b.Do(sandboxApproval(b, app.URL, pc.name).Submit("decision", "approve", nil)).Expect(http.StatusSeeOther)
	mandateID := waitActiveMandate(t, appDB, pc.name)
	key := "mandate/" + mandateID + "/period/1/attempt/1"

	// Wait for the window: the payment is at the provider, our row is
	// still pending. Then kill -9. The loop does not pause: the sooner the
	// kill follows the provider's commit, the likelier the provider's
	// webhooks about the payment have not reached the app either, so that
	// after the restart the app must find the payment by itself.
	deadline := time.Now().Add(60 * time.Second)
	for {
		if scalar(sandboxDB, pc.payments, key) == "1" {
			switch status := scalar(appDB, `SELECT status FROM charges WHERE idempotency_key = ?`, key); status {
			case "pending":
				app.kill9()
			default:
				t.Fatalf("the provider made the payment and the app already recorded %q: missed the window", status)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no payment for %s at the provider within 60 s", key)
		}
	}
	// Inside the window: now that the process is dead, its database still
	// has the charge pending, without the provider's reference, while the
	// provider holds the payment.
	if got := scalar(appDB, `SELECT status || ',' || coalesce(provider_ref, '') FROM charges WHERE idempotency_key = ?`, key); got != "pending," {
		t.Fatalf("after the kill the app's charge is %q, want pending without the provider's reference", got)
	}
	if got := scalar(sandboxDB, pc.payments, key); got != "1" {
		t.Fatalf("after the kill the provider holds %s payments for %s", got, key)
	}

	// The process stays down for three minutes, longer than every lease
	// it held (its claim on the billing, on webhook events) and than the
	// age at which a pending charge is reconciled. Rather than wait, the
	// demo clock it keeps in its database is moved on three minutes, as
	// the dashboard's "advance" does (the app reads it when it starts),
	// and, since leases are in real time whatever the demo clock says, the
	// dead process's leases are made to have ended, as three minutes of
	// waiting would leave them.
	rw, err := sql.Open("sqlite", "file:"+filepath.Join(dataDir, "storefront.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`UPDATE demo_clock SET offset_seconds = 180`,
		`UPDATE billing SET lease_until = '2000-01-01T00:00:00.000000Z' WHERE lease_until IS NOT NULL`,
		`UPDATE webhook_events SET leased_until = '2000-01-01T00:00:00.000000Z' WHERE leased_until IS NOT NULL`,
	} {
		if _, err := rw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	rw.Close()

	// Restart on the same data, without latency.
	delete(env, "SANDBOX_LATENCY")
	again := startProcess(t, bin, env)
	deadline = time.Now().Add(4 * time.Minute)
	for {
		status := scalar(appDB, `SELECT status FROM charges WHERE idempotency_key = ?`, key)
		if status != "pending" && status != "" {
			if status != "succeeded" {
				t.Fatalf("after the restart the charge is %s, want succeeded", status)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the charge is still %q 4 minutes after the restart", status)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Billing moves on once the dead process's claim has expired.
	deadline = time.Now().Add(4 * time.Minute)
	for scalar(appDB, `SELECT next_period FROM billing WHERE mandate_id = ?`, mandateID) != "2" {
		if time.Now().After(deadline) {
			t.Fatalf("billing did not move to period 2 within 4 minutes of the restart")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := scalar(sandboxDB, pc.payments, key); got != "1" {
		t.Errorf("the provider holds %s payments for %s, want exactly 1", got, key)
	}
	if got := scalar(sandboxDB, pc.paid, key); got != "1" {
		t.Errorf("the provider holds %s succeeded payments for %s, want 1", got, key)
	}
	if got := scalar(appDB, `SELECT count(*) FROM charges WHERE mandate_id = ?`, mandateID); got != "1" {
		t.Errorf("the app has %s charges for the mandate, want 1", got)
	}
	// Every payment the provider holds for this mandate is that one.
	all := `SELECT count(*) FROM stripe_payment_intents`
	if pc.name == "ppro" {
		all = `SELECT count(*) FROM ppro_charges`
	}
	if got := scalar(sandboxDB, all); got != "1" {
		t.Errorf("the provider holds %s payments in all, want 1", got)
	}
	// The restarted app is the same merchant to the sandbox (the same API
	// key): had it a new one, the sandbox, which scopes idempotency keys to
	// the API key as it scopes its account, would not know the key of the
	// payment resent after the crash, and would make a second one.
	if pc.name == "stripe" {
		if got := scalar(sandboxDB, `SELECT count(*) FROM stripe_accounts`); got != "1" {
			t.Errorf("the sandbox has %s Stripe accounts after the restart, want 1: the app's key changed", got)
		}
	}
	if t.Failed() {
		t.Logf("after the restart:\n%s", again.Logs())
	}
}

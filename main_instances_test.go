package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"example.com/storefront/internal/pagetest"
	"example.com/storefront/internal/pgtest"
)

// instancesEnv is what every instance on one PostgreSQL shares: the
// database, SESSION_KEYS (startInstance), ADMIN_PASSWORD (billingEnv), a
// daily plan and a short lease, so that a dead instance's claims pass to
// the others within seconds.
func instancesEnv(databaseURL string) map[string]string {
	return map[string]string{
		"DATABASE_URL":  databaseURL,
		"PLAN_INTERVAL": "day",
		"WORKER_BATCH":  "4",
		"WORKER_LEASE":  "10s",
	}
}

// openPostgres opens the instances' database, as an operator's psql would.
func openPostgres(t *testing.T, databaseURL string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// subscribe takes a shopper through a setup that starts on instance from
// and comes back to instance to: the sandbox returns the shopper to from
// (its BASE_URL), and the shopper's browser is sent to the same path on to
// instead, as a load balancer may. The session cookie and the signed
// return link work there, and the signed link to the shopper's own page
// back on the first, because the instances share SESSION_KEYS.
func subscribe(t *testing.T, from, to *process, provider, email string) {
	t.Helper()
	b := pagetest.NewBrowser(t)
	home := b.Get(from.URL + "/").Expect(http.StatusOK)
	form := url.Values{
		"name": {"Ada Lovelace"}, "email": {email}, "country": {"US"}, "provider": {provider},
		"consent": {"yes"}, "terms_version": {home.InputValue("terms_version")}, "terms_sha256": {home.InputValue("terms_sha256")},
	}
	page := b.Follow(b.Post(from.URL+"/create-checkout-session", form).Expect(http.StatusSeeOther)).Expect(http.StatusOK)
	if provider == "stripe" {
		page = b.Follow(b.Do(page.Submit("method", "amazon_pay", nil)).Expect(http.StatusSeeOther)).Expect(http.StatusOK)
	}
	back := b.Do(page.Submit("decision", "approve", nil)).Expect(http.StatusSeeOther).Location()
	if !strings.HasPrefix(back, from.URL+"/") {
		t.Fatalf("the sandbox sends the shopper to %s, want %s", back, from.URL)
	}
	p := b.Get(to.URL + strings.TrimPrefix(back, from.URL))
	for p.Status == http.StatusSeeOther {
		p = b.Follow(p)
	}
	p.Expect(http.StatusOK)
	// The outcome page (not a "session expired" page) says it is active.
	if got := p.TestIDAttr("outcome", "data-status"); got != "active" {
		t.Fatalf("%s: the return on another instance shows %q, want active:\n%s", provider, got, p.Text())
	}
	// The signed link to the shopper's own page, made by one instance,
	// opens it on the other from any browser.
	link := p.TestIDAttr("signed-link", "href")
	if !strings.HasPrefix(link, to.URL+"/") {
		t.Fatalf("the signed link %q is not on %s", link, to.URL)
	}
	other := pagetest.NewBrowser(t)
	own := other.Get(from.URL + strings.TrimPrefix(link, to.URL))
	for own.Status == http.StatusSeeOther {
		own = other.Follow(own)
	}
	if own.Expect(http.StatusOK); !strings.Contains(own.Text(), email) {
		t.Fatalf("the signed link opened on another instance does not show %s's subscription:\n%s", email, own.Text())
	}
}

// Three instances on one PostgreSQL and one sandbox process share the
// shop and its work, and never do it twice. Shoppers start their setups on
// every instance and come back through another; webhooks go to all three
// in turn (the gateway); the merchant logs in on one instance and presses
// "advance a period" on another with a form from the third. Then the clock
// moves six days, and in the middle of the billing run that follows, with
// all three instances holding claims, one is killed with kill -9. The
// other two finish it: every period due is paid exactly
// once, counted in the sandbox's own records, and nothing is left pending.
// The failed-login limit is the database's: five failures spread over the
// instances lock the client out of all three.
func TestThreeInstancesOnPostgreSQLShareTheWorkAcrossKill9(t *testing.T) {
	bin := storefrontBinary(t)
	databaseURL := pgtest.URL(t)
	gw := newGateway(t)
	// Every sandbox API answer held back, as a slow network would: the
	// billing run lasts long enough to be killed in its middle.
	sb := startSandbox(t, bin, gw.URL, map[string]string{"SANDBOX_LATENCY": "100ms"})
	var inst []*process
	for range 3 {
		inst = append(inst, startInstance(t, bin, sb.URL, instancesEnv(databaseURL)))
	}
	gw.SetTargets(t, inst[0].URL, inst[1].URL, inst[2].URL)
	db := openPostgres(t, databaseURL)
	sandboxDB := readOnly(t, filepath.Join(sb.Env["DATA_DIR"], "sandbox.db"))

	// Twelve shoppers, four starting on each instance, each coming back
	// through the next.
	t.Run("setups", func(t *testing.T) {
		for i := range 12 {
			provider := []string{"stripe", "ppro"}[i%2]
			from, to := inst[i%3], inst[(i+1)%3]
			t.Run(fmt.Sprintf("%s-%d", provider, i), func(t *testing.T) {
				t.Parallel()
				subscribe(t, from, to, provider, fmt.Sprintf("shopper%d@example.com", i))
			})
		}
	})
	if t.Failed() {
		t.FailNow()
	}
	waitFor(t, "period 1 of every mandate paid", func() bool {
		return scalar(db, `SELECT count(*) FROM billing WHERE next_period = 2`) == "12"
	})

	// The merchant logs in on instance 3, loads the dashboard from
	// instance 1, and presses "advance a period" (a day) on instance 2:
	// admin sessions and one-time form tokens live in the database. The
	// press runs the day's billing before it answers.
	b := pagetest.NewBrowser(t)
	b.Post(inst[2].URL+"/admin/login", url.Values{"password": {inst[2].Env["ADMIN_PASSWORD"]}}).Expect(http.StatusSeeOther)
	dash := b.Get(inst[0].URL + "/admin").Expect(http.StatusOK)
	press := dash.Submit("", "/admin/clock/advance", nil)
	press.URL.Host = strings.TrimPrefix(inst[1].URL, "http://")
	press.Host = press.URL.Host
	for _, h := range []string{"Origin", "Referer"} {
		if v := press.Header.Get(h); v != "" {
			press.Header.Set(h, strings.Replace(v, inst[0].URL, inst[1].URL, 1))
		}
	}
	b.Do(press).Expect(http.StatusSeeOther)
	if got := scalar(db, `SELECT count(*) FROM billing WHERE next_period = 3`); got != "12" {
		t.Fatalf("after the press on instance 2, %s of 12 mandates have paid period 2", got)
	}

	// Another presenter moves the clock six days on (the same increment a
	// press makes): every instance follows it and bills the six periods
	// of each mandate, in batches of four, with leases. While all three
	// hold claims, instance 2 is killed with kill -9.
	paidBefore, _ := strconv.Atoi(scalar(sandboxDB, `SELECT (SELECT count(*) FROM stripe_payment_intents) + (SELECT count(*) FROM ppro_charges)`))
	if _, err := db.Exec(`UPDATE demo_clock SET offset_seconds = offset_seconds + 518400`); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "all three instances billing at once", func() bool {
		return scalar(db, `SELECT count(DISTINCT lease_owner) FROM billing WHERE lease_owner IS NOT NULL`) == "3"
	})
	if err := inst[1].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-inst[1].done
	held := scalar(db, `SELECT count(*) FROM billing WHERE lease_owner IS NOT NULL`)
	paidAtKill, _ := strconv.Atoi(scalar(sandboxDB, `SELECT (SELECT count(*) FROM stripe_payment_intents) + (SELECT count(*) FROM ppro_charges)`))
	gw.SetTargets(t, inst[0].URL, inst[2].URL) // the load balancer notices

	// The two left finish the run: nothing due, nothing claimed, nothing
	// pending (the dead instance's claims expire after WORKER_LEASE).
	offset, _ := strconv.Atoi(scalar(db, `SELECT offset_seconds FROM demo_clock`))
	if offset < 7*86400 {
		t.Fatalf("the demo clock is %d s ahead, want 7 days", offset)
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		now := time.Now().UTC().Add(time.Duration(offset) * time.Second).Format("2006-01-02T15:04:05.000000Z")
		left := scalar(db, `SELECT (SELECT count(*) FROM billing WHERE state IN ('active', 'past_due') AND next_due_at <= $1)
			+ (SELECT count(*) FROM billing WHERE lease_owner IS NOT NULL)
			+ (SELECT count(*) FROM charges WHERE status = 'pending')
			+ (SELECT count(*) FROM webhook_events WHERE status = 'pending')`, now)
		if left == "0" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("3 minutes after the kill, %s periods due, claims or pending charges and events are left", left)
		}
		time.Sleep(200 * time.Millisecond)
	}
	paidAfter, _ := strconv.Atoi(scalar(sandboxDB, `SELECT (SELECT count(*) FROM stripe_payment_intents) + (SELECT count(*) FROM ppro_charges)`))
	t.Logf("the sandbox holds %d payments: %d before the six days, %d at the kill (with %s billings claimed)", paidAfter, paidBefore, paidAtKill, held)
	if paidAtKill >= paidAfter {
		t.Errorf("the kill came after the run: %d payments at the kill, %d at the end", paidAtKill, paidAfter)
	}

	// Exactly once, by the sandbox's own records: every period each
	// mandate's billing has passed is paid by one succeeded payment, and
	// the sandbox holds no other.
	periods := map[string]int{} // mandate → periods paid, by the app's billing
	rows, err := db.Query(`SELECT mandate_id, next_period - 1 FROM billing WHERE state = 'active'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			t.Fatal(err)
		}
		periods[id] = n
	}
	rows.Close()
	if len(periods) != 12 {
		t.Fatalf("%d active billings, want 12", len(periods))
	}
	// Our reference at the provider is "mandate/<id>/period/<n>/attempt/<k>".
	paid := map[string]int{} // "mandate/<id>/period/<n>" → succeeded payments
	for _, q := range []string{
		`SELECT json_extract(metadata, '$.charge_ref') FROM stripe_payment_intents WHERE status = 'succeeded'`,
		`SELECT merchant_reference FROM ppro_charges WHERE status = 'CAPTURED'`,
	} {
		rows, err := sandboxDB.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var ref string
			if err := rows.Scan(&ref); err != nil {
				t.Fatal(err)
			}
			period, _, _ := strings.Cut(ref, "/attempt/")
			paid[period]++
		}
		rows.Close()
	}
	total := 0
	for id, n := range periods {
		if n < 8 {
			t.Errorf("%s: %d periods paid after seven days of a daily plan, want 8", id, n)
		}
		for p := 1; p <= n; p++ {
			key := "mandate/" + id + "/period/" + strconv.Itoa(p)
			if paid[key] != 1 {
				t.Errorf("%s is paid by %d payments at the provider, want exactly 1", key, paid[key])
			}
			delete(paid, key)
			total++
		}
	}
	for key, n := range paid {
		t.Errorf("the provider holds %d payments for %s, which the app's billing has not passed", n, key)
	}
	if paidAfter != total {
		t.Errorf("the sandbox holds %d payments in all, want the %d periods paid (none failed, none twice)", paidAfter, total)
	}
	// Each webhook delivery was processed once, whichever instance got it.
	if got := scalar(db, `SELECT count(*) FROM (SELECT provider, event_id FROM webhook_events GROUP BY provider, event_id HAVING count(*) > 1) d`); got != "0" {
		t.Errorf("%s webhook events stored twice", got)
	}

	// Five failed logins spread over the two instances left lock the
	// client out of both, even with the right password.
	guess := pagetest.NewBrowser(t)
	for i := range 5 {
		guess.Post(inst[[]int{0, 2}[i%2]].URL+"/admin/login", url.Values{"password": {"wrong guess " + strconv.Itoa(i)}}).Expect(http.StatusUnauthorized)
	}
	for _, in := range []*process{inst[0], inst[2]} {
		guess.Post(in.URL+"/admin/login", url.Values{"password": {in.Env["ADMIN_PASSWORD"]}}).Expect(http.StatusTooManyRequests)
	}
}

// PostgreSQL restarts in the middle of a billing run. The instance runs
// as a real process on a server of its own (the built-in sandbox beside
// it, every API answer held back). While the server is down, pages answer
// 503 with a message and /healthz says why; the worker backs off. Once the
// server is back, both recover by themselves, and the run ends with every
// period due paid exactly once, counted in the sandbox's records, and
// nothing pending.
func TestPostgreSQLRestartDuringABillingRun(t *testing.T) {
	bin := storefrontBinary(t)
	srv := pgtest.Start(t)
	env := billingEnv(t.TempDir())
	for k, v := range instancesEnv(srv.URL()) {
		env[k] = v
	}
	env["SESSION_KEYS"] = testSessionKeys
	env["SANDBOX_LATENCY"] = "100ms"
	app := startProcess(t, bin, env)
	db := openPostgres(t, srv.URL())
	sandboxDB := readOnly(t, filepath.Join(env["DATA_DIR"], "sandbox.db"))

	for i := range 6 {
		provider := []string{"stripe", "ppro"}[i%2]
		subscribe(t, app, app, provider, fmt.Sprintf("shopper%d@example.com", i))
	}
	waitFor(t, "period 1 of every mandate paid", func() bool {
		return scalar(db, `SELECT count(*) FROM billing WHERE next_period = 2`) == "6"
	})
	b := pagetest.NewBrowser(t)
	b.Post(app.URL+"/admin/login", url.Values{"password": {env["ADMIN_PASSWORD"]}}).Expect(http.StatusSeeOther)
	b.Get(app.URL + "/admin").Expect(http.StatusOK)

	// Six days on: 36 periods to charge, four at a time.
	paidBefore, _ := strconv.Atoi(scalar(sandboxDB, `SELECT (SELECT count(*) FROM stripe_payment_intents) + (SELECT count(*) FROM ppro_charges)`))
	if _, err := db.Exec(`UPDATE demo_clock SET offset_seconds = offset_seconds + 518400`); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the billing run under way", func() bool {
		n, _ := strconv.Atoi(scalar(sandboxDB, `SELECT (SELECT count(*) FROM stripe_payment_intents) + (SELECT count(*) FROM ppro_charges)`))
		return n >= paidBefore+6
	})
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	paidAtStop, _ := strconv.Atoi(scalar(sandboxDB, `SELECT (SELECT count(*) FROM stripe_payment_intents) + (SELECT count(*) FROM ppro_charges)`))

	// Down: a page that needs the database says so, and so does /healthz.
	page := b.Get(app.URL + "/admin").Expect(http.StatusServiceUnavailable)
	if page.Header.Get("Retry-After") == "" || !strings.Contains(page.Text(), "cannot reach its records") {
		t.Errorf("the dashboard while the database is down: %s\n%s", page.Header, page.Text())
	}
	health := b.Get(app.URL + "/healthz").Expect(http.StatusServiceUnavailable)
	if !strings.Contains(health.Body, "database unavailable") {
		t.Errorf("/healthz while the database is down: %q", health.Body)
	}
	time.Sleep(3 * time.Second) // a few of the worker's passes fail meanwhile
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}

	// Back: the same pages work again, without a restart of the app.
	waitFor(t, "the dashboard back", func() bool { return b.Get(app.URL+"/admin").Status == http.StatusOK })
	b.Get(app.URL + "/healthz").Expect(http.StatusOK)
	waitFor(t, "the run finished", func() bool {
		offset, _ := strconv.Atoi(scalar(db, `SELECT offset_seconds FROM demo_clock`))
		now := time.Now().UTC().Add(time.Duration(offset) * time.Second).Format("2006-01-02T15:04:05.000000Z")
		return scalar(db, `SELECT (SELECT count(*) FROM billing WHERE state IN ('active', 'past_due') AND next_due_at <= $1)
			+ (SELECT count(*) FROM billing WHERE lease_owner IS NOT NULL)
			+ (SELECT count(*) FROM charges WHERE status = 'pending')`, now) == "0"
	})
	paidAfter, _ := strconv.Atoi(scalar(sandboxDB, `SELECT (SELECT count(*) FROM stripe_payment_intents) + (SELECT count(*) FROM ppro_charges)`))
	t.Logf("the sandbox holds %d payments: %d before the six days, %d when the database stopped", paidAfter, paidBefore, paidAtStop)
	if paidAtStop >= paidAfter {
		t.Errorf("the database stopped after the run: %d payments then, %d at the end", paidAtStop, paidAfter)
	}
	if !strings.Contains(app.Logs(), "the database is unavailable; trying again") {
		t.Errorf("the worker did not back off while the database was down")
	}
	// One succeeded payment per period and mandate, by the sandbox.
	if got := scalar(sandboxDB, `SELECT count(*) FROM (SELECT ref FROM (
			SELECT substr(json_extract(metadata, '$.charge_ref'), 1, instr(json_extract(metadata, '$.charge_ref'), '/attempt/')) AS ref
				FROM stripe_payment_intents WHERE status = 'succeeded'
			UNION ALL SELECT substr(merchant_reference, 1, instr(merchant_reference, '/attempt/')) FROM ppro_charges WHERE status = 'CAPTURED')
		GROUP BY ref HAVING count(*) > 1)`); got != "0" {
		t.Errorf("%s periods paid more than once", got)
	}
	if got, want := scalar(db, `SELECT sum(next_period - 1) FROM billing`), strconv.Itoa(paidAfter); got != want {
		t.Errorf("the app's billing has passed %s periods; the sandbox holds %s payments", got, want)
	}
	if got := scalar(db, `SELECT min(next_period) FROM billing`); got != "8" {
		t.Errorf("a mandate's next period is %s, want 8 after seven days of a daily plan", got)
	}
}

// A wrong or unreachable DATABASE_URL stops start-up with an error that
// names it, and never its password.
func TestRunRefusesAWrongDatabaseURL(t *testing.T) {
	base := pgtest.URL(t)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	missing := *u
	missing.Path = "/no_such_database"
	for name, databaseURL := range map[string]string{
		"unreachable":      "postgres://shop:s3cret-pw@127.0.0.1:1/shop?sslmode=disable&connect_timeout=5",
		"no such database": missing.String(),
	} {
		err := run(context.Background(), envFrom(map[string]string{
			"DATABASE_URL": databaseURL, "SESSION_KEYS": testSessionKeys, "ADMIN_PASSWORD": "correct horse battery staple",
			"ADDR": "127.0.0.1:0", "DATA_DIR": t.TempDir(),
		}), io.Discard)
		if err == nil || !strings.HasPrefix(err.Error(), "DATABASE_URL: ") || strings.Contains(err.Error(), "s3cret-pw") {
			t.Errorf("%s: run returned %v, want an error naming DATABASE_URL without the password", name, err)
		}
	}
}

// After SIGTERM with SHUTDOWN_DRAIN, the instance serves on while its
// /healthz answers 503, so that a load balancer sends it nothing new, then
// stops.
func TestShutdownDrainsBehindALoadBalancer(t *testing.T) {
	app := start(t, map[string]string{"SHUTDOWN_DRAIN": "2s"})
	if resp, err := http.Get(app.URL + "/healthz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz before the signal: %v %v", resp, err)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- app.stop() }()
	waitFor(t, "/healthz answering 503 while draining", func() bool {
		resp, err := http.Get(app.URL + "/healthz")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == http.StatusServiceUnavailable && strings.Contains(string(body), "draining")
	})
	if resp, err := http.Get(app.URL + "/"); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("the shop while draining: %v %v, want it still served", resp, err)
	}
	if err := <-stopped; err != nil {
		t.Errorf("run after draining: %v", err)
	}
	if _, err := http.Get(app.URL + "/healthz"); err == nil {
		t.Error("the listener is still open after the shutdown")
	}
}

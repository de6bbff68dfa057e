package main

import (
	"context"
	"database/sql"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"example.com/storefront/internal/pagetest"
	"example.com/storefront/sandbox"
)

// get sends a GET to the app at base with the Host header host ("" for
// base's own).
func get(t *testing.T, base, path, host string, header http.Header) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if host != "" {
		req.Host = host
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// formAction is the CSP form-action directive's sources.
func formAction(csp string) []string {
	for _, d := range strings.Split(csp, ";") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(d), "form-action "); ok {
			return strings.Fields(v)
		}
	}
	return nil
}

// A live Stripe key without its webhook secret would leave the mandates
// of shoppers who close the tab pending while Stripe holds their payment
// method: the app refuses to start and says what is missing. A test key
// starts, with a warning.
func TestLiveStripeKeyNeedsItsWebhookSecret(t *testing.T) {
	t.Parallel()
	for _, key := range []string{"sk_live_hardening", "rk_live_hardening"} {
		// Were it to start, it would serve until stopped, and call nothing
		// but a closed loopback port.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := run(ctx, envFrom(map[string]string{
			"STRIPE_SECRET_KEY": key, "STRIPE_API_URL": "http://127.0.0.1:9", "ADDR": "127.0.0.1:0", "DATA_DIR": t.TempDir(),
		}), io.Discard)
		cancel()
		if err == nil || !strings.Contains(err.Error(), "STRIPE_WEBHOOK_SECRET") {
			t.Errorf("%s without STRIPE_WEBHOOK_SECRET: %v, want a refusal naming it", key, err)
		}
	}

	const testKey = "sk_test_hardening"
	provider := otherSite(t, sandbox.Config{Stripe: sandbox.StripeConfig{SecretKey: testKey}})
	app := start(t, map[string]string{"STRIPE_SECRET_KEY": testKey, "STRIPE_API_URL": provider.URL + "/sandbox/stripe"})
	if err := app.stop(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(app.Logs.String(), "STRIPE_WEBHOOK_SECRET is not set") {
		t.Errorf("no warning about the missing webhook secret:\n%s", app.Logs)
	}
}

// With real credentials for one provider, the storefront offers only that
// provider: no sandbox stands in for the other, and /sandbox/ is not
// there, so nobody can approve their own mandate beside a live key.
func TestLiveKeyOffersNoSandbox(t *testing.T) {
	t.Parallel()
	const key = "sk_live_hardening"
	provider := otherSite(t, sandbox.Config{Stripe: sandbox.StripeConfig{SecretKey: key}})
	dataDir := t.TempDir()
	app := start(t, map[string]string{
		"DATA_DIR":              dataDir,
		"STRIPE_SECRET_KEY":     key,
		"STRIPE_WEBHOOK_SECRET": "whsec_hardening",
		"STRIPE_API_URL":        provider.URL + "/sandbox/stripe",
	})
	b := pagetest.NewBrowser(t)
	home := b.Get(app.URL + "/").Expect(http.StatusOK)
	if strings.Contains(home.Body, `value="ppro"`) {
		t.Error("the form offers PPRO, which has no credentials")
	}
	if !strings.Contains(home.Body, `value="stripe"`) {
		t.Error("the form does not offer Stripe")
	}
	if n := home.Count("mode-badge"); n != 1 {
		t.Errorf("%d mode badges, want Stripe's alone", n)
	}
	if badge, _ := home.TestID("mode-badge"); !strings.Contains(badge, "live") {
		t.Errorf("badge %q", badge)
	}
	if home.Count("sandbox-link") != 0 {
		t.Error("the page links to a sandbox")
	}
	for _, path := range []string{"/sandbox/", "/sandbox/ppro/authenticate/agr_x", "/sandbox/stripe/v1/account"} {
		b.Get(app.URL + path).Expect(http.StatusNotFound)
	}
	// The only origin besides our own that the form may end up at is
	// Stripe's (here the stand-in on another site).
	if got := formAction(home.Header.Get("Content-Security-Policy")); strings.Join(got, " ") != "'self' "+provider.URL {
		t.Errorf("form-action %q, want 'self' %s", got, provider.URL)
	}

	form := map[string][]string{
		"name": {"Grace Hopper"}, "email": {"grace@example.com"}, "country": {"US"}, "provider": {"ppro"},
		"consent": {"yes"}, "terms_version": {home.InputValue("terms_version")}, "terms_sha256": {home.InputValue("terms_sha256")},
	}
	b.Post(app.URL+"/create-checkout-session", form).Expect(http.StatusUnprocessableEntity)
	form["provider"] = []string{"stripe"}
	resp := b.Post(app.URL+"/create-checkout-session", form).Expect(http.StatusSeeOther)
	if loc := resp.Location(); !strings.HasPrefix(loc, provider.URL+"/sandbox/stripe/checkout/") {
		t.Errorf("sent to %s", loc)
	}
	if err := app.stop(); err != nil {
		t.Fatal(err)
	}
	// Real credentials and no SMTP_URL: the shoppers' emails wait in the
	// outbox (no sandbox mailbox takes them), and start-up says so.
	if logs := app.Logs.String(); !strings.Contains(logs, "SMTP_URL is not set: messages to shoppers") {
		t.Errorf("no warning that emails wait for SMTP_URL:\n%s", logs)
	}
	// The mandate records how real it was.
	db := openSQLite(t, filepath.Join(dataDir, "storefront.db"))
	var provider_, mode string
	if err := db.QueryRow(`SELECT provider, mode FROM mandates`).Scan(&provider_, &mode); err != nil {
		t.Fatal(err)
	}
	if provider_ != "stripe" || mode != "live" {
		t.Errorf("mandate %s in mode %s", provider_, mode)
	}
}

// form-action names the providers' own origins, never all of https:.
func TestFormActionNamesTheProvidersOrigins(t *testing.T) {
	t.Parallel()
	// Real providers are https (here a loopback stand-in that answers
	// nothing useful; only the start-up matters).
	tls := httptest.NewTLSServer(http.NotFoundHandler())
	t.Cleanup(tls.Close)
	app := start(t, map[string]string{
		"STRIPE_SECRET_KEY": "sk_test_hardening", "STRIPE_API_URL": tls.URL,
		"PPRO_API_TOKEN": "ppro_hardening", "PPRO_MERCHANT_ID": "merch_hardening", "PPRO_API_URL": tls.URL,
	})
	resp := get(t, app.URL, "/", "", nil)
	got := formAction(resp.Header.Get("Content-Security-Policy"))
	want := []string{"'self'", "https://checkout.stripe.com", "https://*.ppro.com"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("form-action %q, want %q", got, want)
	}
	for _, src := range got {
		if src == "https:" || src == "*" || src == "http:" {
			t.Errorf("form-action allows %q", src)
		}
	}
}

// DATA_DIR holds the session key and the shoppers' consent evidence: it
// is made private (0700, its files 0600) even when it already existed
// with wider permissions, as did its database.
func TestDataFilesArePrivate(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil { // whatever the umask
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		fi, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm != 0o700 {
			t.Errorf("%s: DATA_DIR is %o, want 700", when, perm)
		}
		n := 0
		filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			n++
			fi, err := d.Info()
			if err != nil {
				return nil // a -shm or -wal file removed meanwhile
			}
			if perm := fi.Mode().Perm(); perm != 0o600 {
				t.Errorf("%s: %s is %o, want 600", when, d.Name(), perm)
			}
			return nil
		})
		if n < 3 {
			t.Errorf("%s: %d files in DATA_DIR, want the databases and the session key", when, n)
		}
	}

	app := start(t, map[string]string{"DATA_DIR": dir})
	get(t, app.URL, "/", "", nil)
	check("a new data directory")
	if err := app.stop(); err != nil {
		t.Fatal(err)
	}

	// Made readable by all, as a copy or an older version would leave them.
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if d.IsDir() {
			mode = 0o755
		}
		return os.Chmod(path, mode)
	})
	for _, f := range []string{"storefront.db", "sandbox.db", "session.key"} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Mode().Perm() != 0o644 {
			t.Fatalf("%s before the restart: %v %v", f, fi, err)
		}
	}
	again := start(t, map[string]string{"DATA_DIR": dir})
	get(t, again.URL, "/", "", nil)
	check("an existing data directory")
}

// Per-client limits: 429 with Retry-After past the burst, per group of
// routes; RATE_LIMIT=off switches them off (for the load driver).
func TestRateLimits(t *testing.T) {
	t.Parallel()
	app := start(t, map[string]string{"RATE_LIMIT": "1"}) // a burst of 10, then one a minute
	for i := range 10 {
		if resp := get(t, app.URL, "/return?mandate=md_nope", "", nil); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("request %d: %d, want 404", i+1, resp.StatusCode)
		}
	}
	resp := get(t, app.URL, "/return?mandate=md_nope", "", nil)
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("request 11: %d, want 429", resp.StatusCode)
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || s < 1 || s > 60 {
		t.Errorf("Retry-After %q, want 1 to 60 seconds", resp.Header.Get("Retry-After"))
	}
	if resp.Header.Get("Content-Security-Policy") == "" {
		t.Error("the 429 has no security headers")
	}
	if resp := get(t, app.URL, "/", "", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("the home page (not limited): %d", resp.StatusCode)
	}
	// Webhooks have a group (and a larger burst) of their own.
	var last int
	for range 11 {
		r, err := http.Post(app.URL+"/webhooks/ppro", "application/json", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		last = r.StatusCode
	}
	if last != http.StatusTooManyRequests {
		t.Errorf("webhook 11: %d, want 429", last)
	}

	off := start(t, map[string]string{"RATE_LIMIT": "off"})
	for i := range 40 {
		if resp := get(t, off.URL, "/return?mandate=md_nope", "", nil); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("with RATE_LIMIT=off, request %d: %d", i+1, resp.StatusCode)
		}
	}
}

// Behind a trusted proxy the client is the address the proxy saw;
// otherwise X-Forwarded-For is anyone's to write and is not believed.
func TestRateLimitClientBehindAProxy(t *testing.T) {
	t.Parallel()
	from := func(ip string) http.Header { return http.Header{"X-Forwarded-For": {"198.51.100.7, " + ip}} }
	exhaust := func(base string, h http.Header) {
		t.Helper()
		for range 10 {
			get(t, base, "/return?mandate=md_nope", "", h)
		}
		if resp := get(t, base, "/return?mandate=md_nope", "", h); resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("past the burst: %d", resp.StatusCode)
		}
	}
	proxied := start(t, map[string]string{"RATE_LIMIT": "1", "TRUSTED_PROXIES": "127.0.0.1/32"})
	exhaust(proxied.URL, from("203.0.113.1"))
	if resp := get(t, proxied.URL, "/return?mandate=md_nope", "", from("203.0.113.2")); resp.StatusCode != http.StatusNotFound {
		t.Errorf("another client behind the proxy: %d, want 404", resp.StatusCode)
	}

	direct := start(t, map[string]string{"RATE_LIMIT": "1"})
	exhaust(direct.URL, from("203.0.113.1"))
	if resp := get(t, direct.URL, "/return?mandate=md_nope", "", from("203.0.113.2")); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("a forged X-Forwarded-For escaped the limit: %d", resp.StatusCode)
	}
}

// The Host header must be ours (against DNS rebinding): BASE_URL's host,
// or without one the loopback names, and the listener's own address for
// the sandbox's server-to-server calls. The refusal carries the security
// headers too.
func TestHostHeaderIsChecked(t *testing.T) {
	t.Parallel()
	app := start(t, map[string]string{})
	u, _ := url.Parse(app.URL)
	port := u.Port()
	for _, host := range []string{"127.0.0.1:" + port, "localhost:" + port, "LOCALHOST:" + port, "[::1]:" + port} {
		if resp := get(t, app.URL, "/", host, nil); resp.StatusCode != http.StatusOK {
			t.Errorf("Host %s: %d, want 200", host, resp.StatusCode)
		}
	}
	for _, host := range []string{"evil.example", "evil.example:" + port, "localhost", "localhost:1", "127.0.0.2:" + port} {
		resp := get(t, app.URL, "/", host, nil)
		if resp.StatusCode != http.StatusMisdirectedRequest {
			t.Errorf("Host %s: %d, want 421", host, resp.StatusCode)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("Host %s: the refusal has no security headers: %v", host, resp.Header)
		}
	}
	// The sandbox is behind the same check.
	if resp := get(t, app.URL, "/sandbox/", "evil.example", nil); resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("the sandbox for Host evil.example: %d", resp.StatusCode)
	}

	listener := freeAddr(t)
	start(t, map[string]string{"BASE_URL": "https://shop.example", "ADDR": listener})
	resp := get(t, "http://"+listener, "/", "shop.example", nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Strict-Transport-Security") == "" {
		t.Errorf("Host shop.example: %d, HSTS %q", resp.StatusCode, resp.Header.Get("Strict-Transport-Security"))
	}
	if resp := get(t, "http://"+listener, "/", listener, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("the listener's own address: %d", resp.StatusCode)
	}
	_, lport, _ := strings.Cut(listener, ":")
	if resp := get(t, "http://"+listener, "/", "localhost:"+lport, nil); resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("Host localhost with a BASE_URL: %d, want 421", resp.StatusCode)
	}
}

// Under an https BASE_URL the session cookie is __Host- prefixed (Secure,
// Path=/, no Domain), so no sibling host can set it; and the redirect that
// sets it carries the security headers.
func TestSessionCookieIsHostPrefixedUnderHTTPS(t *testing.T) {
	t.Parallel()
	listener := freeAddr(t)
	start(t, map[string]string{"BASE_URL": "https://shop.example", "ADDR": listener})
	base := "http://" + listener
	b := pagetest.NewBrowser(t)
	req, _ := http.NewRequest(http.MethodGet, base+"/", nil)
	req.Host = "shop.example"
	home := b.Do(req).Expect(http.StatusOK)
	form := url.Values{
		"name": {"Grace Hopper"}, "email": {"grace@example.com"}, "country": {"US"}, "provider": {"stripe"},
		"consent": {"yes"}, "terms_version": {home.InputValue("terms_version")}, "terms_sha256": {home.InputValue("terms_sha256")},
	}
	req, _ = http.NewRequest(http.MethodPost, base+"/create-checkout-session", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Host = "shop.example"
	resp := b.Do(req).Expect(http.StatusSeeOther)
	if loc := resp.Location(); !strings.HasPrefix(loc, "https://shop.example/sandbox/stripe/checkout/") {
		t.Errorf("sent to %s", loc)
	}
	cookies := (&http.Response{Header: resp.Header}).Cookies()
	if len(cookies) != 1 {
		t.Fatalf("cookies: %v", cookies)
	}
	c := cookies[0]
	if c.Name != "__Host-storefront" || !c.Secure || c.Path != "/" || c.Domain != "" || !c.HttpOnly {
		t.Errorf("cookie %+v, want __Host-storefront, Secure, HttpOnly, Path=/, no Domain", c)
	}
	for _, h := range []string{"Content-Security-Policy", "Strict-Transport-Security", "X-Content-Type-Options", "Referrer-Policy"} {
		if resp.Header.Get(h) == "" {
			t.Errorf("the redirect has no %s", h)
		}
	}
}

// freeAddr is a loopback address with a port free a moment ago, for an
// app whose BASE_URL does not say where it listens.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// openSQLite opens a database file read-only, closed when the test ends.
func openSQLite(t *testing.T, file string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+file+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// What a request puts in the log is bounded (200 characters a value), so
// a stranger's requests cannot grow the log by megabytes.
func TestLoggedRequestValuesAreTruncated(t *testing.T) {
	t.Parallel()
	app := start(t, map[string]string{})
	long := strings.Repeat("a", 5000)
	get(t, app.URL, "/"+long, "", nil)
	get(t, app.URL, "/return?mandate=md_"+long, "", nil)
	r, err := http.Post(app.URL+"/webhooks/ppro", "application/json", strings.NewReader(`{"id":"`+long+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if err := app.stop(); err != nil {
		t.Fatal(err)
	}
	logs := app.Logs.String()
	if !strings.Contains(logs, "path=/aaaa") || !strings.Contains(logs, "md_aaaa") {
		t.Fatalf("the requests are not in the log:\n%.2000s", logs)
	}
	if strings.Contains(logs, strings.Repeat("a", 201)) {
		t.Error("a logged value is longer than 200 characters")
	}
	for _, line := range strings.Split(logs, "\n") {
		if len(line) > 1500 {
			t.Errorf("a log line of %d bytes: %.300s…", len(line), line)
		}
	}
}

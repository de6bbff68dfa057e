package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"example.com/storefront/internal/pagetest"
	"example.com/storefront/sandbox/standalone"
)

// testSessionKeys are the instances' shared SESSION_KEYS: a shopper's
// cookie and signed links then work on every instance.
const testSessionKeys = "5e55104e5e55104e5e55104e5e55104e5e55104e5e55104e5e55104e5e55104e"

// startSandbox runs `storefront sandbox` as a process with its own
// DATA_DIR, delivering webhooks to webhookURL; extra overrides its
// environment.
func startSandbox(t testing.TB, bin, webhookURL string, extra map[string]string) *process {
	t.Helper()
	env := map[string]string{"ADDR": "127.0.0.1:0", "DATA_DIR": t.TempDir(), "WEBHOOK_URL": webhookURL, "LOG_LEVEL": "debug"}
	for k, v := range extra {
		env[k] = v
	}
	return startProcess(t, bin, env, "sandbox")
}

// startInstance runs a storefront instance as a process on the sandbox
// process at sandboxURL: billingEnv's settings, its own DATA_DIR, the
// shared testSessionKeys, and extra on top (DATABASE_URL, say, for
// instances that share a database).
func startInstance(t *testing.T, bin, sandboxURL string, extra map[string]string) *process {
	t.Helper()
	env := billingEnv(t.TempDir())
	env["SANDBOX_URL"] = sandboxURL
	env["SESSION_KEYS"] = testSessionKeys
	for k, v := range extra {
		env[k] = v
	}
	return startProcess(t, bin, env)
}

// gateway is the load balancer in front of the instances, which the
// sandbox's webhooks are sent to: it hands requests to its targets in
// turn and records what it was sent.
type gateway struct {
	URL     string
	mu      sync.Mutex
	targets []*url.URL
	next    int
	seen    []string // "POST /webhooks/stripe 200", in order
}

func newGateway(t *testing.T) *gateway {
	g := &gateway{}
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(r.In.Context().Value(targetKey{}).(*url.URL))
	}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		if len(g.targets) == 0 {
			g.mu.Unlock()
			http.Error(w, "no instance yet", http.StatusServiceUnavailable)
			return
		}
		target := g.targets[g.next%len(g.targets)]
		g.next++
		g.mu.Unlock()
		rec := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		proxy.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), targetKey{}, target)))
		g.mu.Lock()
		g.seen = append(g.seen, r.Method+" "+r.URL.Path+" "+strconv.Itoa(rec.code))
		g.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	g.URL = srv.URL
	return g
}

type targetKey struct{}

// SetTargets makes the gateway send to these instances.
func (g *gateway) SetTargets(t *testing.T, urls ...string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.targets = nil
	for _, u := range urls {
		parsed, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		g.targets = append(g.targets, parsed)
	}
}

// waitSeen waits up to 60 s for the gateway to have passed on a request
// whose line starts with want ("POST /webhooks/stripe 2": any success).
func (g *gateway) waitSeen(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		g.mu.Lock()
		seen := strings.Join(g.seen, "\n")
		g.mu.Unlock()
		if strings.HasPrefix(seen, want) || strings.Contains(seen, "\n"+want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the gateway was not sent %q within 60 s; it saw:\n%s", want, seen)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) { w.code = code; w.ResponseWriter.WriteHeader(code) }

// One sandbox process for several instances. `storefront sandbox` runs on
// its own address with its own data, delivering webhooks to one URL (a
// gateway in front of the instances); two instances point at it with
// SANDBOX_URL alone. A Stripe and a PPRO setup go through instance 1 to
// the sandbox's pages and back, their webhooks arrive through the gateway,
// and a month's advance of the demo clock on instance 1 reaches the
// sandbox before the month's charges are made: the sandbox dates them a
// month on.
//
// Each instance has its own SQLite DATA_DIR here, so the gateway sends
// webhooks to instance 1, which holds the mandates; on one shared
// database it would send them to all.
func TestSandboxProcessServesSeveralInstances(t *testing.T) {
	bin := storefrontBinary(t)
	gw := newGateway(t)
	sb := startSandbox(t, bin, gw.URL, nil)
	i1 := startInstance(t, bin, sb.URL, nil)
	i2 := startInstance(t, bin, sb.URL, nil)
	gw.SetTargets(t, i1.URL)
	sandboxDB := readOnly(t, filepath.Join(sb.Env["DATA_DIR"], "sandbox.db"))
	appDB := readOnly(t, filepath.Join(i1.Env["DATA_DIR"], "storefront.db"))

	b := pagetest.NewBrowser(t)
	for _, inst := range []*process{i1, i2} {
		home := b.Get(inst.URL + "/").Expect(http.StatusOK)
		if got := home.TestIDAttr("sandbox-link", "href"); got != sb.URL+"/sandbox/" {
			t.Errorf("%s links to the sandbox at %q, want %s/sandbox/", inst.URL, got, sb.URL)
		}
		if csp := home.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' "+sb.URL+";") {
			t.Errorf("%s: the checkout form may not go to the sandbox: %s", inst.URL, csp)
		}
		// No sandbox of its own.
		b.Get(inst.URL + "/sandbox/").Expect(http.StatusNotFound)
		for _, f := range []string{"sandbox.db", "sandbox.key"} {
			if _, err := os.Stat(filepath.Join(inst.Env["DATA_DIR"], f)); err == nil {
				t.Errorf("instance %s made its own %s", inst.URL, f)
			}
		}
	}

	mandates := map[string]string{}
	for _, provider := range []string{"stripe", "ppro"} {
		page := sandboxApproval(b, i1.URL, provider)
		if !strings.HasPrefix(page.URL.String(), sb.URL+"/sandbox/"+provider+"/") {
			t.Fatalf("%s: the shopper approves at %s, want the sandbox process's page", provider, page.URL)
		}
		back := b.Do(page.Submit("decision", "approve", nil)).Expect(http.StatusSeeOther)
		if loc := back.Location(); !strings.HasPrefix(loc, i1.URL+"/") {
			t.Fatalf("%s: the sandbox sends the shopper to %s, want instance 1", provider, loc)
		}
		gw.waitSeen(t, "POST /webhooks/"+provider+" 2")
		mandates[provider] = waitActiveMandate(t, appDB, provider)
	}
	// Period 1 is charged at activation, on the sandbox's (real) date.
	for provider, id := range mandates {
		waitFor(t, "period 1 of the "+provider+" mandate paid", func() bool {
			return scalar(appDB, `SELECT next_period FROM billing WHERE mandate_id = ?`, id) == "2"
		})
	}

	// A month on, on instance 1's dashboard.
	b.Follow(b.Post(i1.URL+"/admin/login", url.Values{"password": {i1.Env["ADMIN_PASSWORD"]}}).Expect(http.StatusSeeOther)).Expect(http.StatusOK)
	dash := b.Get(i1.URL + "/admin").Expect(http.StatusOK)
	pressed := time.Now()
	b.Do(dash.Submit("", "/admin/clock/advance", nil)).Expect(http.StatusSeeOther)
	offset, _ := strconv.Atoi(scalar(appDB, `SELECT offset_seconds FROM demo_clock`))
	if offset < 28*86400 {
		t.Fatalf("the instance's demo clock is %d s ahead after a month's advance", offset)
	}

	// The sandbox's clock says so, and the month's payments, made by the
	// advance before the page came back, are dated a month on.
	keys, err := standalone.FetchKeys(context.Background(), nil, sb.URL, 0)
	if err != nil {
		t.Fatal(err)
	}
	remote := &standalone.Clock{URL: sb.URL, Key: keys.StripeSecretKey}
	if got, err := remote.Offset(context.Background()); err != nil || got != time.Duration(offset)*time.Second {
		t.Errorf("the sandbox's clock is %v ahead (%v), want the instance's %d s", got, err, offset)
	}
	monthOn := pressed.Add(time.Duration(offset)*time.Second - time.Minute).Unix()
	if got := scalar(sandboxDB, `SELECT count(*) FROM stripe_payment_intents WHERE created >= ?`, monthOn); got != "1" {
		t.Errorf("the sandbox holds %s Stripe payments dated a month on, want 1 (period 2); created: %s", got,
			scalar(sandboxDB, `SELECT group_concat(created, ', ') FROM stripe_payment_intents`))
	}
	if got := scalar(sandboxDB, `SELECT count(*) FROM ppro_charges WHERE created_ms >= ?`, monthOn*1000); got != "1" {
		t.Errorf("the sandbox holds %s PPRO charges dated a month on, want 1 (period 2); created: %s", got,
			scalar(sandboxDB, `SELECT group_concat(created_ms, ', ') FROM ppro_charges`))
	}

	// The shoppers' emails land in the sandbox process's mailbox: two
	// confirmations and four receipts (periods 1 and 2 of each mandate),
	// each once, from the instance that wrote them.
	waitFor(t, "six emails in the sandbox's mailbox", func() bool {
		return scalar(sandboxDB, `SELECT count(*) FROM mail`) == "6"
	})
	// The instance marks an email sent once the mailbox has answered, a
	// moment after the mailbox has it.
	waitFor(t, "instance 1's six emails marked sent", func() bool {
		return scalar(appDB, `SELECT count(*) FROM outbox WHERE status = 'sent'`) == "6"
	})
	if got := scalar(sandboxDB, `SELECT count(DISTINCT key) FROM mail WHERE to_address = 'ada@example.com'`); got != "6" {
		t.Errorf("%s distinct emails to the shopper", got)
	}

	// The sandbox stops on SIGTERM.
	if err := sb.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-sb.done:
	case <-time.After(15 * time.Second):
		t.Fatal("the sandbox did not stop within 15 s of SIGTERM")
	}
	if logs := sb.Logs(); !strings.Contains(logs, "shutting down") {
		t.Errorf("the sandbox's logs lack its shutdown:\n%s", logs)
	}
}

// waitFor polls cond for up to 60 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 60 s: %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"example.com/storefront/internal/pagetest"
)

// started is a storefront running in-process through run(), as `go run .`
// runs it.
type started struct {
	URL  string
	Logs *strings.Builder
	stop func() error
}

var listening = regexp.MustCompile(`msg="(?:storefront|sandbox) listening" url=(\S+)`)

// start runs the app with env on a free loopback port and waits until it
// says where it listens.
func start(t testing.TB, env map[string]string) *started {
	t.Helper()
	if env["ADDR"] == "" {
		env["ADDR"] = "127.0.0.1:0"
	}
	if env["DATA_DIR"] == "" {
		env["DATA_DIR"] = t.TempDir()
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, envFrom(env), pw)
		pw.Close()
	}()
	s := &started{Logs: &strings.Builder{}}
	urlc := make(chan string, 1)
	linesDone := make(chan struct{})
	go func() {
		defer close(linesDone)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			s.Logs.WriteString(sc.Text() + "\n")
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				urlc <- m[1]
			}
		}
	}()
	select {
	case s.URL = <-urlc:
	case err := <-done:
		t.Fatalf("run returned before listening: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the app did not start within 10 s")
	}
	var stopped bool
	var runErr error
	s.stop = func() error {
		if !stopped {
			stopped = true
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(15 * time.Second):
				t.Fatal("run did not return within 15 s of the signal")
			}
			<-linesDone
		}
		return runErr
	}
	t.Cleanup(func() { s.stop() })
	return s
}

func TestRunServesTheSandboxFlowAndShutsDown(t *testing.T) {
	dataDir := t.TempDir()
	app := start(t, map[string]string{"DATA_DIR": dataDir, "ADDR": "localhost:0"})
	if !strings.HasPrefix(app.URL, "http://localhost:") {
		t.Fatalf("base URL %s, want http://localhost:<port>", app.URL)
	}
	b := pagetest.NewBrowser(t)
	home := b.Get(app.URL + "/").Expect(http.StatusOK)
	if got, _ := home.TestID("mode-badge"); got != "Stripe: sandbox" {
		t.Errorf("badge %q", got)
	}
	form := map[string][]string{
		"name": {"Grace Hopper"}, "email": {"grace@example.com"}, "country": {"US"}, "provider": {"stripe"},
		"consent": {"yes"}, "terms_version": {home.InputValue("terms_version")}, "terms_sha256": {home.InputValue("terms_sha256")},
	}
	checkout := b.Follow(b.Post(app.URL+"/create-checkout-session", form).Expect(http.StatusSeeOther)).Expect(http.StatusOK)
	if !strings.HasPrefix(checkout.URL.String(), app.URL+"/sandbox/stripe/checkout/") {
		t.Fatalf("checkout at %s", checkout.URL)
	}
	approval := b.Follow(b.Do(checkout.Submit("method", "amazon_pay", nil)).Expect(http.StatusSeeOther)).Expect(http.StatusOK)
	success := b.Follow(b.Do(approval.Submit("decision", "approve", nil)).Expect(http.StatusSeeOther)).Expect(http.StatusOK)
	if got := success.TestIDAttr("outcome", "data-status"); got != "active" {
		t.Fatalf("outcome %q", got)
	}

	if err := app.stop(); err != nil {
		t.Fatalf("run returned %v after the signal", err)
	}
	logs := app.Logs.String()
	for _, want := range []string{"SESSION_KEYS is not set", "request_id=", "path=/create-checkout-session", "status=303", "shutting down"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "sk_test_sandbox_") {
		t.Error("a secret key appears in the logs")
	}
	for _, f := range []string{"storefront.db", "sandbox.db", "session.key"} {
		if _, err := os.Stat(filepath.Join(dataDir, f)); err != nil {
			t.Errorf("DATA_DIR lacks %s: %v", f, err)
		}
	}

	// A restart on the same data keeps the session key: the browser's cookie
	// still proves it owns the mandate.
	again := start(t, map[string]string{"DATA_DIR": dataDir, "ADDR": "localhost:0"}) // cookies are per host, not port
	page := b.Get(again.URL + success.URL.RequestURI()).Expect(http.StatusOK)
	if got := page.TestIDAttr("outcome", "data-status"); got != "active" {
		t.Errorf("after a restart the success page shows %q", got)
	}
}

func TestRunRefusesBadConfigAndBusyPort(t *testing.T) {
	err := run(context.Background(), envFrom(map[string]string{"PLAN_AMOUNT": "twelve", "DATA_DIR": t.TempDir()}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "PLAN_AMOUNT") {
		t.Errorf("bad PLAN_AMOUNT: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	err = run(context.Background(), envFrom(map[string]string{"ADDR": ln.Addr().String(), "DATA_DIR": t.TempDir()}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "ADDR") {
		t.Errorf("busy port: %v", err)
	}
}

func TestBaseURLAndLoopback(t *testing.T) {
	for _, tc := range []struct{ addr, actual, base, loop string }{
		{"localhost:0", "127.0.0.1:4321", "http://localhost:4321", "127.0.0.1:4321"},
		{":8080", "[::]:8080", "http://localhost:8080", "127.0.0.1:8080"},
		{"0.0.0.0:80", "0.0.0.0:80", "http://localhost:80", "127.0.0.1:80"},
		{"[::1]:9000", "[::1]:9000", "http://[::1]:9000", "[::1]:9000"},
	} {
		a, err := net.ResolveTCPAddr("tcp", tc.actual)
		if err != nil {
			t.Fatal(err)
		}
		if got := defaultBaseURL(tc.addr, a); got != tc.base {
			t.Errorf("defaultBaseURL(%s, %s) = %s, want %s", tc.addr, tc.actual, got, tc.base)
		}
		if got := loopbackAddr(a); got != tc.loop {
			t.Errorf("loopbackAddr(%s) = %s, want %s", tc.actual, got, tc.loop)
		}
	}
}

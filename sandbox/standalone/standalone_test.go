package standalone_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"example.com/storefront/sandbox"
	"example.com/storefront/sandbox/mailbox"
	"example.com/storefront/sandbox/standalone"
)

// config is a sandbox with both parts on, its data in dir, served at base.
func config(dir, base string) sandbox.Config {
	return sandbox.Config{
		DBPath:       filepath.Join(dir, "sandbox.db"),
		PublicURL:    base + "/sandbox",
		MerchantName: "Acme Coffee Club",
		Stripe:       sandbox.StripeConfig{SecretKey: "sk_test_sandbox_standalone", WebhookSecret: "whsec_standalone", WebhookURL: "http://127.0.0.1:1/webhooks/stripe"},
		PPRO: sandbox.PPROConfig{APIToken: "ppro_sandbox_standalone", MerchantID: "merch_sandbox",
			WebhookURL: "http://127.0.0.1:1/webhooks/ppro", WebhookSecret: "ppro_whsec_standalone"},
	}
}

// served is a Server on a loopback address.
type served struct {
	*standalone.Server
	URL  string
	stop func()
}

// serve opens a Server on dir and serves it on a loopback address until
// stop (or the test's end).
func serve(t *testing.T, dir string) *served {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	s, err := standalone.Open(context.Background(), config(dir, base))
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = s
	srv.Start()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			srv.Close()
			if err := s.Close(); err != nil {
				t.Error(err)
			}
		})
	}
	t.Cleanup(stop)
	return &served{Server: s, URL: base, stop: stop}
}

func TestKeysAreWhatTheSandboxAccepts(t *testing.T) {
	t.Parallel()
	base := serve(t, t.TempDir()).URL
	keys, err := standalone.FetchKeys(context.Background(), nil, base, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := standalone.Keys{
		StripeSecretKey: "sk_test_sandbox_standalone", StripeWebhookSecret: "whsec_standalone",
		PPROToken: "ppro_sandbox_standalone", PPROMerchantID: "merch_sandbox", PPROWebhookSecret: "ppro_whsec_standalone",
		PublicURL: base,
	}
	if keys != want {
		t.Fatalf("keys %+v, want %+v", keys, want)
	}
	// The Stripe key is the one its API takes.
	req, _ := http.NewRequest(http.MethodGet, base+"/sandbox/stripe/v1/account", nil)
	req.SetBasicAuth(keys.StripeSecretKey, "")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("the Stripe API answers the key with %s", resp.Status)
	}
}

// An instance may start before the sandbox: FetchKeys tries again until
// the sandbox answers, and gives up after its wait.
func TestFetchKeysWaitsForTheSandbox(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens: connections are refused
	if _, err := standalone.FetchKeys(context.Background(), nil, "http://"+addr, 300*time.Millisecond); err == nil {
		t.Fatal("keys from nowhere")
	}

	s, err := standalone.Open(context.Background(), config(t.TempDir(), "http://"+addr))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	go func() {
		time.Sleep(500 * time.Millisecond)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Error(err)
			return
		}
		srv := &http.Server{Handler: s}
		t.Cleanup(func() { srv.Close() })
		srv.Serve(ln)
	}()
	keys, err := standalone.FetchKeys(context.Background(), nil, "http://"+addr, 20*time.Second)
	if err != nil || keys.StripeSecretKey == "" {
		t.Fatalf("keys %+v, %v", keys, err)
	}
}

// The clock takes the Stripe secret key; its offset is kept in the
// sandbox's database and is the sandbox's time after a restart.
func TestClockNeedsTheKeyAndSurvivesARestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := serve(t, dir)
	base := s.URL
	ctx := context.Background()

	for _, tc := range []struct{ method, auth string }{
		{http.MethodGet, ""},
		{http.MethodPut, ""},
		{http.MethodPut, "Bearer sk_test_wrong"},
		{http.MethodPut, "Basic " + "c2tfdGVzdF9zYW5kYm94X3N0YW5kYWxvbmU6"}, // the key, but not as a bearer token
	} {
		req, _ := http.NewRequest(tc.method, base+"/sandbox/clock", strings.NewReader(`{"offset_seconds": 86400}`))
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s with %q: %s, want 401", tc.method, tc.auth, resp.Status)
		}
	}
	if d := time.Until(s.Now()); d > time.Minute {
		t.Fatalf("a refused push moved the clock %v", d)
	}

	wrong := &standalone.Clock{URL: base, Key: "sk_test_wrong"}
	if err := wrong.SetOffset(ctx, time.Hour); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("a push with the wrong key: %v", err)
	}
	c := &standalone.Clock{URL: base, Key: "sk_test_sandbox_standalone"}
	for _, body := range []string{`{"offset_seconds": -5}`, `{}`, `{"offset": 5}`, `five`} {
		req, _ := http.NewRequest(http.MethodPut, base+"/sandbox/clock", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+c.Key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("PUT %s: %s, want 400", body, resp.Status)
		}
	}

	const month = 31 * 24 * time.Hour
	if err := c.SetOffset(ctx, month); err != nil {
		t.Fatal(err)
	}
	if err := c.SetOffset(ctx, month); err != nil { // a second instance, the same offset
		t.Fatal(err)
	}
	if got, err := c.Offset(ctx); err != nil || got != month {
		t.Fatalf("offset %v (%v), want %v", got, err, month)
	}
	if d := time.Until(s.Now()); d < month-time.Minute || d > month+time.Minute {
		t.Errorf("the sandbox's time is %v ahead, want %v", d, month)
	}

	// Restarted on the same database: the same month ahead.
	s.stop()
	again := serve(t, dir)
	base2 := again.URL
	if d := time.Until(again.Now()); d < month-time.Minute || d > month+time.Minute {
		t.Errorf("after a restart the sandbox's time is %v ahead, want %v", d, month)
	}
	c2 := &standalone.Clock{URL: base2, Key: c.Key}
	if got, err := c2.Offset(ctx); err != nil || got != month {
		t.Errorf("after a restart the offset is %v (%v), want %v", got, err, month)
	}
	// Back to real time.
	if err := c2.SetOffset(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if d := time.Until(again.Now()); d > time.Minute {
		t.Errorf("after a reset the sandbox's time is %v ahead", d)
	}
}

// An instance on SANDBOX_URL delivers its messages to the sandbox
// process's mailbox with the Stripe secret key; a delivery repeated after
// a lost answer is kept once.
func TestMailboxClientDelivers(t *testing.T) {
	t.Parallel()
	s := serve(t, t.TempDir())
	ctx := context.Background()
	msg := mailbox.Message{
		Key: "mandate-confirmed/1", From: "Acme Coffee Club <shop@acme.example>", To: "ada@example.com",
		Subject: "Your coffee subscription is confirmed", Text: "Hello Ada,\nyour mandate is confirmed.",
		HTML:    `<p>Hello Ada,</p><p>your mandate is <strong>confirmed</strong> &amp; signed.</p>`,
		Headers: map[string]string{"Auto-Submitted": "auto-generated"},
	}

	wrong := &standalone.Mailbox{URL: s.URL, Key: "sk_test_wrong"}
	if _, err := wrong.Deliver(ctx, msg); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("a delivery with the wrong key: %v", err)
	}
	mb := &standalone.Mailbox{URL: s.URL, Key: "sk_test_sandbox_standalone"}
	d, err := mb.Deliver(ctx, msg)
	if err != nil || d.Duplicate || d.ID == 0 {
		t.Fatalf("delivery: %+v, %v", d, err)
	}
	if want := fmt.Sprintf("%s/sandbox/mail/%d", s.URL, d.ID); d.URL != want {
		t.Errorf("url %q, want %q", d.URL, want)
	}
	again, err := mb.Deliver(ctx, msg)
	if err != nil || !again.Duplicate || again.ID != d.ID {
		t.Errorf("the same delivery again: %+v, %v", again, err)
	}
	bad := msg
	bad.Key = "other"
	bad.To = ""
	if _, err := mb.Deliver(ctx, bad); err == nil || !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), "to is required") {
		t.Errorf("a message without a recipient: %v", err)
	}

	got, err := s.Sandbox().Mailbox().Get(ctx, d.ID)
	if err != nil || !reflect.DeepEqual(got.Message, msg) {
		t.Errorf("stored %+v (%v), want %+v", got.Message, err, msg)
	}
	page, err := s.Sandbox().Mailbox().List(ctx, mailbox.Query{})
	if err != nil || len(page.Messages) != 1 {
		t.Errorf("the mailbox holds %d messages (%v), want 1", len(page.Messages), err)
	}
	// The shopper's view is served by the sandbox process.
	resp, err := http.Get(d.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "Your coffee subscription is confirmed") {
		t.Errorf("GET %s: %s\n%s", d.URL, resp.Status, body)
	}
}

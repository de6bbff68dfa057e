package worker_test

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"example.com/storefront/sandbox"
	"example.com/storefront/sandbox/standalone"
)

// remoteSandbox is a sandbox served as its own process would serve it
// (standalone), at addr ("127.0.0.1:0" for any port), on the database in
// dir; stop ends it, as a crash would.
type remoteSandbox struct {
	Clock *standalone.Clock
	stop  func()
}

func startRemoteSandbox(t *testing.T, dir, addr string) *remoteSandbox {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	const key = "sk_test_sandbox_worker"
	s, err := standalone.Open(context.Background(), sandbox.Config{
		DBPath: filepath.Join(dir, "sandbox.db"), PublicURL: base + "/sandbox", MerchantName: "Acme Coffee Club",
		Stripe: sandbox.StripeConfig{SecretKey: key}, PPRO: sandbox.PPROConfig{APIToken: "ppro_worker", MerchantID: "merch_worker"},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: s}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ln) }()
	p := &remoteSandbox{Clock: &standalone.Clock{URL: base, Key: key}}
	stopped := false
	p.stop = func() {
		if !stopped {
			stopped = true
			srv.Close()
			<-done
			s.Close()
		}
	}
	t.Cleanup(p.stop)
	return p
}

func (p *remoteSandbox) offset(t *testing.T) time.Duration {
	t.Helper()
	d, err := p.Clock.Offset(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// With the sandbox in a process of its own, every offset a process's Demo
// sets reaches it: its own advance and reset, another process's move that
// it follows, and, once the sandbox is back, a move it could not push.
func TestDemoClockReachesARemoteSandbox(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a, b := h.processWithOwnClock(), h.processWithOwnClock()
	// Each process pushes to a sandbox of its own here, so that what each
	// one pushed can be told apart.
	sa, sb := startRemoteSandbox(t, t.TempDir(), "127.0.0.1:0"), startRemoteSandbox(t, t.TempDir(), "127.0.0.1:0")
	a.Demo.Remote, b.Demo.Remote = sa.Clock, sb.Clock
	ctx := context.Background()
	const month = 30 * 24 * time.Hour

	if _, err := a.Demo.Advance(ctx, month); err != nil {
		t.Fatal(err)
	}
	if got := sa.offset(t); got != month {
		t.Errorf("after an advance the sandbox is %v ahead, want %v", got, month)
	}
	// b sees a's move when it follows the database, and passes it on.
	if got := sb.offset(t); got != 0 {
		t.Fatalf("b's sandbox moved before b followed: %v", got)
	}
	if err := b.Demo.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := sb.offset(t); got != month {
		t.Errorf("after following the other process's move b's sandbox is %v ahead, want %v", got, month)
	}
	// A reset on b: b's sandbox at once, a's once a follows.
	if err := b.Demo.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if got := sb.offset(t); got != 0 {
		t.Errorf("after a reset the sandbox is %v ahead", got)
	}
	if err := a.Demo.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := sa.offset(t); got != 0 {
		t.Errorf("after following a reset a's sandbox is %v ahead", got)
	}

	// a's sandbox is down: the advance is stored (every process sees it)
	// and reported as not reaching the sandbox; once the sandbox is back
	// on its address and database, the next sync pushes it.
	dir := t.TempDir()
	down := startRemoteSandbox(t, dir, "127.0.0.1:0")
	addr := strings.TrimPrefix(down.Clock.URL, "http://")
	a.Demo.Remote = down.Clock
	if err := a.Demo.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	down.stop()
	if _, err := a.Demo.Advance(ctx, month); err == nil || !strings.Contains(err.Error(), "sandbox") {
		t.Fatalf("an advance with the sandbox down: %v, want an error naming the sandbox", err)
	}
	if off, _ := h.Store.DemoClockOffset(ctx); off != month {
		t.Fatalf("the stored offset is %v, want %v", off, month)
	}
	back := startRemoteSandbox(t, dir, addr)
	if got := back.offset(t); got != 0 {
		t.Fatalf("the sandbox came back %v ahead, want where it was, 0", got)
	}
	if err := a.Demo.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := back.offset(t); got != month {
		t.Errorf("after the sandbox came back and a synced, it is %v ahead, want %v", got, month)
	}
}

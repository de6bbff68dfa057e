package handlers_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"example.com/storefront/internal/pagetest"
)

// Ten consent exports whose client never reads hold no database
// connection: a shopper's checkout and the dashboard still answer at once.
// (Each export blocks writing once the sockets' buffers are full; an export
// that kept a query open while blocked would hold one of the pool's eight
// connections each, and the checkout would wait for ever.)
func TestStalledExportsHoldNoDatabaseConnection(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	fillMandates(t, e.DBFile, 30_000) // some 10 MB of CSV, more than the sockets hold
	stallExports(t, e, "/admin/consents.csv")
}

// So do five payments exports and five refunds exports of every mandate,
// and, filtered, of the Stripe mandates: each reads its mandates a page at
// a time, and the page's payments or refunds in one more query, closed
// before a row is written.
func TestStalledPaymentExportsHoldNoDatabaseConnection(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	fillMandates(t, e.DBFile, 20_000)
	// A payment for each active mandate and a refund of each: some 4 MB of
	// each CSV, more than the sockets hold.
	e.exec(`INSERT INTO charges (mandate_id, kind, initiated_by, period, attempt, amount, currency, idempotency_key, provider_ref, status,
			refunded, created_at, updated_at)
		SELECT id, 'scheduled', 'schedule', 1, 1, 1200, 'USD', 'key_' || id, 'pi_' || substr(id, 4), 'partially_refunded', 300,
			created_at, created_at
		FROM mandates WHERE status = 'active'`)
	e.exec(`INSERT INTO refunds (charge_id, amount, idempotency_key, provider_ref, status, created_at, updated_at)
		SELECT id, 300, 'rkey_' || mandate_id, 're_' || substr(mandate_id, 4), 'succeeded', created_at, created_at FROM charges`)
	stallExports(t, e, "/admin/payments.csv", "/admin/refunds.csv", "/admin/payments.csv?provider=stripe", "/admin/refunds.csv?provider=stripe")
}

// stallExports opens ten exports (of paths, in turn) whose client never
// reads, and checks that a checkout and the dashboard still answer.
func stallExports(t *testing.T, e *env, paths ...string) {
	t.Helper()
	admin := e.adminBrowser()
	cookie := ""
	for _, c := range admin.Client.Jar.Cookies(mustURL(t, e.URL)) {
		if c.Name == "storefront_admin" {
			cookie = c.Value
		}
	}
	addr := strings.TrimPrefix(e.URL, "http://")
	// A small receive buffer, so that the client holds little of what is sent.
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return serr
	}}
	for i := range 10 {
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nCookie: storefront_admin=%s\r\n\r\n", paths[i%len(paths)], addr, cookie)
	}
	time.Sleep(2 * time.Second) // every export is blocked writing

	const bound = 15 * time.Second // generous on a loaded machine; stalled, it would be for ever
	b := pagetest.NewBrowser(t)
	b.Client.Timeout = bound
	form := e.validForm(b)
	start := time.Now()
	resp, err := b.Client.PostForm(e.URL+"/create-checkout-session", form)
	if err != nil {
		t.Fatalf("checkout during ten stalled exports: %v after %v", err, time.Since(start))
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("checkout during ten stalled exports answered %d after %v:\n%s", resp.StatusCode, time.Since(start), body)
	}
	admin.Client.Timeout = bound
	start = time.Now()
	resp, err = admin.Client.Get(e.URL + "/admin")
	if err != nil {
		t.Fatalf("/admin during ten stalled exports: %v after %v", err, time.Since(start))
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/admin during ten stalled exports answered %d", resp.StatusCode)
	}
}

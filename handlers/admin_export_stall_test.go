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
	for range 10 {
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		fmt.Fprintf(c, "GET /admin/consents.csv HTTP/1.1\r\nHost: %s\r\nCookie: storefront_admin=%s\r\n\r\n", addr, cookie)
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

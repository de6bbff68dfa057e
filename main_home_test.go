package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"example.com/storefront/internal/pagetest"
)

// On a real process, as `go run .` wires it: the home page goes out
// compressed to a browser that accepts gzip (under 6 KB), links its
// stylesheet by content hash (cached as immutable), and, though served
// from bytes, shows a scheduled price the moment the presenter's advance
// of the demo clock passes its day.
func TestHomeCompressedCachedAndAtThePriceInEffect(t *testing.T) {
	t.Parallel()
	env := billingEnv(t.TempDir())
	app := startProcess(t, storefrontBinary(t), env)

	wire := func(path, acceptEncoding string) (*http.Response, []byte) {
		t.Helper()
		return pagetest.Wire(t, http.MethodGet, app.URL+path, acceptEncoding)
	}
	price := func() string {
		t.Helper()
		resp, body := wire("/", "gzip, deflate, br, zstd")
		if resp.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(resp.Header.Get("Vary"), "Accept-Encoding") || len(body) >= 6000 {
			t.Fatalf("GET / for a browser: Content-Encoding %q, Vary %q, %d bytes", resp.Header.Get("Content-Encoding"), resp.Header.Get("Vary"), len(body))
		}
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		page, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		twelve, fifteen := bytes.Contains(page, []byte("12.00 USD")), bytes.Contains(page, []byte("15.00 USD"))
		switch {
		case twelve && !fifteen:
			return "12.00"
		case fifteen && !twelve:
			return "15.00"
		}
		t.Fatalf("the home page shows no single price:\n%s", page)
		return ""
	}

	_, page := wire("/", "")
	css := regexp.MustCompile(`href="(/static/app\.[0-9a-f]{12}\.css)"`).FindSubmatch(page)
	if css == nil {
		t.Fatalf("the home page links no hashed stylesheet:\n%s", page)
	}
	if resp, _ := wire(string(css[1]), "gzip"); resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" ||
		resp.Header.Get("Content-Encoding") != "gzip" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("%s: %d, %v", css[1], resp.StatusCode, resp.Header)
	}

	if got := price(); got != "12.00" {
		t.Fatalf("before any change: %s", got)
	}
	admin := pagetest.NewBrowser(t)
	admin.Post(app.URL+"/admin/login", url.Values{"password": {env["ADMIN_PASSWORD"]}}).Expect(http.StatusSeeOther)
	prices := admin.Get(app.URL + "/admin/prices").Expect(http.StatusOK)
	admin.Do(prices.Submit("", "/admin/prices", url.Values{"amount": {"15.00"}})).Expect(http.StatusSeeOther) // from the earliest day
	if got := price(); got != "12.00" {
		t.Errorf("a change scheduled, not in effect: %s", got)
	}
	dashboard := admin.Get(app.URL + "/admin").Expect(http.StatusOK)
	admin.Do(dashboard.Submit("", "/admin/clock/advance", url.Values{"by": {"period"}})).Expect(http.StatusSeeOther)
	if got := price(); got != "15.00" {
		t.Errorf("right after the clock passed the change: %s", got)
	}
}

package handlers_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"example.com/storefront/internal/pagetest"
	"example.com/storefront/payments"
	"example.com/storefront/static"
	"example.com/storefront/store"
)

// raw is one response as sent on the wire: the body not decoded.
type raw struct {
	status int
	header http.Header
	body   []byte
}

// getRaw sends method u with the given Accept-Encoding (none when "") and
// other headers, through a client that decodes nothing, so the test sees
// what a browser receives.
func getRaw(t *testing.T, method, u, acceptEncoding string, header ...string) raw {
	t.Helper()
	resp, body := pagetest.Wire(t, method, u, acceptEncoding, header...)
	return raw{resp.StatusCode, resp.Header, body}
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func varies(h http.Header) bool {
	return strings.Contains(strings.Join(h.Values("Vary"), ","), "Accept-Encoding")
}

// The home page goes out compressed to a browser that accepts gzip, under
// 6 KB, and decodes to the page others get uncompressed; a client that
// does not accept gzip (no header, q=0, identity only) gets it as it is;
// both are told the answer varies with Accept-Encoding, and HEAD answers
// GET's headers without a body.
func TestHomePageIsCompressedForBrowsersThatAcceptIt(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	plain := getRaw(t, http.MethodGet, e.URL+"/", "")
	if plain.status != http.StatusOK || plain.header.Get("Content-Encoding") != "" || !varies(plain.header) {
		t.Fatalf("without Accept-Encoding: %d, Content-Encoding %q, Vary %q", plain.status, plain.header.Get("Content-Encoding"), plain.header.Values("Vary"))
	}
	if !bytes.Contains(plain.body, []byte("12.00 USD")) {
		t.Fatalf("the home page does not show the plan's price:\n%s", plain.body)
	}
	for _, ae := range []string{"gzip", "gzip, deflate, br, zstd", "br;q=1.0, gzip;q=0.8, *;q=0.1", "*"} {
		zipped := getRaw(t, http.MethodGet, e.URL+"/", ae)
		if zipped.header.Get("Content-Encoding") != "gzip" || !varies(zipped.header) {
			t.Errorf("Accept-Encoding %q: Content-Encoding %q, Vary %q", ae, zipped.header.Get("Content-Encoding"), zipped.header.Values("Vary"))
			continue
		}
		if len(zipped.body) >= 6000 {
			t.Errorf("Accept-Encoding %q: %d bytes on the wire, want under 6,000", ae, len(zipped.body))
		}
		if !bytes.Equal(gunzip(t, zipped.body), plain.body) {
			t.Errorf("Accept-Encoding %q: the compressed page is not the page", ae)
		}
		if got := zipped.header.Get("Content-Length"); got == "" || got != strconv.Itoa(len(zipped.body)) {
			t.Errorf("Accept-Encoding %q: Content-Length %q for %d bytes", ae, got, len(zipped.body))
		}
	}
	for _, ae := range []string{"identity", "gzip;q=0", "br", "*;q=0"} {
		if got := getRaw(t, http.MethodGet, e.URL+"/", ae); got.header.Get("Content-Encoding") != "" || !bytes.Equal(got.body, plain.body) {
			t.Errorf("Accept-Encoding %q: Content-Encoding %q", ae, got.header.Get("Content-Encoding"))
		}
	}
	head := getRaw(t, http.MethodHead, e.URL+"/", "gzip")
	if head.status != http.StatusOK || len(head.body) != 0 || head.header.Get("Content-Type") != "text/html; charset=utf-8" || !varies(head.header) {
		t.Errorf("HEAD /: %d, %d bytes, %v", head.status, len(head.body), head.header)
	}
}

// Pages rendered per request (here the dashboard's login) are compressed
// as they are written; a tiny answer (/healthz) is not, and still says
// Vary.
func TestPagesCompressedAsWrittenAndTinyAnswersNot(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	plain := getRaw(t, http.MethodGet, e.URL+"/admin/login", "")
	zipped := getRaw(t, http.MethodGet, e.URL+"/admin/login", "gzip")
	if zipped.header.Get("Content-Encoding") != "gzip" || !varies(zipped.header) {
		t.Fatalf("/admin/login: Content-Encoding %q, Vary %q", zipped.header.Get("Content-Encoding"), zipped.header.Values("Vary"))
	}
	// The page carries a one-time form token, so compare the words around it.
	if got := gunzip(t, zipped.body); !bytes.Contains(got, []byte("</html>")) || len(got) < len(plain.body)-200 {
		t.Errorf("/admin/login decodes to %d bytes, the page has %d", len(got), len(plain.body))
	}
	health := getRaw(t, http.MethodGet, e.URL+"/healthz", "gzip")
	if health.status != http.StatusOK || health.header.Get("Content-Encoding") != "" || string(health.body) != "ok\n" || !varies(health.header) {
		t.Errorf("/healthz: %d, Content-Encoding %q, %q, Vary %q", health.status, health.header.Get("Content-Encoding"), health.body, health.header.Values("Vary"))
	}
}

// The pages link to the static files by content hash; such a URL is cached
// for a year as immutable, the plain URL (of pages from before) still
// answers, revalidated; each variant has its ETag, and a matching
// If-None-Match gets a 304 with the headers a cache needs.
func TestStaticFilesByContentHashAndValidators(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	css := static.Path("app.css")
	if !strings.HasPrefix(css, "/static/app.") || css == "/static/app.css" {
		t.Fatalf("static.Path(app.css) = %q, want a hashed name", css)
	}
	if home := getRaw(t, http.MethodGet, e.URL+"/", ""); !bytes.Contains(home.body, []byte(`href="`+css+`"`)) {
		t.Errorf("the home page does not link to %s", css)
	}
	hashed := getRaw(t, http.MethodGet, e.URL+css, "")
	old := getRaw(t, http.MethodGet, e.URL+"/static/app.css", "")
	if hashed.status != http.StatusOK || hashed.header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
		t.Errorf("%s: %d, Cache-Control %q", css, hashed.status, hashed.header.Get("Cache-Control"))
	}
	if old.status != http.StatusOK || old.header.Get("Cache-Control") != "no-cache" || !bytes.Equal(old.body, hashed.body) {
		t.Errorf("/static/app.css: %d, Cache-Control %q", old.status, old.header.Get("Cache-Control"))
	}
	if ct := hashed.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
		t.Errorf("Content-Type %q", ct)
	}
	etag := hashed.header.Get("ETag")
	zipped := getRaw(t, http.MethodGet, e.URL+css, "gzip")
	zetag := zipped.header.Get("ETag")
	if zipped.header.Get("Content-Encoding") != "gzip" || !bytes.Equal(gunzip(t, zipped.body), hashed.body) || !varies(zipped.header) {
		t.Errorf("%s with gzip: Content-Encoding %q, Vary %q", css, zipped.header.Get("Content-Encoding"), zipped.header.Values("Vary"))
	}
	if etag == "" || zetag == "" || zetag == etag || !strings.HasSuffix(zetag, `-gzip"`) {
		t.Errorf("ETags %q and %q: want one per variant, the compressed one suffixed -gzip", etag, zetag)
	}
	for _, tc := range []struct{ path, ae, inm string }{
		{css, "", etag}, {css, "gzip", zetag}, {"/static/app.css", "gzip", zetag}, {css, "", `W/` + etag + `, "other"`},
	} {
		got := getRaw(t, http.MethodGet, e.URL+tc.path, tc.ae, "If-None-Match", tc.inm)
		if got.status != http.StatusNotModified || len(got.body) != 0 || got.header.Get("ETag") == "" || got.header.Get("Cache-Control") == "" || !varies(got.header) {
			t.Errorf("%s (%q) If-None-Match %s: %d, %v", tc.path, tc.ae, tc.inm, got.status, got.header)
		}
	}
	// The other variant's ETag does not match: the browser has the other bytes.
	if got := getRaw(t, http.MethodGet, e.URL+css, "gzip", "If-None-Match", etag); got.status != http.StatusOK {
		t.Errorf("gzip with the plain ETag: %d", got.status)
	}
	// A hash of another build (a page of the previous release) gets today's file, not kept.
	other := getRaw(t, http.MethodGet, e.URL+"/static/app.0123456789ab.css", "")
	if other.status != http.StatusOK || other.header.Get("Cache-Control") != "no-cache" || !bytes.Equal(other.body, hashed.body) {
		t.Errorf("another build's hash: %d, Cache-Control %q", other.status, other.header.Get("Cache-Control"))
	}
	for _, p := range []string{"/static/", "/static/nothing.css", "/static/app.0123456789ab.js"} {
		if got := getRaw(t, http.MethodGet, e.URL+p, ""); got.status != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", p, got.status)
		}
	}
	// The tiny script is served as it is, with its hash.
	js := getRaw(t, http.MethodGet, e.URL+static.Path("autosubmit.js"), "gzip")
	if js.status != http.StatusOK || js.header.Get("Content-Encoding") != "" || !strings.Contains(js.header.Get("Content-Type"), "javascript") {
		t.Errorf("autosubmit.js: %d, %v", js.status, js.header)
	}
}

// The home page is served from bytes, yet shows a new price the moment the
// clock passes its effective time, however the clock gets there (a demo's
// advance), and the old one again when the clock is reset: the change was
// scheduled behind the cached page's back, as another instance would.
func TestHomeShowsANewPriceTheMomentItTakesEffect(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	price := func() string {
		t.Helper()
		body := getRaw(t, http.MethodGet, e.URL+"/", "").body
		switch twelve, fifteen := bytes.Contains(body, []byte("12.00 USD")), bytes.Contains(body, []byte("15.00 USD")); {
		case twelve && !fifteen:
			return "12.00"
		case fifteen && !twelve:
			return "15.00"
		}
		t.Fatalf("the home page shows no single price:\n%s", body)
		return ""
	}
	if got := price(); got != "12.00" {
		t.Fatalf("before any change: %s", got)
	}
	effective := store.EarliestEffective(e.Clock.Now())
	if _, _, err := e.Service.SchedulePriceChange(context.Background(), testPlan, payments.Money{Amount: 1500, Currency: "USD"}, effective); err != nil {
		t.Fatal(err)
	}
	if got := price(); got != "12.00" {
		t.Errorf("a change scheduled, not in effect: %s", got)
	}
	e.Clock.Advance(effective.Sub(e.Clock.Now()) - time.Minute)
	if got := price(); got != "12.00" {
		t.Errorf("a minute before the change: %s", got)
	}
	e.Clock.Advance(2 * time.Minute)
	if got := price(); got != "15.00" {
		t.Errorf("a minute after the change: %s", got)
	}
	if got := getRaw(t, http.MethodGet, e.URL+"/", "gzip"); !bytes.Contains(gunzip(t, got.body), []byte("15.00 USD")) {
		t.Error("the compressed page is not at the new price")
	}
	e.Clock.Set(0) // the demo's reset
	if got := price(); got != "12.00" {
		t.Errorf("after the clock's reset: %s", got)
	}
}

// A CSV export goes out compressed to a client that accepts gzip, and is
// the same file decoded (the streaming itself, flushes going through the
// compressor, is compressed.TestFlushesGoThrough's).
func TestExportIsCompressed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	fillMandates(t, e.DBFile, 2_000)
	admin := e.adminBrowser()
	cookie := ""
	for _, c := range admin.Client.Jar.Cookies(mustURL(t, e.URL)) {
		if c.Name == "storefront_admin" {
			cookie = c.Value
		}
	}
	plain := getRaw(t, http.MethodGet, e.URL+"/admin/consents.csv", "", "Cookie", "storefront_admin="+cookie)
	zipped := getRaw(t, http.MethodGet, e.URL+"/admin/consents.csv", "gzip", "Cookie", "storefront_admin="+cookie)
	if plain.status != http.StatusOK || zipped.status != http.StatusOK {
		t.Fatalf("exports: %d and %d", plain.status, zipped.status)
	}
	if zipped.header.Get("Content-Encoding") != "gzip" || !varies(zipped.header) || len(zipped.body) >= len(plain.body)/2 {
		t.Errorf("export with gzip: Content-Encoding %q, %d bytes of %d", zipped.header.Get("Content-Encoding"), len(zipped.body), len(plain.body))
	}
	if got := gunzip(t, zipped.body); !bytes.Equal(got, plain.body) {
		t.Errorf("the compressed export decodes to %d bytes, not the %d of the file", len(got), len(plain.body))
	}
}

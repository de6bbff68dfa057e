package handlers_test

import (
	"database/sql"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"example.com/storefront/internal/gcpace"
)

// BenchmarkAdminList is GET /admin (the mandates list with its counts) in
// process over loopback, at 1,000 and at 100,000 mandates, logged in: the
// first page, a page deep in the list (by its cursor), each filter, and a
// search by email. Target: the figures at 100,000 within 1.5x of those at
// 1,000, page for page: rows/page says how full each page is (a rare
// filter's page is not full at 1,000; fewer rows render faster).
//
//	go test -run '^$' -bench AdminList -benchtime 2s ./handlers/
func BenchmarkAdminList(b *testing.B) {
	defer gcpace.Apply()() // as main runs
	for _, n := range []int{1_000, 100_000} {
		b.Run("mandates="+strconv.Itoa(n), func(b *testing.B) {
			e := newEnv(b, direct)
			fillMandates(b, e.DBFile, n)
			client := e.adminBrowser().Client
			deep := e.URL + "/admin?after=" + cursorAt(b, e, 100) // the hundred-and-first oldest
			for _, c := range []struct{ name, url string }{
				{"first-page", e.URL + "/admin"},
				{"deep-page", deep},
				{"status=revoked", e.URL + "/admin?status=revoked"},
				{"provider=ppro&status=canceled", e.URL + "/admin?provider=ppro&status=canceled"},
				{"billing=past_due", e.URL + "/admin?billing=past_due"},
				{"email=prefix", e.URL + "/admin?email=shopper00009"},
				{"email=exact", e.URL + "/admin?email=shopper0000500@example.com"},
			} {
				b.Run(c.name, func(b *testing.B) {
					page := read(b, client, c.url)
					rows := strings.Count(page, `data-testid="mandate-row"`)
					if rows == 0 || strings.Contains(page, "That page link is not valid") {
						b.Fatalf("%s lists no mandate:\n%s", c.url, page)
					}
					b.ReportAllocs()
					defer reportCPU(b)()
					for b.Loop() {
						send(b, client, http.MethodGet, c.url, nil)
					}
					// A rare filter's page is not full at 1,000 mandates:
					// compare like with like. (After the loop: its start
					// clears what was reported before.)
					b.ReportMetric(float64(rows), "rows/page")
				})
			}
		})
	}
}

// cursorAt is the list's cursor after the mandate with this many older
// than it (the store's keyset cursor: created_at and id).
func cursorAt(b *testing.B, e *env, older int) string {
	b.Helper()
	db, err := sql.Open("sqlite", "file:"+e.DBFile+"?mode=ro")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var at, id string
	if err := db.QueryRow(`SELECT created_at, id FROM mandates ORDER BY created_at, id LIMIT 1 OFFSET ?`, older).Scan(&at, &id); err != nil {
		b.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString([]byte(at + "|" + id))
}

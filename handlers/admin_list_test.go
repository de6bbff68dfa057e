package handlers_test

import (
	"database/sql"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var mandateRowID = regexp.MustCompile(`data-testid="mandate-row" data-id="([^"]+)"`)

// The merchant's list shows exactly the mandates each filter asks for,
// newest first, every one once across its pages, and counts that match:
// the same answers as a plain query over the same database (the list's own
// queries walk indexes and copies of the mandate's columns in billing, so
// they are checked against SQL that uses neither).
func TestAdminListFiltersAndPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t, direct)
	fillMandates(t, e.DBFile, 400)
	db, err := sql.Open("sqlite", "file:"+e.DBFile+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// A third of the paid-up mandates past due: pages' worth of them.
	if _, err := db.Exec(`UPDATE billing SET state = 'past_due', failures = 1 WHERE state = 'active' AND rowid % 3 = 0`); err != nil {
		t.Fatal(err)
	}
	b := e.adminBrowser()

	for _, f := range []struct{ provider, status, billing, email string }{
		{},
		{status: "active"},
		{provider: "ppro"},
		{provider: "ppro", status: "canceled"},
		{provider: "stripe", status: "revoked"},
		{billing: "past_due"},
		{billing: "past_due", provider: "ppro"},
		{billing: "past_due", provider: "stripe", status: "active"},
		{billing: "revoked"},
		{email: "shopper00001"},
		{email: "SHOPPER0000123@example.com"},
		{email: "shopper00002", billing: "past_due"},
		{email: "nobody"},
	} {
		name := strings.Join([]string{f.provider, f.status, f.billing, f.email}, "|")
		var want []string
		rows, err := db.Query(`SELECT m.id FROM mandates m JOIN customers c ON c.id = m.customer_id
			LEFT JOIN billing b ON b.mandate_id = m.id
			WHERE (?1 = '' OR m.provider = ?1) AND (?2 = '' OR m.status = ?2) AND (?3 = '' OR b.state = ?3)
				AND (?4 = '' OR lower(c.email) = lower(?4) OR (instr(?4, '@') = 0 AND c.email LIKE ?4 || '%'))
			ORDER BY m.created_at DESC, m.id DESC`, f.provider, f.status, f.billing, f.email)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			want = append(want, id)
		}
		rows.Close()

		var got []string
		next, pages := "/admin?provider="+f.provider+"&status="+f.status+"&billing="+f.billing+"&email="+f.email, 0
		for next != "" && pages < 20 {
			page := b.Get(e.URL + next).Expect(http.StatusOK)
			for _, m := range mandateRowID.FindAllStringSubmatch(page.Body, -1) {
				got = append(got, m[1])
			}
			next, pages = page.TestIDAttr("next-page", "href"), pages+1
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: listed %d mandates over %d pages, want %d:\ngot  %v\nwant %v", name, len(got), pages, len(want), got, want)
		}
		if len(want) > 100 && pages < 3 {
			t.Errorf("%s: %d mandates on %d pages", name, len(want), pages)
		}
	}

	// The counts, of all providers and of one.
	for _, provider := range []string{"", "ppro", "stripe"} {
		page := b.Get(e.URL + "/admin?provider=" + provider).Expect(http.StatusOK)
		for _, c := range []struct{ kind, query string }{
			{"all", `SELECT count(*) FROM mandates WHERE ?1 = '' OR provider = ?1`},
			{"active", `SELECT count(*) FROM mandates WHERE (?1 = '' OR provider = ?1) AND status = 'active'`},
			{"revoked", `SELECT count(*) FROM mandates WHERE (?1 = '' OR provider = ?1) AND status = 'revoked'`},
			{"canceled", `SELECT count(*) FROM mandates WHERE (?1 = '' OR provider = ?1) AND status = 'canceled'`},
			{"past_due", `SELECT count(*) FROM mandates m JOIN billing b ON b.mandate_id = m.id
				WHERE (?1 = '' OR m.provider = ?1) AND b.state = 'past_due'`},
		} {
			var want int
			if err := db.QueryRow(c.query, provider).Scan(&want); err != nil {
				t.Fatal(err)
			}
			text, _ := page.TestID("count-" + c.kind)
			if n, _, _ := strings.Cut(text, " "); n != strconv.Itoa(want) || want == 0 {
				t.Errorf("provider %q: count of %s reads %q, want %d (and some)", provider, c.kind, text, want)
			}
		}
	}
}

package handlers_test

import (
	"encoding/csv"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// searchShop fills the app with 40 mandates (fillMandates: md_fill0000001
// … 40, shopperNNNNNNN@example.com, "Shopper N", every third PPRO) and, for
// each active one, a paid payment (pi_fill… at Stripe, charge_fill… at
// PPRO); those whose number ends in 5 have a refund (re_fill…). Mandate 2
// was made on 1 March 2026, mandate 4's plan costs 25.00, and some cells
// are formulas a spreadsheet would run.
func searchShop(t *testing.T) (*env, func(q string) []string) {
	t.Helper()
	e := newEnv(t)
	fillMandates(t, e.DBFile, 40)
	for _, q := range []string{
		`INSERT INTO charges (mandate_id, kind, initiated_by, period, attempt, amount, currency, idempotency_key, provider_ref, status,
				created_at, updated_at)
			SELECT id, 'scheduled', 'schedule', 1, 1, 1200, 'USD', 'key_' || id,
				CASE provider WHEN 'ppro' THEN 'charge_' ELSE 'pi_' END || substr(id, 4), 'succeeded', created_at, created_at
			FROM mandates WHERE status = 'active'`,
		`INSERT INTO refunds (charge_id, amount, idempotency_key, provider_ref, status, failure_reason, created_at, updated_at)
			SELECT id, 300, 'rkey_' || mandate_id, 're_' || substr(mandate_id, 4), 'succeeded', '', created_at, created_at
			FROM charges WHERE mandate_id LIKE '%5'`,
		`UPDATE charges SET refunded = 300, status = 'partially_refunded' WHERE mandate_id LIKE '%5'`,
		`UPDATE mandates SET created_at = '2026-03-01T12:00:00.000000Z' WHERE id = 'md_fill0000002'`,
		`UPDATE billing SET mandate_created_at = '2026-03-01T12:00:00.000000Z' WHERE mandate_id = 'md_fill0000002'`,
		`UPDATE mandates SET amount = 2500 WHERE id = 'md_fill0000004'`,
		`UPDATE customers SET name = '=HYPERLINK("https://evil.example/","x")' WHERE email = 'shopper0000007@example.com'`,
		`UPDATE charges SET failure_reason = '@SUM(1)', failure_code = '-1' WHERE mandate_id = 'md_fill0000008'`,
		`UPDATE refunds SET failure_reason = char(13) || 'x' || char(9) WHERE provider_ref = 're_fill0000015'`,
	} {
		e.exec(q)
	}
	admin := e.adminBrowser()
	list := func(q string) []string {
		t.Helper()
		return admin.Get(e.URL+"/admin?"+q).Expect(http.StatusOK).AllTestIDAttr("mandate-row", "data-id")
	}
	return e, list
}

func fills(ns ...string) []string {
	var out []string
	for _, n := range ns {
		out = append(out, "md_fill"+strings.Repeat("0", 7-len(n))+n)
	}
	return out
}

// The list's search box finds a mandate by the beginning of its email
// ("shopper0000003@", which found nothing while any "@" meant a whole
// address), by the beginning of its name in any case, by our reference and
// by each id a provider gave us, a payment's and a refund's included; the
// page says what the box takes; dates and prices filter; a filter that
// cannot be read is said so.
func TestAdminListSearch(t *testing.T) {
	t.Parallel()
	e, list := searchShop(t)
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"q=shopper0000003%40", fills("3")},
		{"q=shopper0000003%40exa", fills("3")},
		{"q=SHOPPER0000003%40EXAMPLE.COM", fills("3")},
		{"email=shopper0000003%40", fills("3")},                                 // the box's old name
		{"q=shopper000000", fills("9", "8", "7", "6", "5", "4", "3", "1", "2")}, // 2 is the oldest
		{"q=shopper+3", fills("39", "38", "37", "36", "35", "34", "33", "32", "31", "30", "3")},
		{"q=md_fill0000007", fills("7")},
		{"q=cs_test_fill0000001", fills("1")},
		{"q=agr_fill0000003", fills("3")},
		{"q=pm_fill0000004", fills("4")},
		{"q=pi_fill0000005", fills("5")},
		{"q=charge_fill0000009", fills("9")},
		{"q=re_fill0000015", fills("15")},
		{"q=pi_nobody", nil},
		{"q=shopper+3&provider=ppro", fills("39", "36", "33", "30", "3")},
		{"from=2026-03-01&to=2026-03-01", fills("2")},
		{"to=2026-03-31", fills("2")},
		{"min=20", fills("4")},
		{"min=12&max=12.00&q=shopper000000", fills("9", "8", "7", "6", "5", "3", "1", "2")},
	} {
		if got := list(tc.query); !slices.Equal(got, tc.want) {
			t.Errorf("/admin?%s: %v, want %v", tc.query, got, tc.want)
		}
	}

	admin := e.adminBrowser()
	p := admin.Get(e.URL + "/admin?q=shopper+3&min=12").Expect(http.StatusOK)
	if hint, _ := p.TestID("search-hint"); !strings.Contains(hint, "ada@") || !strings.Contains(hint, "md_") ||
		!strings.Contains(hint, "pi_") || !strings.Contains(hint, "agr_") {
		t.Errorf("the page does not say what the box takes: %q", hint)
	}
	if p.InputValue("q") != "shopper 3" || p.InputValue("min") != "12" {
		t.Errorf("the form forgot the filters: %q %q", p.InputValue("q"), p.InputValue("min"))
	}
	for _, kind := range []string{"consents", "payments", "refunds"} {
		want := "/admin/" + kind + ".csv?" + url.Values{"q": {"shopper 3"}, "min": {"12"}}.Encode()
		if got := p.TestIDAttr("export-"+kind, "href"); got != want {
			t.Errorf("the %s export links to %q, want %q", kind, got, want)
		}
	}
	if text, _ := p.TestID("exports"); !strings.Contains(text, "with these filters") {
		t.Errorf("exports: %q", text)
	}
	for q, want := range map[string]string{
		"from=31-12-2026": "is not a date",
		"max=12%2C50":     "is not an amount",
	} {
		p := admin.Get(e.URL + "/admin?" + q).Expect(http.StatusOK)
		if !strings.Contains(p.Body, want) || p.Count("mandate-row") != 40 {
			t.Errorf("/admin?%s: want %q and the whole list (%d rows)", q, want, p.Count("mandate-row"))
		}
	}
}

// exportCSV fetches an export and parses it.
func exportCSV(t *testing.T, e *env, path string) (header []string, rows []map[string]string) {
	t.Helper()
	resp, err := e.adminBrowser().Client.Get(e.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
		!strings.HasPrefix(resp.Header.Get("Content-Disposition"), `attachment; filename="`) {
		t.Fatalf("%s answered %d %v", path, resp.StatusCode, resp.Header)
	}
	records, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for _, rec := range records[1:] {
		row := map[string]string{}
		for i, cell := range rec {
			row[records[0][i]] = cell
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("%s: column %s starts a formula: %q", path, records[0][i], cell)
			}
		}
		rows = append(rows, row)
	}
	return records[0], rows
}

// The payments and refunds exports hold those of the mandates the list
// shows with its filters (all of them, not a page), as does the consents
// export when filtered; a cell a spreadsheet would run is plain text.
func TestAdminPaymentAndRefundExports(t *testing.T) {
	t.Parallel()
	e, _ := searchShop(t)
	column := func(rows []map[string]string, name string) []string {
		var out []string
		for _, r := range rows {
			out = append(out, r[name])
		}
		return out
	}

	header, rows := exportCSV(t, e, "/admin/payments.csv")
	if header[0] != "payment_id" || len(rows) != e.count(`SELECT count(*) FROM charges`) || len(rows) < 30 {
		t.Fatalf("all payments: header %q, %d rows", header, len(rows))
	}
	_, rows = exportCSV(t, e, "/admin/payments.csv?provider=ppro")
	if len(rows) != e.count(`SELECT count(*) FROM charges c JOIN mandates m ON m.id = c.mandate_id WHERE m.provider = 'ppro'`) ||
		slices.ContainsFunc(rows, func(r map[string]string) bool { return r["provider"] != "ppro" }) {
		t.Errorf("PPRO's payments: %v", rows)
	}
	_, rows = exportCSV(t, e, "/admin/payments.csv?q=shopper0000005%40")
	if len(rows) != 1 || rows[0]["provider_payment_id"] != "pi_fill0000005" || rows[0]["amount"] != "12.00" ||
		rows[0]["currency"] != "USD" || rows[0]["status"] != "partially_refunded" || rows[0]["refunded"] != "3.00" || rows[0]["period"] != "1" {
		t.Errorf("shopper 5's payments: %v", rows)
	}
	_, rows = exportCSV(t, e, "/admin/payments.csv?q=pi_fill0000007")
	if len(rows) != 1 || rows[0]["name"] != `'=HYPERLINK("https://evil.example/","x")` {
		t.Errorf("a formula name: %v", rows)
	}
	_, rows = exportCSV(t, e, "/admin/payments.csv?q=shopper0000008%40")
	if len(rows) != 1 || rows[0]["failure_reason"] != "'@SUM(1)" || rows[0]["failure_code"] != "'-1" {
		t.Errorf("formula reasons: %v", rows)
	}
	_, rows = exportCSV(t, e, "/admin/payments.csv?min=20")
	if len(rows) != 1 || rows[0]["mandate_id"] != "md_fill0000004" {
		t.Errorf("payments of plans from 20.00: %v", rows)
	}

	header, rows = exportCSV(t, e, "/admin/refunds.csv")
	if header[0] != "refund_id" || !slices.Equal(column(rows, "provider_refund_id"), []string{"re_fill0000035", "re_fill0000025", "re_fill0000015", "re_fill0000005"}) {
		t.Errorf("all refunds: %v", rows)
	}
	_, rows = exportCSV(t, e, "/admin/refunds.csv?q=re_fill0000015")
	if len(rows) != 1 || rows[0]["provider_payment_id"] != "charge_fill0000015" || rows[0]["amount"] != "3.00" ||
		rows[0]["mandate_id"] != "md_fill0000015" || rows[0]["failure_reason"] != "'\rx\t" {
		t.Errorf("refund 15: %v", rows)
	}
	_, rows = exportCSV(t, e, "/admin/refunds.csv?provider=ppro")
	if !slices.Equal(column(rows, "provider_refund_id"), []string{"re_fill0000015"}) { // 5, 25 and 35 are Stripe's
		t.Errorf("PPRO's refunds: %v", rows)
	}
	_, rows = exportCSV(t, e, "/admin/consents.csv?q=shopper+3")
	if !slices.Equal(column(rows, "mandate_id"), fills("39", "38", "37", "36", "35", "34", "33", "32", "31", "30", "3")) {
		t.Errorf("consents of shopper 3…: %v", column(rows, "mandate_id"))
	}
	_, rows = exportCSV(t, e, "/admin/consents.csv?from=2026-03-01&to=2026-03-01")
	if !slices.Equal(column(rows, "mandate_id"), fills("2")) {
		t.Errorf("consents of 1 March: %v", column(rows, "mandate_id"))
	}

	admin := e.adminBrowser()
	for _, path := range []string{"/admin/payments.csv?from=yesterday", "/admin/refunds.csv?min=-1", "/admin/consents.csv?status=lost"} {
		admin.Get(e.URL + path).Expect(http.StatusBadRequest)
	}
}

// An export reads the list 200 mandates at a time: of 450 mandates, every
// payment and refund is there once, across the pages.
func TestAdminExportsCrossPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	fillMandates(t, e.DBFile, 450)
	e.exec(`INSERT INTO charges (mandate_id, kind, initiated_by, period, attempt, amount, currency, idempotency_key, provider_ref, status,
			refunded, created_at, updated_at)
		SELECT id, 'scheduled', 'schedule', 1, 1, 1200, 'USD', 'key_' || id, 'pi_' || substr(id, 4), 'partially_refunded', 300,
			created_at, created_at
		FROM mandates WHERE status = 'active'`)
	e.exec(`INSERT INTO refunds (charge_id, amount, idempotency_key, provider_ref, status, created_at, updated_at)
		SELECT id, 300, 'rkey_' || mandate_id, 're_' || substr(mandate_id, 4), 'succeeded', created_at, created_at FROM charges`)
	for path, want := range map[string]int{
		"/admin/payments.csv":                 e.count(`SELECT count(*) FROM charges`),
		"/admin/refunds.csv":                  e.count(`SELECT count(*) FROM refunds`),
		"/admin/consents.csv?provider=stripe": e.count(`SELECT count(*) FROM mandates WHERE provider = 'stripe'`),
	} {
		_, rows := exportCSV(t, e, path)
		seen := map[string]bool{}
		for _, r := range rows {
			key := r["payment_id"] + r["refund_id"] + r["mandate_id"]
			if seen[key] {
				t.Errorf("%s: %s twice", path, key)
			}
			seen[key] = true
		}
		if len(rows) != want || want <= 200 {
			t.Errorf("%s: %d rows, want %d (over a page)", path, len(rows), want)
		}
	}
}

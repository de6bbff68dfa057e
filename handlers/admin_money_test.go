package handlers_test

import (
	"net/http"
	"strings"
	"testing"
)

// The money view of a shop with two paying shoppers and a refund: the
// range's totals, the recurring revenue and the counts; the chart is an
// image with a name, and its table holds the day's numbers. The list and
// each mandate's page show what the mandate paid to date and its next
// payment. A range that cannot be read is said, and the default shown.
func TestAdminMoneyView(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, _ := e.activeMandate("stripe")
	b, _ := e.activeMandate("ppro")
	admin := e.adminBrowser()
	e.send(admin, chargeForm(e.adminPage(admin, a.ID), "12.00"))
	c := e.merchantCharges(a.ID)[0]
	e.send(admin, refundForm(e.adminPage(admin, a.ID), c.ID, "5.00"))
	e.settleRefunds()

	page := admin.Get(e.URL + "/admin/money").Expect(http.StatusOK)
	for id, want := range map[string]string{
		"money-collected": "Collected 36.00 USD 3 payments",
		"money-refunded":  "Refunded 5.00 USD 1 refund",
		"money-net":       "31.00 USD",
		"money-failed":    "Failed 0.00 USD 0 declined or failed payments",
		"money-disputed":  "Disputed 0.00 USD 0 disputes opened",
		"money-new":       "2",
		"money-revoked":   "0",
		"money-ended":     "0",
	} {
		if got, _ := page.TestID(id); !strings.Contains(squash(got), want) {
			t.Errorf("%s: %q, want %q", id, squash(got), want)
		}
	}
	if got, _ := page.TestID("per-month"); got != "24.00 USD" {
		t.Errorf("recurring revenue %q, want 24.00 USD (two mandates at 12.00 a month)", got)
	}
	if page.Count("money-chart") != 1 || page.TestIDAttr("money-chart", "role") != "img" {
		t.Errorf("no chart image with a role: %d", page.Count("money-chart"))
	}
	table, _ := page.TestID("money-buckets")
	today := e.Clock.Now().UTC().Format("2 Jan")
	if !strings.Contains(table, today+" 36.00 3 0.00 0 5.00 0.00") {
		t.Errorf("the table has no row for today (%s) with 36.00 collected in 3 payments and 5.00 refunded:\n%s", today, table)
	}

	list := admin.Get(e.URL + "/admin").Expect(http.StatusOK)
	paid := list.AllTestIDAttr("paid-to-date", "data-testid")
	text := squash(list.Text())
	if len(paid) != 2 || !strings.Contains(text, "19.00 USD") || !strings.Contains(text, "12.00 USD") {
		t.Errorf("the list's paid to date: %d cells, %q", len(paid), text)
	}
	if got, _ := list.TestID("next-payment"); !strings.HasPrefix(got, "12.00 USD on ") || !strings.Contains(text, "next 12.00 USD on ") {
		t.Errorf("the list's next payment %q, want 12.00 USD on its day", got)
	}
	mp := e.adminPage(admin, a.ID)
	if got, _ := mp.TestID("paid-to-date"); got != "19.00 USD" {
		t.Errorf("A's page: paid to date %q, want 12.00 + 12.00 − 5.00 = 19.00 USD", got)
	}
	if got, _ := mp.TestID("next-payment"); !strings.HasPrefix(got, "12.00 USD on ") {
		t.Errorf("A's page: next payment %q", got)
	}
	if got, _ := e.adminPage(admin, b.ID).TestID("paid-to-date"); got != "12.00 USD" {
		t.Errorf("B's page: paid to date %q", got)
	}

	// Over 62 days, a bar and a row per week, from Monday.
	now := e.Clock.Now().UTC()
	monday := now.AddDate(0, 0, -((int(now.Weekday()) + 6) % 7))
	weeks := admin.Get(e.URL + "/admin/money?from=" + now.AddDate(0, 0, -89).Format("2006-01-02") + "&to=" + now.Format("2006-01-02")).
		Expect(http.StatusOK)
	if table, _ := weeks.TestID("money-buckets"); !strings.Contains(table, "Week Collected") ||
		!strings.Contains(table, "week of "+monday.Format("2 Jan")+" 36.00 3") {
		t.Errorf("90 days are not charted by week (this week from %s):\n%s", monday.Format("2 Jan"), table)
	}

	bad := admin.Get(e.URL + "/admin/money?from=2026-12-31&to=2026-01-01").Expect(http.StatusOK)
	if msg, _ := bad.TestID("money-error"); !strings.Contains(msg, "ends before it starts") {
		t.Errorf("a reversed range: %q", msg)
	}
	empty := admin.Get(e.URL + "/admin/money?from=2020-01-01&to=2020-01-31").Expect(http.StatusOK)
	if _, ok := empty.TestID("money-empty"); !ok {
		t.Errorf("a range without payments does not say so")
	}
}

// squash joins text's words with single spaces.
func squash(s string) string { return strings.Join(strings.Fields(s), " ") }

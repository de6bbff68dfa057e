package store

import (
	"context"
	"strings"
	"testing"
	"time"

	"example.com/storefront/mandate"
)

// listPlanSearches are searches whose plans both plan tests read: each
// term matches the same mandates in the PostgreSQL fill at 1,000 as at
// 100,000 (filledPostgres), with the list's other filters.
func listPlanSearches() map[string]ListFilter {
	fs := map[string]ListFilter{
		"search an email":               {Query: "shopper7@"},
		"search an email, by status":    {Query: "shopper7@", Status: mandate.Active},
		"search a name":                 {Query: "shopper 000007"},
		"search a name, disputed":       {Query: "shopper 000006", Disputed: true},
		"search a word":                 {Query: "nobody"},
		"search our reference":          {Query: "md_00000007"},
		"search our reference, billing": {Query: "md_00000005", Billing: BillingPastDue},
		"search a provider's id":        {Query: "agr_8"},
		"search, by date and price": {Query: "shopper8@", CreatedFrom: planDay, CreatedBefore: planDay.Add(time.Hour),
			MinAmount: 1000, Provider: "ppro"},
	}
	for name, f := range fs {
		f.Limit = 50
		fs[name] = f
	}
	return fs
}

// A search reads its matches, found in the index its term names (the
// customers' email or lower(name), or the mandates' primary key for an
// id), never a scan of a table; the matches are then sorted into the
// list's order, which costs what they number. Looking an id up reads one
// index per column that keeps an id.
func TestListSearchReadsOnlyItsMatches(t *testing.T) {
	t.Parallel()
	s, _ := mustOpen(t)
	ctx := context.Background()
	n := newMandate("shopper7@example.com")
	n.Name = "Shopper 000007"
	m, err := s.CreateMandate(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	searches := listPlanSearches()
	searches["search our reference"] = ListFilter{Query: m.ID, Limit: 50}
	for name, f := range searches {
		term, err := s.resolveSearch(ctx, f.Query)
		if err != nil {
			t.Fatal(err)
		}
		q, args, err := s.d.listQuery(f, term)
		if err != nil {
			t.Fatal(err)
		}
		plan := queryPlan(t, s, q, args...)
		found := strings.HasPrefix(plan[0], "SEARCH c USING INDEX") || plan[0] == "MULTI-INDEX OR" ||
			(strings.HasPrefix(plan[0], "SEARCH m USING ") && strings.Contains(plan[0], "(id=?)"))
		if !found || scans(plan) {
			t.Errorf("%s: the plan does not find the matches in an index:\n%s", name, strings.Join(plan, "\n"))
		}
	}
	args := make([]any, strings.Count(searchIDs, "?"))
	for i := range args {
		args[i] = "pi_x"
	}
	if plan := queryPlan(t, s, searchIDs, args...); scans(plan) || strings.Count(strings.Join(plan, "\n"), "SEARCH ") < len(args) {
		t.Errorf("looking an id up: %s", strings.Join(plan, "\n"))
	}
}

// scans says whether a plan reads a whole table.
func scans(plan []string) bool {
	for _, step := range plan {
		if strings.HasPrefix(step, "SCAN ") {
			return true
		}
	}
	return false
}

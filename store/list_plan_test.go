package store

import (
	"context"
	"strings"
	"testing"
)

// The merchant's list reads only a page's worth of mandates however many
// there are: for the first page, a page deep in the list (keyset cursor)
// and the provider and status filters, SQLite walks an index in the list's
// order (created_at, id, newest first) and stops at the page's end, never
// sorting or scanning the whole table; a date range bounds that walk.
// EXPLAIN QUERY PLAN says how it
// runs; BenchmarkAdminList (handlers) measures it at 100,000 mandates.
func TestListMandatesWalksAnIndexInOrder(t *testing.T) {
	t.Parallel()
	s, _ := mustOpen(t)
	ctx := context.Background()
	for _, email := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		if _, err := s.CreateMandate(ctx, newMandate(email)); err != nil {
			t.Fatal(err)
		}
	}
	_, cursor, err := s.ListMandates(ctx, ListFilter{Limit: 1})
	if err != nil || cursor == "" {
		t.Fatalf("no cursor: %v", err)
	}
	for name, f := range listPlanFilters(cursor) {
		q, args, err := s.d.listQuery(f, searchTerm{})
		if err != nil {
			t.Fatal(err)
		}
		plan := queryPlan(t, s, q, args...)
		// The outer loop walks the index that gives the order: billing's
		// when a billing state is asked for, else the mandates'.
		table, index, cursor := " m ", "INDEX mandates_", "(created_at,id)<(?,?)"
		if f.Billing != "" {
			table, index, cursor = " b ", "INDEX billing_state_", "(mandate_created_at,mandate_id)<(?,?)"
		}
		if f.Disputed {
			table, index, cursor = " d ", "INDEX disputed_", "(mandate_created_at,mandate_id)<(?,?)"
		}
		walked := ""
		for _, step := range plan {
			if walked == "" && strings.Contains(step, table) {
				walked = step
			}
		}
		ordered := walked == plan[0] && strings.Contains(walked, index)
		// Each filter is a constraint on the index, not a check of every row.
		narrowed := (f.Provider == "" || strings.Contains(walked, "provider=?")) && (f.Status == "" || strings.Contains(walked, "status=?")) &&
			(f.Billing == "" || strings.Contains(walked, "state=?"))
		if dated := !f.CreatedFrom.IsZero() || !f.CreatedBefore.IsZero(); dated {
			// A date range bounds the walk: it starts at the range's end
			// (or the cursor) and stops at its beginning.
			narrowed = narrowed && strings.Contains(walked, "created_at>? AND ") && strings.Contains(walked, "created_at<?)")
		} else {
			narrowed = narrowed && (f.After == "" || strings.Contains(walked, cursor))
		}
		if !ordered || !narrowed || strings.Contains(strings.Join(plan, "\n"), "TEMP B-TREE") {
			t.Errorf("%s: the plan does not walk an index in the list's order:\n%s", name, strings.Join(plan, "\n"))
		}
	}
	// The past-due counts are read in billing's index alone, never from the
	// mandates.
	for name, q := range map[string]string{"past due": countPastDue, "past due of a provider": countPastDueOf} {
		plan := strings.Join(queryPlan(t, s, q, "ppro"), "\n")
		if !strings.HasPrefix(plan, "SEARCH billing USING COVERING INDEX billing_state_") || strings.Contains(plan, "\n") {
			t.Errorf("%s: %s", name, plan)
		}
	}
	// So are the disputed counts, in disputed_mandates' own.
	for name, q := range map[string]string{"disputed": countDisputed, "disputed of a provider": countDisputedOf} {
		plan := strings.Join(queryPlan(t, s, q, "ppro"), "\n")
		if !strings.Contains(plan, "disputed_mandates USING COVERING INDEX") || strings.Contains(plan, "\n") {
			t.Errorf("%s: %s", name, plan)
		}
	}
}

// queryPlan is EXPLAIN QUERY PLAN's steps for q.
func queryPlan(t *testing.T, s *Store, q string, args ...any) []string {
	t.Helper()
	n := strings.Count(q, "?")
	rows, err := s.db.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+q, args[:n]...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return plan
}

package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"example.com/storefront/internal/pgtest"
	"example.com/storefront/mandate"
	"example.com/storefront/payments"
)

// listPlanSizes are the table sizes the list is compared at.
var listPlanSizes = []int{1_000, 100_000}

// On PostgreSQL the merchant's list costs the same at 100,000 mandates as
// at 1,000, and the plan is why: for each filter of
// TestListMandatesWalksAnIndexInOrder, EXPLAIN (ANALYZE, BUFFERS) shows
// that the planner chooses a Limit over a walk of an index in the list's
// order (no Sort, no Seq Scan of mandates, billing or disputed_mandates),
// and the rows it reads at 100,000 are within 1.2x of what the same plan
// reads at 1,000. The shared buffers it touches grow by at most one per
// index descent: every B-tree it looks rows up in is a level deeper at
// 100,000, the log n no plan avoids (1.14x to 1.29x here), where a plan
// that grew with the table would touch a hundred times more. At 1,000 the
// planner
// rightly prefers to read the whole of a 40-page table and sort it, so the
// baseline is taken with sequential scans and sorts discouraged
// (enable_seqscan, enable_sort off), and the plan must then be the same
// walk. The counts read only the rows they count. A date range bounds the
// same walk; a search (listPlanSearches) reads its matches, found in an
// index, and sorts them, reading no more than four rows a match at 100,000.
func TestListMandatesPlanOnPostgresDoesNotGrowWithTheTable(t *testing.T) {
	t.Parallel()
	type cost struct{ rows, buffers, descents, ms, planMS float64 }
	costs := map[string][]cost{} // by filter, one per size
	plans := map[string][]string{}
	var names []string
	for i, n := range listPlanSizes {
		s, mid := filledPostgres(t, n)
		baseline := i == 0
		for name, f := range listPlanFilters(mid) {
			q, args, err := s.d.listQuery(f, searchTerm{})
			if err != nil {
				t.Fatal(err)
			}
			p := explain(t, s, baseline, q, args...)
			if msg := p.walksInOrder(f); msg != "" {
				t.Errorf("%d mandates, %s: %s:\n%s", n, name, msg, p.pretty)
			}
			if len(costs[name]) == 0 {
				names = append(names, name)
			}
			costs[name] = append(costs[name], cost{p.rowsRead(), p.buffers(), p.descents(), p.ms, p.planMS})
			plans[name] = append(plans[name], p.pretty)
		}
		// A search reads its matches (at most 4 rows per match, and the
		// ids' lookup), found in an index, then sorts them: at 100,000
		// mandates as planned, not discouraged from anything.
		for name, f := range listPlanSearches() {
			if baseline {
				continue
			}
			ctx := context.Background()
			term, err := s.resolveSearch(ctx, f.Query)
			if err != nil {
				t.Fatal(err)
			}
			q, args, err := s.d.listQuery(f, term)
			if err != nil {
				t.Fatal(err)
			}
			matches, _, err := s.ListMandates(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			p := explain(t, s, false, q, args...)
			if msg := p.findsItsMatches(); msg != "" {
				t.Errorf("%d mandates, %s: %s:\n%s", n, name, msg, p.pretty)
			}
			if p.rowsRead() > 4*float64(len(matches)+1) {
				t.Errorf("%d mandates, %s: %.0f rows read for %d matches:\n%s", n, name, p.rowsRead(), len(matches), p.pretty)
			}
			t.Logf("%-30s %d matches, rows read %3.0f, buffers %3.0f, executed in %.2f ms", name, len(matches), p.rowsRead(), p.buffers(), p.ms)
		}
		for name, c := range countQueries(t, s) {
			p := explain(t, s, false, c.q, c.args...)
			if msg := p.readsOnlyWhatItCounts(c.bound); msg != "" {
				t.Errorf("%d mandates, count %s: %s:\n%s", n, name, msg, p.pretty)
			}
		}
	}
	slices.Sort(names)
	for _, name := range names {
		small, large := costs[name][0], costs[name][1]
		if testing.Verbose() {
			t.Logf("%s plans:\n%s\n%s", name, plans[name][0], plans[name][1])
		}
		t.Logf("%-30s rows read %4.0f → %4.0f, buffers %4.0f → %4.0f (%.2fx; %3.0f index descents), executed in %.2f → %.2f ms, planned in %.2f → %.2f ms",
			name, small.rows, large.rows, small.buffers, large.buffers, large.buffers/small.buffers, large.descents, small.ms, large.ms, small.planMS, large.planMS)
		if large.rows > 1.2*small.rows || large.buffers > small.buffers+large.descents {
			t.Errorf("%s: at %d mandates it reads %.0f rows in %.0f buffers, at %d %.0f rows in %.0f buffers (%.0f index descents): "+
				"more than 1.2x the rows, or more than one buffer more per descent",
				name, listPlanSizes[0], small.rows, small.buffers, listPlanSizes[1], large.rows, large.buffers, large.descents)
		}
	}
}

// planDay is when the fills' mandates begin.
var planDay = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// listPlanFilters are the list's filters whose plans both plan tests read,
// with cursor somewhere down the list. Limit is the dashboard's page.
func listPlanFilters(cursor string) map[string]ListFilter {
	fs := map[string]ListFilter{
		"first page":                    {},
		"after a cursor":                {After: cursor},
		"by status":                     {Status: mandate.Active},
		"by status, after a cursor":     {Status: mandate.Active, After: cursor},
		"by provider":                   {Provider: "ppro"},
		"by provider, after":            {Provider: "ppro", After: cursor},
		"by provider and status":        {Provider: "ppro", Status: mandate.Revoked},
		"by provider, status, after":    {Provider: "ppro", Status: mandate.Revoked, After: cursor},
		"by billing":                    {Billing: BillingPastDue},
		"by billing, after":             {Billing: BillingPastDue, After: cursor},
		"by billing and provider":       {Billing: BillingPastDue, Provider: "ppro"},
		"by billing, provider, after":   {Billing: BillingPastDue, Provider: "ppro", After: cursor},
		"disputed":                      {Disputed: true},
		"disputed, after":               {Disputed: true, After: cursor},
		"disputed of a provider":        {Disputed: true, Provider: "ppro"},
		"disputed of a provider, after": {Disputed: true, Provider: "ppro", After: cursor},
		// The first ten minutes of the fill: 600 mandates however big it is.
		"by date":                      {CreatedFrom: planDay, CreatedBefore: planDay.Add(10 * time.Minute)},
		"by date, after":               {CreatedFrom: planDay, CreatedBefore: planDay.Add(10 * time.Minute), After: cursor},
		"by date, provider and status": {CreatedFrom: planDay, CreatedBefore: planDay.Add(10 * time.Minute), Provider: "ppro", Status: mandate.Active},
		"by date and billing":          {CreatedFrom: planDay, CreatedBefore: planDay.Add(10 * time.Minute), Billing: BillingPastDue},
		"by date, disputed":            {CreatedFrom: planDay, CreatedBefore: planDay.Add(10 * time.Minute), Disputed: true},
		"by price":                     {MinAmount: 1000, MaxAmount: 1500},
		"by price, after":              {MinAmount: 1000, MaxAmount: 1500, After: cursor},
		"by price and status":          {MinAmount: 1000, Status: mandate.Active},
	}
	for name, f := range fs {
		f.Limit = 50
		fs[name] = f
	}
	return fs
}

type countQuery struct {
	q     string
	args  []any
	bound float64 // the rows it may read: those it counts
}

// countQueries are CountMandates' queries, with the rows each counts. A
// provider's disputed mandates are counted in all of disputed_mandates,
// which PostgreSQL reads whole rather than through an index as large: a
// table of disputed mandates only, so still in proportion to the count.
func countQueries(t testing.TB, s *Store) map[string]countQuery {
	t.Helper()
	scalar := func(q string, args ...any) float64 {
		var n float64
		if err := s.db.QueryRow(q, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	const byStatus = `SELECT status, CAST(sum(n) AS BIGINT) FROM mandate_counts WHERE ? = '' OR provider = ? GROUP BY status`
	counters := scalar(`SELECT count(*) FROM mandate_counts`)
	return map[string]countQuery{
		"by status":              {byStatus, []any{"", ""}, counters},
		"by status of provider":  {byStatus, []any{"ppro", "ppro"}, counters},
		"past due":               {countPastDue, nil, scalar(countPastDue)},
		"past due of a provider": {countPastDueOf, []any{"ppro"}, scalar(countPastDueOf, "ppro")},
		"disputed":               {countDisputed, nil, scalar(countDisputed)},
		"disputed of a provider": {countDisputedOf, []any{"ppro"}, scalar(countDisputed)},
	}
}

// filledPostgres is a store on a new PostgreSQL database holding n
// mandates of both providers, their customers, billing for the active ones
// and disputes, filled in SQL (a second or two for 100,000) and analyzed.
// Past-due and disputed mandates are far commoner than in a shop (one in
// five each), so that at 1,000 mandates too every filter fills a page
// after the cursor, mid, a quarter of the way down the list: a partial
// page would flatter the small table.
func filledPostgres(t testing.TB, n int) (s *Store, mid string) {
	t.Helper()
	s, _ = mustOpenAt(t, pgtest.URL(t))
	ctx := context.Background()
	start := time.Now()
	// created_at is one second apart in id order, formatted as timeLayout.
	const at = `to_char(timestamp '2026-01-01' + i * interval '1 second', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`
	// The count trigger's per-row upsert of one row is what is slow in a
	// bulk insert (each update leaves a version to skip): it is off during
	// the fill, and the counts are written once.
	for _, q := range []string{
		`ALTER TABLE mandates DISABLE TRIGGER mandate_counts_insert`,
		`INSERT INTO customers (id, email, name, country, created_at, updated_at)
			SELECT i, 'shopper' || i || '@example.com', 'Shopper ' || lpad(i::text, 6, '0'), 'US', ` + at + `, ` + at + `
			FROM generate_series(1, ?) i`,
		`INSERT INTO mandates (id, customer_id, provider, status, plan_name, amount, currency, "interval",
				terms_version, terms_sha256, authorization_text, accepted_at, client_ip, user_agent, created_at, updated_at, provider_ref)
			SELECT 'md_' || lpad(i::text, 8, '0'), i, CASE WHEN i % 2 = 0 THEN 'ppro' ELSE 'stripe' END,
				CASE i % 10 WHEN 0 THEN 'revoked' WHEN 1 THEN 'failed' WHEN 2 THEN 'canceled' WHEN 3 THEN 'pending' ELSE 'active' END,
				'Coffee Club', 1200, 'USD', 'month', 'v1', 'abc123', 'I authorise…', ` + at + `, '203.0.113.7', 'test-agent', ` + at + `, ` + at + `,
				CASE WHEN i % 2 = 0 THEN 'agr_' ELSE 'cs_' END || i
			FROM generate_series(1, ?) i`,
		`INSERT INTO billing (mandate_id, state, anchor_at, next_period, next_due_at, updated_at, provider, mandate_created_at)
			SELECT id, CASE WHEN right(id, 1) IN ('4', '5') THEN 'past_due' ELSE 'active' END,
				created_at, 1, created_at, created_at, provider, created_at
			FROM mandates WHERE status = 'active'`,
		`INSERT INTO disputed_mandates (mandate_id, provider, mandate_created_at)
			SELECT id, provider, created_at FROM mandates WHERE right(id, 1) IN ('6', '7')`,
		`INSERT INTO mandate_counts (provider, status, n) SELECT provider, status, count(*) FROM mandates GROUP BY provider, status`,
		`ALTER TABLE mandates ENABLE TRIGGER mandate_counts_insert`,
	} {
		var args []any
		if strings.Contains(q, "?") {
			args = append(args, n)
		}
		if _, err := s.db.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("fill %d mandates: %v", n, err)
		}
	}
	// VACUUM sets the visibility map, so that index-only scans (the
	// counts) need not visit the heap, as on a database in service.
	if _, err := s.db.ExecContext(ctx, `VACUUM ANALYZE`); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d mandates filled in %s", n, time.Since(start).Round(time.Millisecond))
	var created, id string
	if err := s.db.QueryRowContext(ctx, `SELECT created_at, id FROM mandates ORDER BY created_at DESC, id DESC OFFSET ? LIMIT 1`, n/4).Scan(&created, &id); err != nil {
		t.Fatal(err)
	}
	return s, encodeCursor(created, id)
}

// planNode is a node of EXPLAIN (FORMAT JSON)'s plan, as far as read here.
type planNode struct {
	NodeType  string     `json:"Node Type"`
	Relation  string     `json:"Relation Name"`
	Alias     string     `json:"Alias"`
	Index     string     `json:"Index Name"`
	IndexCond string     `json:"Index Cond"`
	Rows      float64    `json:"Actual Rows"`
	Loops     float64    `json:"Actual Loops"`
	Removed   float64    `json:"Rows Removed by Filter"`
	Heap      float64    `json:"Heap Fetches"`
	Hit       float64    `json:"Shared Hit Blocks"`
	Read      float64    `json:"Shared Read Blocks"`
	Plans     []planNode `json:"Plans"`
}

type queryPlanPG struct {
	root   planNode
	ms     float64 // execution time, for the log
	planMS float64 // planning time, for the log
	pretty string  // for messages
}

// explain runs q under EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON); indexed
// discourages sequential scans and sorts, for the plan's cost on a table
// small enough that the planner prefers them.
func explain(t testing.TB, s *Store, indexed bool, q string, args ...any) queryPlanPG {
	t.Helper()
	ctx := context.Background()
	conn, err := s.db.Conn(ctx) // the settings are the session's
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	setting := "on"
	if indexed {
		setting = "off"
	}
	for _, name := range []string{"enable_seqscan", "enable_sort"} {
		if _, err := conn.ExecContext(ctx, "SELECT set_config('"+name+"', '"+setting+"', false)"); err != nil {
			t.Fatal(err)
		}
	}
	var raw []byte
	if err := conn.QueryRowContext(ctx, "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) "+q, args...).Scan(&raw); err != nil {
		t.Fatalf("explain %s: %v", q, err)
	}
	var out []struct {
		Plan     planNode `json:"Plan"`
		Planning float64  `json:"Planning Time"`
		Exec     float64  `json:"Execution Time"`
	}
	if err := json.Unmarshal(raw, &out); err != nil || len(out) != 1 {
		t.Fatalf("explain's JSON: %v: %s", err, raw)
	}
	p := queryPlanPG{root: out[0].Plan, ms: out[0].Exec, planMS: out[0].Planning}
	var sb strings.Builder
	var show func(n planNode, depth int)
	show = func(n planNode, depth int) {
		fmt.Fprintf(&sb, "%s%s %s %s %s cond=%q rows=%.0f loops=%.0f removed=%.0f buffers=%.0f\n",
			strings.Repeat("  ", depth), n.NodeType, n.Relation, n.Alias, n.Index, n.IndexCond, n.Rows, n.Loops, n.Removed, n.Hit+n.Read)
		for _, c := range n.Plans {
			show(c, depth+1)
		}
	}
	show(p.root, 0)
	p.pretty = sb.String()
	return p
}

func (p queryPlanPG) each(fn func(planNode)) {
	var walk func(planNode)
	walk = func(n planNode) {
		fn(n)
		for _, c := range n.Plans {
			walk(c)
		}
	}
	walk(p.root)
}

// rowsRead is every row the plan's scans returned or filtered out.
func (p queryPlanPG) rowsRead() float64 {
	var rows float64
	p.each(func(n planNode) {
		if strings.HasSuffix(n.NodeType, "Scan") {
			rows += (n.Rows + n.Removed) * n.Loops
		}
	})
	return rows
}

// descents is how many times the plan went down an index from its root.
func (p queryPlanPG) descents() float64 {
	var n float64
	p.each(func(node planNode) {
		if strings.HasPrefix(node.NodeType, "Index") {
			n += node.Loops
		}
	})
	return n
}

// buffers is the shared buffers the whole plan touched (the root's count
// includes its children's).
func (p queryPlanPG) buffers() float64 { return p.root.Hit + p.root.Read }

// walksInOrder says what is wrong with the list's plan for f, or "": a
// Limit whose outer loop (the leftmost scan) walks the index that gives
// the list's order, from the cursor, with no Sort and no Seq Scan of the
// big tables. A filter as common as the test's (active: 60%) may be
// checked on each row of the walk rather than be the index's: the rows
// read show whether that costs.
func (p queryPlanPG) walksInOrder(f ListFilter) string {
	if p.root.NodeType != "Limit" {
		return "no Limit at the top"
	}
	var bad []string
	p.each(func(n planNode) {
		if strings.Contains(n.NodeType, "Sort") {
			bad = append(bad, n.NodeType)
		}
		if n.NodeType == "Seq Scan" && slices.Contains([]string{"mandates", "billing", "disputed_mandates"}, n.Relation) {
			bad = append(bad, "Seq Scan on "+n.Relation)
		}
	})
	if len(bad) > 0 {
		return "it has " + strings.Join(bad, ", ")
	}
	outer := p.root
	for len(outer.Plans) > 0 {
		outer = outer.Plans[0]
	}
	alias, index, created := "m", "mandates_", "created_at"
	if f.Billing != "" {
		alias, index, created = "b", "billing_state_", "mandate_created_at"
	}
	if f.Disputed {
		alias, index, created = "d", "disputed_", "mandate_created_at"
	}
	if !strings.HasPrefix(outer.NodeType, "Index") || outer.Alias != alias || !strings.HasPrefix(outer.Index, index) {
		return fmt.Sprintf("the outer loop is a %s of %s (%s), want an index scan of %s on %s…", outer.NodeType, outer.Alias, outer.Index, alias, index)
	}
	if dated := !f.CreatedFrom.IsZero() || !f.CreatedBefore.IsZero(); dated {
		// One BETWEEN, the cursor folded into its end (see listQuery).
		if !strings.Contains(outer.IndexCond, created+" >= ") || !strings.Contains(outer.IndexCond, created+" <= ") {
			return fmt.Sprintf("the index walk is not bounded by the dates (Index Cond %s)", outer.IndexCond)
		}
	} else if f.After != "" && !strings.Contains(outer.IndexCond, "ROW("+created) {
		return fmt.Sprintf("the index walk does not start at the cursor (Index Cond %s)", outer.IndexCond)
	}
	return ""
}

// findsItsMatches says what is wrong with a search's plan, or "": it
// reads no big table whole.
func (p queryPlanPG) findsItsMatches() string {
	var bad []string
	p.each(func(n planNode) {
		if n.NodeType == "Seq Scan" && slices.Contains([]string{"mandates", "customers", "billing", "disputed_mandates", "charges"}, n.Relation) {
			bad = append(bad, "Seq Scan on "+n.Relation)
		}
	})
	if len(bad) > 0 {
		return "it has " + strings.Join(bad, ", ")
	}
	return ""
}

// readsOnlyWhatItCounts says what is wrong with a count's plan, or "": it
// never reads mandates, scans billing only through an index, and reads at
// most 1.2 times bound (plus one for an empty count).
func (p queryPlanPG) readsOnlyWhatItCounts(bound float64) string {
	var bad []string
	p.each(func(n planNode) {
		if n.Relation == "mandates" || (n.Relation == "billing" && !strings.HasPrefix(n.NodeType, "Index")) {
			bad = append(bad, n.NodeType+" on "+n.Relation)
		}
	})
	if len(bad) > 0 {
		return "it has " + strings.Join(bad, ", ")
	}
	if r := p.rowsRead(); r > 1.2*bound+1 {
		return fmt.Sprintf("it reads %.0f rows, more than the %.0f it counts in", r, bound)
	}
	return ""
}

// The list's first page, a page further down, past due and disputed, on
// PostgreSQL at 1,000 and 100,000 mandates (sub-benchmarks 1k and 100k,
// each with one per page): the ratio of the two is the README's. Not the
// counts: they read every row they count, a fifth of the table here.
func BenchmarkListMandatesPostgres(b *testing.B) {
	for _, n := range listPlanSizes {
		b.Run(fmt.Sprintf("%dk", n/1000), func(b *testing.B) {
			s, mid := filledPostgres(b, n)
			ctx := context.Background()
			for _, page := range []struct {
				name string
				f    ListFilter
			}{
				{"first", ListFilter{Limit: 50}},
				{"after", ListFilter{Limit: 50, After: mid}},
				{"past_due", ListFilter{Limit: 50, Billing: BillingPastDue}},
				{"disputed", ListFilter{Limit: 50, Disputed: true}},
			} {
				b.Run(page.name, func(b *testing.B) {
					for b.Loop() {
						if _, _, err := s.ListMandates(ctx, page.f); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}

// BenchmarkSchedulePriceChangePostgres schedules a price change on a plan
// with 100,000 mandates (60,000 of them active and billed): the change,
// each one's price row and its notice in the outbox, in one transaction.
//
//	go test -run '^$' -bench SchedulePriceChangePostgres -benchtime 3x ./store/
func BenchmarkSchedulePriceChangePostgres(b *testing.B) {
	s, _ := filledPostgres(b, 100_000)
	ctx := context.Background()
	s.now = func() time.Time { return time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC) }
	var notified int
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		for _, q := range []string{`DELETE FROM outbox`, `DELETE FROM mandate_prices`, `DELETE FROM price_changes`} {
			if _, err := s.db.ExecContext(ctx, q); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		c, created, err := s.SchedulePriceChange(ctx, NewPriceChange{Plan: plan, Price: payments.Money{Amount: 1500, Currency: "USD"},
			EffectiveAt: time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)})
		if err != nil || !created {
			b.Fatalf("schedule: %v (created %v)", err, created)
		}
		notified = c.Notified
	}
	b.ReportMetric(float64(notified), "mandates_notified")
}

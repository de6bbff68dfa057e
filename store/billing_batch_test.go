package store

import (
	"strings"
	"testing"
	"time"
)

// The worker's claim walks the due billings in order and stops at its
// limit, however many active billings there are: SQLite, left to itself,
// read every active billing through the index on state and sorted them,
// at each claim (a quarter of the worker's time at 10,000 mandates).
func TestClaimDueBillingWalksTheDueIndex(t *testing.T) {
	t.Parallel()
	s, _ := mustOpen(t)
	now := time.Now().UTC().Format(timeLayout)
	plan := queryPlan(t, s, s.claimDueQuery(), "owner", now, now, now, 50)
	text := strings.Join(plan, "\n")
	if !strings.Contains(text, "INDEX billing_due (next_due_at<?)") || strings.Contains(text, "TEMP B-TREE") {
		t.Errorf("the claim's plan:\n%s\nwant a walk of billing_due, without a sort", text)
	}
}

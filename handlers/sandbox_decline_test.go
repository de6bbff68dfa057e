package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"example.com/storefront/payments"
	"example.com/storefront/store"
)

// The decline story on a running shop: from a sandbox mandate's page the
// presenter sets the sandbox to decline its payments; the next period
// declines (past due, a retry to come), and once turned off, "retry now"
// pays it. No restart, no magic plan price.
func TestSandboxDeclineControlTellsTheStory(t *testing.T) {
	t.Parallel()
	for _, provider := range merchantProviders {
		t.Run(provider, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			m, _ := e.activeMandate(provider)
			admin := e.adminBrowser()
			ctx := context.Background()

			link := e.adminPage(admin, m.ID).TestIDAttr("sandbox-decline", "href")
			if link == "" {
				t.Fatal("a sandbox mandate's page has no link to the sandbox's declines")
			}
			control := admin.Get(e.URL + link).Expect(http.StatusOK)
			set := admin.Do(control.Submit("", "/sandbox/declines", nil)).Expect(http.StatusSeeOther)
			if loc := set.Location(); !strings.HasPrefix(loc, e.URL+"/admin/mandates/"+m.ID+"?") {
				t.Fatalf("the sandbox sent the presenter to %q", loc)
			}
			if flash, _ := admin.Follow(set).Expect(http.StatusOK).TestID("flash"); !strings.Contains(flash, "The sandbox answers") {
				t.Errorf("back on the mandate: %q", flash)
			}

			// A month later the next period is due: declined, past due.
			e.Clock.Advance(32 * 24 * time.Hour)
			if _, err := e.Worker.Pass(ctx); err != nil {
				t.Fatal(err)
			}
			b, err := e.Store.Billing(ctx, m.ID)
			if err != nil || b.State != store.BillingPastDue || b.NextPeriod != 2 || b.Failures != 1 {
				t.Fatalf("billing %+v, %v; want period 2 past due after one decline", b, err)
			}
			cs, err := e.Store.Charges(ctx, m.ID)
			if err != nil || cs[len(cs)-1].Status != payments.ChargeFailed ||
				!strings.Contains(strings.ToLower(cs[len(cs)-1].FailureCode), "insufficient_funds") {
				t.Fatalf("the declined attempt: %+v, %v", cs[len(cs)-1], err)
			}

			// Turned off on the same control: retry now pays the period.
			control = admin.Get(e.URL + link).Expect(http.StatusOK)
			if control.Count("decline-row") != 1 {
				t.Errorf("the sandbox lists %d declines, want 1", control.Count("decline-row"))
			}
			admin.Follow(admin.Do(control.Submit("", "/sandbox/declines", url.Values{"magic": {"0"}})).Expect(http.StatusSeeOther))
			after := e.send(admin, e.adminPage(admin, m.ID).Submit("", "/retry", nil))
			if flash, _ := after.TestID("flash"); !strings.HasPrefix(flash, "Charged") {
				t.Errorf("retry now after turning the declines off: %q", flash)
			}
			if b, err := e.Store.Billing(ctx, m.ID); err != nil || b.State != store.BillingActive || b.NextPeriod != 3 {
				t.Errorf("billing %+v, %v; want period 3 next, active", b, err)
			}
		})
	}
}

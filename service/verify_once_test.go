package service_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"example.com/storefront/internal/pagetest"
	"example.com/storefront/mandate"
)

// The return page and the setup's webhooks verify the same mandate at
// once: one fetch of the setup runs, and those that come while it runs
// share its answer, which decided the mandate.
func TestConcurrentVerifiesFetchTheSetupOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	b := pagetest.NewBrowser(t)
	m, approval := h.StripeApproval(b)
	b.Do(approval.Submit("decision", "approve", nil)).Expect(http.StatusSeeOther) // approved, not yet back
	var fetches atomic.Int32
	held, release := make(chan struct{}), make(chan struct{})
	h.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/v1/checkout/sessions/") {
			if fetches.Add(1) == 1 {
				close(held)
				<-release
			}
		}
		return false
	})
	const callers = 5
	var wg sync.WaitGroup
	got := make([]mandate.Status, callers)
	verify := func(i int) {
		defer wg.Done()
		v, err := h.Service.Verify(context.Background(), m, mandate.SourceWebhook)
		if err != nil {
			t.Errorf("verify %d: %v", i, err)
		}
		got[i] = v.Status
	}
	wg.Add(callers)
	go verify(0)
	<-held
	for i := 1; i < callers; i++ {
		go verify(i)
	}
	time.Sleep(300 * time.Millisecond) // let them reach the fetch under way
	close(release)
	wg.Wait()
	for i, s := range got {
		if s != mandate.Active {
			t.Errorf("caller %d got %s, want active", i, s)
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("%d fetches of the setup for %d verifies at once, want 1", n, callers)
	}
}

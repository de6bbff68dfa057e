package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"example.com/storefront/internal/pagetest"
	"example.com/storefront/mandate"
)

// isRevocation is an app's API call that revokes at the provider: Stripe's
// detach of the payment method, PPRO's revocation of the agreement.
func isRevocation(r *http.Request) bool {
	return r.Method == http.MethodPost && (strings.HasSuffix(r.URL.Path, "/detach") || strings.HasSuffix(r.URL.Path, "/revocations"))
}

// countRevocations counts the revocation calls the app makes, each held a
// moment at the provider so that presses sent together overlap.
func (e *env) countRevocations() *atomic.Int32 {
	var n atomic.Int32
	e.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if isRevocation(r) {
			n.Add(1)
			time.Sleep(200 * time.Millisecond)
		}
		return false
	})
	return &n
}

// pressAll sends the requests at once and returns their statuses.
func pressAll(t *testing.T, b *pagetest.Browser, reqs []*http.Request) map[int]int {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for _, req := range reqs {
		wg.Go(func() {
			resp, err := b.Client.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			mu.Lock()
			statuses[resp.StatusCode]++
			mu.Unlock()
		})
	}
	wg.Wait()
	return statuses
}

// However often revoke or cancel is pressed at once, the provider is asked
// once: twenty presses of the merchant's revoke (ten forms, each sent
// twice), and twenty of the shopper's cancel (which has no one-time
// token), are one provider call each, and the mandate ends revoked.
func TestRevokePressedTwentyTimesIsOneProviderCall(t *testing.T) {
	t.Parallel()
	for _, provider := range merchantProviders {
		t.Run(provider, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			m, _ := e.activeMandate(provider)
			other, shopper := e.activeMandate(provider)
			admin := e.adminBrowser()
			calls := e.countRevocations()
			// A revoke without the form's one-time token (not our form) does nothing.
			refused := e.send(admin, postForm(t, e.URL+"/admin/mandates/"+m.ID+"/revoke", url.Values{"when": {"now"}}))
			if flash, _ := refused.TestID("flash"); !strings.Contains(flash, "expired") || calls.Load() != 0 {
				t.Errorf("a revoke without a token: flash %q, %d provider calls", flash, calls.Load())
			}
			e.mandate(m.ID, mandate.Active)

			var reqs []*http.Request
			for range 10 {
				page := e.adminPage(admin, m.ID) // another tab, another form
				reqs = append(reqs, revokeNow(page), revokeNow(page))
			}
			if st := pressAll(t, admin, reqs); st[http.StatusSeeOther] != 20 {
				t.Errorf("20 revoke presses answered %v, want 20 × 303", st)
			}
			if n := calls.Load(); n != 1 {
				t.Errorf("20 revoke presses made %d provider calls, want 1", n)
			}
			if got := e.mandate(m.ID, mandate.Revoked).RevokedBy; got != "merchant" {
				t.Errorf("revoked by %q", got)
			}

			calls.Store(0)
			page := shopper.Get(e.URL + "/mandates/" + other.ID).Expect(http.StatusOK)
			reqs = reqs[:0]
			for range 20 {
				reqs = append(reqs, page.Submit("", "/cancel", nil))
			}
			if st := pressAll(t, shopper, reqs); st[http.StatusSeeOther] != 20 {
				t.Errorf("20 cancel presses answered %v, want 20 × 303", st)
			}
			if n := calls.Load(); n != 1 {
				t.Errorf("20 cancel presses made %d provider calls, want 1", n)
			}
			e.mandate(other.ID, mandate.Revoked)
		})
	}
}

package handlers_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"example.com/storefront/mandate"
	"example.com/storefront/payments"
)

// A shopper cancels; the provider revokes and sends its webhook at once,
// and the webhook (which names the revocation the merchant's: the call was
// made with the merchant's key) is processed before the call's own answer
// reaches the app. The mandate is still recorded as revoked by the
// shopper, who asked: the request is noted before the provider is called.
func TestWebhookOvertakingTheCancelKeepsWhoAsked(t *testing.T) {
	t.Parallel()
	for _, provider := range merchantProviders {
		t.Run(provider, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, withWebhooks)
			m, shopper := e.activeMandate(provider)
			var overtaken atomic.Bool // the webhook revoked the mandate before the call's answer came
			e.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
				if r.Method != http.MethodPost || !(strings.HasSuffix(r.URL.Path, "/detach") || strings.HasSuffix(r.URL.Path, "/revocations")) {
					return false
				}
				// Let the provider revoke, then hold its answer until its
				// webhook has revoked the mandate in the app.
				rec := httptest.NewRecorder()
				e.Forward(rec, r)
				for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
					if got, _ := e.Store.Mandate(context.Background(), m.ID); got.Status == mandate.Revoked {
						overtaken.Store(true)
						break
					}
				}
				for k, v := range rec.Header() {
					w.Header()[k] = v
				}
				w.WriteHeader(rec.Code)
				w.Write(rec.Body.Bytes())
				return true
			})
			page := shopper.Get(e.URL + "/mandates/" + m.ID).Expect(http.StatusOK)
			shopper.Do(page.Submit("", "/cancel", nil)).Expect(http.StatusSeeOther)
			got := e.mandate(m.ID, mandate.Revoked)
			if !overtaken.Load() {
				t.Fatal("the webhook did not revoke the mandate within 10 s of the provider's revocation: the race was not played")
			}
			if got.RevokedBy != payments.RevokedByShopper {
				t.Errorf("revoked by %q, want the shopper, who cancelled", got.RevokedBy)
			}
		})
	}
}

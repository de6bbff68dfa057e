package handlers_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"example.com/storefront/mandate"
	"example.com/storefront/payments"
	"example.com/storefront/payments/ppro"
)

// A revocation the provider answered stands, and each attempt has its own
// idempotency key, for the shopper's cancel and the merchant's revoke on
// both providers:
//   - PPRO answers the revocation REVOKED while the agreement still reads
//     ACTIVE for a while (RevocationLag): the first press is the revocation;
//   - Stripe fails the first detach with a 500 it stores under the key
//     (FailNext): the press fails, the mandate stays active, and the
//     second press, with a new key, revokes (a fixed key would be answered
//     the stored 500 for 24 hours).
func TestRevocationAnswerStandsAndEachAttemptHasItsOwnKey(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		provider string
		by       payments.Revoker
	}{
		{"ppro", payments.RevokedByShopper},
		{"ppro", payments.RevokedByMerchant},
		{"stripe", payments.RevokedByShopper},
		{"stripe", payments.RevokedByMerchant},
	} {
		t.Run(tc.provider+"/"+string(tc.by), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			m, shopper := e.activeMandate(tc.provider)
			admin := e.adminBrowser()
			// press asks for the revocation as the shopper or the merchant
			// does, and returns the status of the answer.
			press := func() int {
				if tc.by == payments.RevokedByShopper {
					page := shopper.Get(e.URL + "/mandates/" + m.ID).Expect(http.StatusOK)
					return shopper.Do(page.Submit("", "/cancel", nil)).Status
				}
				return admin.Do(revokeNow(e.adminPage(admin, m.ID))).Status
			}
			var mu sync.Mutex
			var keys []string // the idempotency keys of the revocation calls
			e.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
				if r.Method == http.MethodPost && (strings.HasSuffix(r.URL.Path, "/detach") || strings.HasSuffix(r.URL.Path, "/revocations")) {
					mu.Lock()
					keys = append(keys, r.Header.Get("Idempotency-Key")+r.Header.Get("Request-Idempotency-Key"))
					mu.Unlock()
				}
				return false
			})

			switch tc.provider {
			case "ppro":
				s := e.sandbox.PPROSim().Settings()
				s.RevocationLag = time.Hour
				e.sandbox.PPROSim().SetSettings(s)
			case "stripe":
				s := e.sandbox.StripeSim().Settings()
				s.FailNext = 1
				e.sandbox.StripeSim().SetSettings(s)
				if got := press(); got != http.StatusBadGateway && got != http.StatusSeeOther {
					t.Fatalf("the press Stripe failed answered %d", got)
				}
				e.mandate(m.ID, mandate.Active) // nothing was revoked: Stripe undid it
			}
			if got := press(); got != http.StatusSeeOther {
				t.Fatalf("the revocation answered %d, want 303 back to the page", got)
			}
			got := e.mandate(m.ID, mandate.Revoked)
			if got.RevokedBy != tc.by {
				t.Errorf("revoked by %q, want %q", got.RevokedBy, tc.by)
			}
			h, _ := e.Store.History(context.Background(), m.ID)
			if last := h[len(h)-1]; last.To != mandate.Revoked {
				t.Errorf("last history row %+v", last)
			}
			if tc.provider == "ppro" {
				// The agreement still reads ACTIVE (the test did play the
				// lag), and revoked once the lag has passed.
				agr, err := e.PPRO.GetAgreement(context.Background(), m.PaymentMethodID)
				if err != nil {
					t.Fatal(err)
				}
				if agr.Status != ppro.AgreementActive {
					t.Fatalf("during the lag PPRO's agreement reads %s, want ACTIVE", agr.Status)
				}
				e.Clock.Set(2 * time.Hour)
			}
			e.providerRevoked(got)

			// Each attempt had a key of its own (a client's own retries
			// within an attempt may repeat it).
			mu.Lock()
			defer mu.Unlock()
			distinct := map[string]bool{}
			for _, k := range keys {
				distinct[k] = true
			}
			if want := map[string]int{"ppro": 1, "stripe": 2}[tc.provider]; len(distinct) != want || distinct[""] {
				t.Errorf("revocation calls sent keys %q: want %d distinct ones, one per attempt", keys, want)
			}
		})
	}
}

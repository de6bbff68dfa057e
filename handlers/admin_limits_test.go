package handlers_test

import (
	"net/http"
	"net/url"
	"testing"

	"example.com/storefront/internal/pagetest"
)

// A correct login costs no attempt: a merchant who logs in six times in a
// quarter of an hour (a few tabs, a few devices behind one address) is
// never refused, and five wrong passwords still lock the client out.
func TestCorrectLoginsGiveTheirAttemptBack(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	login := func(pw string) *pagetest.Page {
		return pagetest.NewBrowser(t).Post(e.URL+"/admin/login", url.Values{"password": {pw}})
	}
	for i := range 6 {
		if p := login(adminPassword); p.Status != http.StatusSeeOther {
			t.Fatalf("correct login %d answered %d", i+1, p.Status)
		}
	}
	for range 5 {
		login("wrong password").Expect(http.StatusUnauthorized)
	}
	login(adminPassword).Expect(http.StatusTooManyRequests)
}

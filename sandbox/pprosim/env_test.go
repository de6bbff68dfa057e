package pprosim_test

import (
	"strings"
	"testing"

	"example.com/storefront/internal/pagetest"
	"example.com/storefront/sandbox"
	"example.com/storefront/sandbox/sandboxtest"
)

const (
	testKey      = sandboxtest.StripeKey
	testMerchant = sandboxtest.Merchant
	ribbon       = "Sandbox: no real money moves"
)

// env is a served sandbox (sandboxtest).
type env struct {
	*sandboxtest.Env
	t *testing.T
	// pproBase is where pproCall sends PPRO API requests; "" means the
	// sandbox itself (BaseURL + "/sandbox/ppro"). A contract test puts a
	// validating proxy there.
	pproBase string
}

func newEnv(t *testing.T, configure ...func(*sandbox.Config)) *env {
	t.Helper()
	return &env{Env: sandboxtest.New(t, configure...), t: t}
}

func wantStatus(t *testing.T, res *pagetest.Page, want int) {
	t.Helper()
	if res.Status != want {
		t.Fatalf("status %d, want %d; body:\n%s", res.Status, want, res.Body)
	}
}

func wantBody(t *testing.T, res *pagetest.Page, substrings ...string) {
	t.Helper()
	for _, s := range substrings {
		if !strings.Contains(res.Body, s) {
			t.Errorf("body lacks %q; body:\n%s", s, res.Body)
		}
	}
}

package service_test

import (
	"log/slog"
	"os"
	"testing"

	"example.com/storefront/internal/apptest"
)

// harness is the storefront wired as main wires it (apptest.App). The
// service under test is the one the pages use, and it ages idempotency
// keys on the test's manual real time.
type harness struct {
	*apptest.App
	t testing.TB
}

func newHarness(t testing.TB, opts ...apptest.Option) *harness {
	t.Helper()
	opts = append([]apptest.Option{apptest.WithLogger(testLogger())}, opts...)
	return &harness{App: apptest.New(t, opts...), t: t}
}

func testLogger() *slog.Logger {
	if os.Getenv("DEBUG_SERVICE") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

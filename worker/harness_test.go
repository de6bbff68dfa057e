package worker_test

import (
	"context"
	"log/slog"
	"os"
	"testing"

	"example.com/storefront/internal/apptest"
	"example.com/storefront/mandate"
	"example.com/storefront/payments"
	"example.com/storefront/service"
	"example.com/storefront/store"
	"example.com/storefront/worker"
)

// harness is the storefront wired as main wires it (apptest.App), with no
// background loop: a test runs the worker's passes itself, after moving
// the clock.
type harness struct {
	*apptest.App
	t testing.TB
}

func newHarness(t testing.TB, opts ...apptest.Option) *harness {
	t.Helper()
	opts = append([]apptest.Option{apptest.WithLogger(testLogger())}, opts...)
	return &harness{App: apptest.New(t, opts...), t: t}
}

// plan is apptest.Monthly with another price or interval.
func plan(amount int64, interval payments.Interval) payments.Plan {
	p := apptest.Monthly
	p.Price.Amount, p.Interval = amount, interval
	return p
}

// secondProcess is another app process on the same database file: its own
// connection pool, its own providers and service, its own worker (with its
// own name on the leases).
func (h *harness) secondProcess(cfg func(*worker.Config)) (*worker.Worker, *store.Store) {
	h.t.Helper()
	st, err := store.Open(context.Background(), h.DBFile, h.Clock.Now, store.LeaseClock(h.Time.Now))
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { st.Close() })
	providers := h.NewProviders()
	svc, err := service.New(service.Config{Store: st, Providers: providers, Logger: testLogger()})
	if err != nil {
		h.t.Fatal(err)
	}
	wcfg := worker.Config{Store: st, Service: svc, Providers: providers, Now: h.Clock.Now, Logger: testLogger()}
	if cfg != nil {
		cfg(&wcfg)
	}
	return worker.New(wcfg), st
}

// scheduled is a mandate's scheduled charges for period n, by attempt.
func scheduled(cs []store.Charge, n int) []store.Charge {
	var out []store.Charge
	for _, c := range cs {
		if c.Period == n {
			out = append(out, c)
		}
	}
	return out
}

func mustActive(t testing.TB, m store.Mandate) {
	t.Helper()
	if m.Status != mandate.Active {
		t.Fatalf("mandate %s is %s, want active", m.ID, m.Status)
	}
}

func testLogger() *slog.Logger {
	if os.Getenv("DEBUG_WORKER") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

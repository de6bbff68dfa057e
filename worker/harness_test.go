package worker_test

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"example.com/storefront/clock"
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

// process is another app process on the harness's database file, as
// main builds one: its own connection pool, providers, service, worker
// (with its own name on the leases) and Demo.
type process struct {
	Clock  *clock.Clock
	Store  *store.Store
	Worker *worker.Worker
	Demo   *worker.Demo
}

// secondProcess is another process on the harness's demo clock.
func (h *harness) secondProcess(cfg func(*worker.Config)) *process {
	h.t.Helper()
	return h.newProcess(h.Clock, h.Time.Now, cfg)
}

// newProcess is another process on the demo clock c, measuring leases on
// leaseClock; cfg, if not nil, adjusts its worker.
func (h *harness) newProcess(c *clock.Clock, leaseClock func() time.Time, cfg func(*worker.Config)) *process {
	h.t.Helper()
	st, err := store.Open(context.Background(), h.DB, c.Now, store.LeaseClock(leaseClock))
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { st.Close() })
	providers := h.NewProviders()
	svc, err := service.New(service.Config{Store: st, Providers: providers, Logger: testLogger()})
	if err != nil {
		h.t.Fatal(err)
	}
	wcfg := worker.Config{Store: st, Service: svc, Providers: providers, Now: c.Now, Logger: testLogger()}
	if cfg != nil {
		cfg(&wcfg)
	}
	p := &process{Clock: c, Store: st, Worker: worker.New(wcfg)}
	p.Demo = &worker.Demo{Clock: c, Store: st, Worker: p.Worker}
	return p
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

package sandbox_test

import (
	"fmt"
	"testing"

	"example.com/storefront/internal/walpages"
	"example.com/storefront/sandbox/sandboxtest"
)

// BenchmarkStripeChargeWAL counts the pages one off-session charge appends
// to the sandbox's WAL, and so what its commit writes: a count the host's
// load does not move, unlike CPU time (see package walpages). It reports
// pages/op; -v logs them by table and index.
func BenchmarkStripeChargeWAL(b *testing.B) {
	e := sandboxtest.New(b)
	api := benchStripeClient(e.BaseURL)
	mandates := benchMandates(b, e, api, 200)
	c, err := walpages.Open(e.Cfg.DBPath)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	// Charges go in windows that end well before the sandbox's writer
	// checkpoints by itself (4,000 pages).
	const window = 50
	k := 0
	b.ResetTimer()
	for done := 0; done < b.N; done += window {
		if err := c.Start(); err != nil {
			b.Fatal(err)
		}
		for range min(window, b.N-done) {
			k++
			m := mandates[(k*37)%len(mandates)] // not in the order they were made
			benchCharge(b, api, m.customer, m.pm, fmt.Sprintf("wal-%d", k))
		}
		if err := c.Stop(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(c.Total())/float64(b.N), "pages/op")
	if testing.Verbose() {
		report, err := c.Report(b.N)
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("pages a charge by table and index:\n%s", report)
	}
}

package main

import (
	"context"
	"io"
	"testing"
	"time"

	"example.com/storefront/internal/cputime"
	"example.com/storefront/internal/loadtest"
)

// BenchmarkFlowProcesses measures whole flows as they run in production:
// the storefront binary and `storefront sandbox` as two processes (the
// sandbox delivering signed webhooks to the app), driven by the load
// driver from this process. Each process's CPU time is read from the
// kernel, so the app's cost per flow is reported apart from the provider's
// (app-cpu-µs/flow, sandbox-cpu-µs/flow) and from the client's. The flows
// are one at a time, so the figures are cost, not contention.
//
//	go test -run '^$' -bench FlowProcesses -benchtime 400x .
func BenchmarkFlowProcesses(b *testing.B) {
	bin := storefrontBinary(b)
	for _, c := range []struct {
		name     string
		provider string
		payNow   float64
	}{
		{"stripe", loadtest.ProviderStripe, 0}, // the first period charged by the worker
		{"ppro", loadtest.ProviderPPRO, 1},     // the first period paid on approval
	} {
		b.Run(c.name, func(b *testing.B) {
			addr := freeAddr(b)
			sb := startSandbox(b, bin, "http://"+addr, map[string]string{"LOG_LEVEL": "info"})
			app := startProcess(b, bin, map[string]string{
				"DATA_DIR": b.TempDir(), "ADDR": addr, "SANDBOX_URL": sb.URL,
				"ADMIN_PASSWORD": "correct horse battery staple", "SESSION_KEYS": testSessionKeys,
				"RATE_LIMIT": "off",
			})
			opts := func(flows int) loadtest.Options {
				providers, _ := loadtest.ParseMix(c.provider + "=1")
				decisions, _ := loadtest.ParseMix(loadtest.DecisionApprove + "=1")
				return loadtest.Options{URL: app.URL, Flows: flows, Concurrency: 1,
					Providers: providers, Decisions: decisions, PayNow: c.payNow, Seed: 1}
			}
			run := func(flows int) {
				rep, err := loadtest.Run(context.Background(), opts(flows), io.Discard)
				if err != nil || rep.Completed != flows {
					b.Fatalf("%d of %d flows completed (%v): %+v", rep.Completed, flows, err, rep.Errors)
				}
			}
			run(20) // warm: connections, statement caches, the page cache
			cpu := func(p *process) time.Duration {
				d, err := cputime.Of(p.cmd.Process.Pid)
				if err != nil {
					b.Fatal(err)
				}
				return d
			}
			app0, sb0, self0 := cpu(app), cpu(sb), cputime.Process()
			b.ResetTimer()
			run(b.N)
			b.StopTimer()
			// Webhooks and the worker's first charge finish after the
			// return page: let them, so that their CPU is counted.
			time.Sleep(1500 * time.Millisecond)
			perFlow := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(b.N) }
			b.ReportMetric(perFlow(cpu(app)-app0), "app-cpu-µs/flow")
			b.ReportMetric(perFlow(cpu(sb)-sb0), "sandbox-cpu-µs/flow")
			b.ReportMetric(perFlow(cputime.Process()-self0), "client-cpu-µs/flow")
		})
	}
}

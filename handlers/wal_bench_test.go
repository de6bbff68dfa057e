package handlers_test

import (
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"example.com/storefront/internal/walpages"
)

// BenchmarkSandboxFlowWAL counts the pages one whole flow (with the
// sandbox's webhooks, as `go run .` runs) appends to the WAL of the app's
// SQLite file and of the sandbox's, and so what its commits write: a count
// the host's load does not move, unlike the flows' CPU time (see package
// walpages). It reports app-pages/op and sandbox-pages/op, and the commits
// that wrote them (a statement outside a transaction commits on its own);
// -v logs the pages by table and index. It also reports the statements and
// transactions each database ran (reportCounts).
//
// The sub-benchmarks ending in -no-webhooks run the flows as
// BenchmarkSandboxFlow and BenchmarkSandboxFlowPPRO do.
func BenchmarkSandboxFlowWAL(b *testing.B) {
	type run struct {
		name string
		opts []envOption
	}
	var runs []run
	for _, provider := range []string{"stripe", "ppro"} {
		runs = append(runs, run{provider, []envOption{direct, withWebhooks}})
	}
	for _, provider := range []string{"stripe", "ppro"} {
		runs = append(runs, run{provider + "-no-webhooks", []envOption{direct}})
	}
	for _, r := range runs {
		provider := strings.TrimSuffix(r.name, "-no-webhooks")
		b.Run(r.name, func(b *testing.B) {
			e := newEnv(b, r.opts...)
			form, flow := e.flowOf(b, provider)
			for range 5 { // the tables' first pages, the statement caches
				flow(b, e, form)
			}
			files := map[string]string{"app": e.DBFile, "sandbox": e.SandboxDBFile}
			counters := map[string]*walpages.Counter{}
			for who, file := range files {
				c, err := walpages.Open(file)
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				counters[who] = c
			}
			// A few flows at a time, each window ending once what they set
			// going in the background (webhooks, the first payment, emails)
			// has settled, and well before SQLite checkpoints by itself.
			const window = 4
			defer e.reportCounts(b)()
			b.ResetTimer()
			for done := 0; done < b.N; done += window {
				for _, c := range counters {
					if err := c.Start(); err != nil {
						b.Fatal(err)
					}
				}
				for range min(window, b.N-done) {
					flow(b, e, form)
				}
				settle(b, slices.Collect(maps.Values(files)))
				for _, c := range counters {
					if err := c.Stop(); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.StopTimer()
			for _, who := range []string{"app", "sandbox"} {
				c := counters[who]
				b.ReportMetric(float64(c.Total())/float64(b.N), who+"-pages/op")
				b.ReportMetric(float64(c.Commits())/float64(b.N), who+"-commits/op")
				if testing.Verbose() {
					report, err := c.Report(b.N)
					if err != nil {
						b.Fatal(err)
					}
					b.Logf("%s, pages a flow by table and index:\n%s", who, report)
				}
			}
		})
	}
}

// settle waits until the WAL files of the databases have not grown for
// 300 ms (5 s at most): the writes a flow set going have ended.
func settle(b *testing.B, dbs []string) {
	size := func() int64 {
		var n int64
		for _, db := range dbs {
			if fi, err := os.Stat(db + "-wal"); err == nil {
				n += fi.Size()
			}
		}
		return n
	}
	last, since := size(), time.Now()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		if n := size(); n != last {
			last, since = n, time.Now()
		} else if time.Since(since) >= 300*time.Millisecond {
			return
		}
	}
	b.Fatal("the databases kept being written for 5 s after the flows")
}

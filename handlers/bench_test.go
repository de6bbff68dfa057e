package handlers_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"example.com/storefront/internal/cputime"
	"example.com/storefront/internal/gcpace"
	"example.com/storefront/internal/pagetest"
	"example.com/storefront/sqlitedb"
)

// BenchmarkHome is GET / in-process over loopback.
// Target on a 2-core machine: under 200 µs.
func BenchmarkHome(b *testing.B) {
	defer gcpace.Apply()() // as main runs
	e := newEnv(b, direct)
	client := gzipClient() // as a browser asks, the body not inflated
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		send(b, client, http.MethodGet, e.URL+"/", nil)
	}
}

// BenchmarkSandboxFlow is one whole flow against the built-in sandbox, in
// process over loopback, as a browser without JavaScript makes it: the home
// page, the form (a Checkout Session created through the API), Stripe's
// checkout page, choosing Amazon Pay, the approval page, approving, and the
// success page (which verifies through the API). The client does not parse
// HTML, so the figure is the servers' work.
// Target on a 2-core machine (issue 20): 2.5 ms of CPU.
func BenchmarkSandboxFlow(b *testing.B) { benchmarkFlow(b, "stripe") }

// BenchmarkSandboxFlowWebhooks is each provider's flow as `go run .` runs
// it, with the sandbox's signed webhooks, each fetched and recorded by the
// app: the same CPU and counts, where BenchmarkSandboxFlowWAL counts pages.
func BenchmarkSandboxFlowWebhooks(b *testing.B) {
	for _, provider := range []string{"stripe", "ppro"} {
		b.Run(provider, func(b *testing.B) { benchmarkFlow(b, provider, withWebhooks) })
	}
}

// benchmarkFlow runs provider's flow (flowOf) b.N times, as main runs.
func benchmarkFlow(b *testing.B, provider string, opts ...envOption) {
	defer gcpace.Apply()() // as main runs
	e := newEnv(b, append([]envOption{direct}, opts...)...)
	form, flow := e.flowOf(b, provider)
	b.ReportAllocs()
	defer reportCPU(b)()
	defer e.reportCounts(b)()
	for b.Loop() {
		flow(b, e, form)
	}
	settle(b, []string{e.DBFile, e.SandboxDBFile}) // the last flow's first payment
}

// reportCounts adds the statements and transactions each database ran per
// operation (app-stmts/op, app-txs/op, sandbox-stmts/op, sandbox-txs/op)
// to the benchmark's output: counts the host's load does not move, unlike
// CPU time.
func (e *env) reportCounts(b *testing.B) func() {
	type db struct {
		who        string
		counts     *sqlitedb.Counts
		stmts, txs int64 // at the start
	}
	dbs := []db{{who: "app", counts: &e.AppCounts}, {who: "sandbox", counts: &e.SandboxCounts}}
	for i := range dbs {
		dbs[i].stmts, dbs[i].txs = dbs[i].counts.Statements(), dbs[i].counts.Transactions()
	}
	return func() {
		if b.N == 0 {
			return
		}
		for _, d := range dbs {
			b.ReportMetric(float64(d.counts.Statements()-d.stmts)/float64(b.N), d.who+"-stmts/op")
			b.ReportMetric(float64(d.counts.Transactions()-d.txs)/float64(b.N), d.who+"-txs/op")
		}
	}
}

// flowOf is the form a shopper of provider sends and their whole flow:
// stripeFlow, or pproFlow paying the first period with the agreement.
func (e *env) flowOf(b *testing.B, provider string) (url.Values, func(*testing.B, *env, url.Values)) {
	form := e.validForm(pagetest.NewBrowser(b))
	if provider != "ppro" {
		return form, stripeFlow
	}
	form.Set("provider", "ppro")
	form.Set("pay_now", "yes")
	return form, pproFlow
}

// stripeFlow is one Stripe flow of a new shopper (a new cookie jar), from
// the home page to the success page.
func stripeFlow(b *testing.B, e *env, form url.Values) {
	client := pagetest.NewBrowser(b).Client
	send(b, client, http.MethodGet, e.URL+"/", nil)
	checkout := location(b, send(b, client, http.MethodPost, e.URL+"/create-checkout-session", form))
	send(b, client, http.MethodGet, checkout, nil)
	approval := location(b, send(b, client, http.MethodPost, checkout, url.Values{"method": {"amazon_pay"}}))
	send(b, client, http.MethodGet, approval, nil)
	success := location(b, send(b, client, http.MethodPost, approval, url.Values{"decision": {"approve"}}))
	if page := read(b, client, success); !strings.Contains(page, `data-status="active"`) {
		b.Fatalf("success page is not active:\n%s", page)
	}
}

// BenchmarkSandboxFlowPPRO is one whole PPRO flow with the first payment:
// the home page, the form (an agreement created through the API), Amazon
// Pay's approval through PPRO, approving, and the return page (which fetches
// the agreement and its first charge through the API).
func BenchmarkSandboxFlowPPRO(b *testing.B) { benchmarkFlow(b, "ppro") }

// pproFlow is one PPRO flow of a new shopper paying the first period with
// the agreement (form's pay_now), from the home page to the return page.
func pproFlow(b *testing.B, e *env, form url.Values) {
	client := pagetest.NewBrowser(b).Client
	send(b, client, http.MethodGet, e.URL+"/", nil)
	approval := location(b, send(b, client, http.MethodPost, e.URL+"/create-checkout-session", form))
	send(b, client, http.MethodGet, approval, nil)
	back := location(b, send(b, client, http.MethodPost, approval, url.Values{"decision": {"approve"}}))
	if page := read(b, client, back); !strings.Contains(page, `data-status="active"`) || !strings.Contains(page, `data-status="succeeded"`) {
		b.Fatalf("return page is not active with a paid first payment:\n%s", page)
	}
}

// reportCPU adds the process's CPU time per operation (client and servers
// together) to the benchmark's output: on a shared VM the wall time also
// counts time the host stole from us, the CPU time does not. It adds the
// goroutines started per operation too (goroutines/op, see
// cputime.GoroutinesCreated).
func reportCPU(b *testing.B) func() {
	start, started := cputime.Process(), goroutinesCreated()
	return func() {
		if b.N == 0 {
			return
		}
		if used := cputime.Process() - start; used > 0 {
			b.ReportMetric(float64(used)/float64(time.Microsecond)/float64(b.N), "cpu-µs/op")
		}
		b.ReportMetric(float64(goroutinesCreated()-started)/float64(b.N), "goroutines/op")
	}
}

// goroutinesCreated is cputime.GoroutinesCreated, 0 on a Go without it.
func goroutinesCreated() uint64 {
	n, _ := cputime.GoroutinesCreated()
	return n
}

// send is pagetest.Send: one request, its body read to the end.
func send(b *testing.B, c *http.Client, method, u string, form url.Values) *http.Response {
	b.Helper()
	return pagetest.Send(b, c, method, u, form)
}

// read GETs a page and returns it.
func read(b *testing.B, c *http.Client, u string) string {
	resp, err := c.Get(u)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	page, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("GET %s: %d %v", u, resp.StatusCode, err)
	}
	return string(page)
}

func location(b *testing.B, resp *http.Response) string {
	loc, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		b.Fatalf("%s: %d, Location %q", resp.Request.URL, resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc.String()
}

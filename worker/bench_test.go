package worker_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"example.com/storefront/internal/apptest"
	"example.com/storefront/internal/cputime"
	"example.com/storefront/internal/dbtest"
	"example.com/storefront/internal/gcpace"
	"example.com/storefront/internal/pagetest"
	"example.com/storefront/internal/pgtest"
	"example.com/storefront/payments"
	"example.com/storefront/sandbox"
	"example.com/storefront/worker"
)

// sandboxChildEnv, when set (to a directory), makes the test binary serve
// the sandbox instead of running tests: the benchmark runs the sandbox in
// a process of its own, so that the worker's CPU time is measured apart
// from the provider's.
const sandboxChildEnv = "WORKER_TEST_SANDBOX_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(sandboxChildEnv); dir != "" {
		if err := serveSandbox(dir); err != nil {
			fmt.Fprintln(os.Stderr, "sandbox:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(pgtest.Run(m)) // stops the PostgreSQL server the tests started
}

// serveSandbox serves a sandbox on a free loopback port, prints its URL,
// and serves until its standard input closes (the parent is gone). GET
// /cpu answers the CPU time it has used, in nanoseconds.
func serveSandbox(dir string) error {
	gcpace.Apply() // as main runs `storefront sandbox`
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	sb, err := sandbox.New(context.Background(), sandbox.Config{
		DBPath:       filepath.Join(dir, "sandbox.db"),
		PublicURL:    base + "/sandbox",
		MerchantName: "Northwind Coffee",
		Stripe:       sandbox.StripeConfig{SecretKey: apptest.StripeKey},
		PPRO:         sandbox.PPROConfig{APIToken: apptest.PPROToken, MerchantID: apptest.PPROMerchant},
	})
	if err != nil {
		return err
	}
	defer sb.Close()
	// BENCH_SANDBOX_PROFILE names a file for a CPU profile of the sandbox
	// process during the passes: from the benchmark's first reading of its
	// CPU time to the end.
	startProfile := func() error { return nil }
	if file := os.Getenv("BENCH_SANDBOX_PROFILE"); file != "" {
		f, err := os.Create(file)
		if err != nil {
			return err
		}
		defer f.Close()
		startProfile = sync.OnceValue(func() error { return pprof.StartCPUProfile(f) })
		defer pprof.StopCPUProfile()
	}
	mux := http.NewServeMux()
	mux.Handle("/sandbox/", sb)
	mux.HandleFunc("GET /cpu", func(w http.ResponseWriter, r *http.Request) {
		if err := startProfile(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, cputime.Process().Nanoseconds())
	})
	go http.Serve(ln, mux)
	fmt.Println("sandbox listening", base)
	io.Copy(io.Discard, os.Stdin)
	return nil
}

// sandboxProcess is a sandbox served by a child process.
type sandboxProcess struct {
	URL    string
	DBFile string
}

// startSandboxProcess runs the sandbox in a child process (this test
// binary again), stopped when the benchmark ends.
func startSandboxProcess(b *testing.B) *sandboxProcess {
	b.Helper()
	dir := b.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), sandboxChildEnv+"="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	base, ok := strings.CutPrefix(strings.TrimSpace(line), "sandbox listening ")
	if err != nil || !ok {
		b.Fatalf("the sandbox process said %q (%v)", line, err)
	}
	go io.Copy(io.Discard, stdout)
	return &sandboxProcess{URL: base, DBFile: filepath.Join(dir, "sandbox.db")}
}

// cpu is the CPU time the sandbox process has used.
func (s *sandboxProcess) cpu(b *testing.B) time.Duration {
	b.Helper()
	resp, err := http.Get(s.URL + "/cpu")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	ns, err := strconv.ParseInt(string(body), 10, 64)
	if err != nil {
		b.Fatalf("sandbox cpu: %q", body)
	}
	return time.Duration(ns)
}

// stripeMandates makes n active Stripe mandates through the pages, as n
// shoppers would (each with their own email, cookie jar and Stripe
// customer), a few at a time.
func (h *harness) stripeMandates(n, parallel int) error {
	home := pagetest.NewBrowser(h.t).Get(h.URL + "/").Expect(http.StatusOK)
	form := url.Values{
		"name": {"Ada Lovelace"}, "country": {"US"}, "provider": {"stripe"}, "consent": {"yes"},
		"terms_version": {home.InputValue("terms_version")}, "terms_sha256": {home.InputValue("terms_sha256")},
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, parallel)
	for i := range parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := next.Add(1); k <= int64(n) && errs[i] == nil; k = next.Add(1) {
				f := url.Values{}
				for key, v := range form {
					f[key] = v
				}
				f.Set("email", fmt.Sprintf("shopper%d@example.com", k))
				errs[i] = h.stripeFlow(f)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// stripeFlow is one shopper's whole Stripe flow, as a browser without
// JavaScript makes it, without parsing the pages.
func (h *harness) stripeFlow(form url.Values) error {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	step := func(method, u string, form url.Values) (string, string, error) {
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequest(method, u, body)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := c.Do(req)
		if err != nil {
			return "", "", err
		}
		defer resp.Body.Close()
		page, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode >= 400 {
			return "", "", fmt.Errorf("%s %s: %d %v", method, u, resp.StatusCode, err)
		}
		loc, _ := resp.Location()
		if loc == nil {
			return "", string(page), nil
		}
		return loc.String(), string(page), nil
	}
	checkout, _, err := step(http.MethodPost, h.URL+"/create-checkout-session", form)
	if err != nil {
		return err
	}
	approval, _, err := step(http.MethodPost, checkout, url.Values{"method": {"amazon_pay"}})
	if err != nil {
		return err
	}
	success, _, err := step(http.MethodPost, approval, url.Values{"decision": {"approve"}})
	if err != nil {
		return err
	}
	_, page, err := step(http.MethodGet, success, nil)
	if err != nil {
		return err
	}
	if !strings.Contains(page, `data-status="active"`) {
		return fmt.Errorf("the success page is not active: %.300s", page)
	}
	return nil
}

// BenchmarkBillingDuePeriods is the worker charging 10,000 due periods
// (one per active Stripe mandate; BENCH_DUE_PERIODS changes the number)
// against the sandbox, in passes of its configured batch (50), as main
// runs it. The sandbox runs in a process of its own, so that the worker's
// CPU time per charge (its own process: claiming, writing each charge
// row first, the API call, recording the answer) is measured apart from
// the provider's. Each iteration moves the clock a day on (a day plan),
// making the next period of every mandate due. It reports charges per
// second, and the CPU time per charge of the worker's process and of the
// sandbox's. It runs on each database (sub-benchmarks sqlite and
// postgres), with the same checks, for the README's ratio.
func BenchmarkBillingDuePeriods(b *testing.B) {
	defer gcpace.Apply()() // as main runs
	for _, db := range []dbtest.Kind{dbtest.KindSQLite, dbtest.KindPostgres} {
		b.Run(string(db), func(b *testing.B) { benchmarkBillingDuePeriods(b, db) })
	}
}

func benchmarkBillingDuePeriods(b *testing.B, db dbtest.Kind) {
	n := 10_000
	if v := os.Getenv("BENCH_DUE_PERIODS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("BENCH_DUE_PERIODS=%q", v)
		}
	}
	// BENCH_IN_FLIGHT and BENCH_BATCH set the worker's InFlight (calls at
	// once) and Batch (billings claimed per pass); unset, main's defaults.
	var inFlight, batch int
	for env, to := range map[string]*int{"BENCH_IN_FLIGHT": &inFlight, "BENCH_BATCH": &batch} {
		if v := os.Getenv(env); v != "" {
			var err error
			if *to, err = strconv.Atoi(v); err != nil || *to < 1 {
				b.Fatalf("%s=%q", env, v)
			}
		}
	}
	sb := startSandboxProcess(b)
	// The sandbox keeps real time; the app starts there too.
	h := newHarness(b, apptest.On(db), apptest.RemoteSandbox(sb.URL, sb.DBFile), apptest.WithPlan(plan(1200, payments.Day)),
		apptest.StartingAt(time.Now()), apptest.WithWorker(func(c *worker.Config) { c.InFlight, c.Batch = inFlight, batch }))
	setup := time.Now()
	if err := h.stripeMandates(n, 4); err != nil {
		b.Fatal(err)
	}
	b.Logf("%d active mandates made through the pages in %s", n, time.Since(setup).Round(time.Millisecond))

	// BENCH_BILLING_PROFILE names a file for a CPU profile of the passes
	// alone (-cpuprofile also takes in the pages that made the mandates).
	if file := os.Getenv("BENCH_BILLING_PROFILE"); file != "" {
		f, err := os.Create(file)
		if err != nil {
			b.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		defer pprof.StopCPUProfile()
	}
	var charges int
	var wall, workerCPU, sandboxCPU time.Duration
	b.ResetTimer()
	for i := range b.N {
		if i > 0 {
			h.Time.Advance(24 * time.Hour)
		}
		cpu0, sb0, t0 := cputime.Process(), sb.cpu(b), time.Now()
		charged := 0
		for charged < n {
			r, err := h.Worker.Pass(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			if r.Charged == 0 {
				b.Fatalf("a pass charged nothing with %d of %d periods charged", charged, n)
			}
			charged += r.Charged
		}
		wall += time.Since(t0)
		workerCPU += cputime.Process() - cpu0
		sandboxCPU += sb.cpu(b) - sb0
		charges += charged
	}
	b.StopTimer()
	if got := h.AppCount(`SELECT count(*) FROM charges WHERE status = 'succeeded'`); got != charges {
		b.Fatalf("%d succeeded charges, want %d", got, charges)
	}
	if got := h.SandboxCount(`SELECT count(*) FROM stripe_payment_intents WHERE status = 'succeeded'`); got != charges {
		b.Fatalf("the sandbox holds %d succeeded PaymentIntents, want %d", got, charges)
	}
	b.ReportMetric(float64(charges)/wall.Seconds(), "charges/s")
	b.ReportMetric(float64(workerCPU.Nanoseconds())/float64(charges), "worker-cpu-ns/charge")
	b.ReportMetric(float64(sandboxCPU.Nanoseconds())/float64(charges), "sandbox-cpu-ns/charge")
}

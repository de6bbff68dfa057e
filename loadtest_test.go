package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"example.com/storefront/internal/loadtest"
)

// loadtestOptions drives every provider and decision equally against url:
// one deck of the dealt mix is 6 flows, one of each case.
func loadtestOptions(t *testing.T, url string, flows, concurrency int) loadtest.Options {
	t.Helper()
	providers, err := loadtest.ParseMix("stripe=1,ppro=1")
	if err != nil {
		t.Fatal(err)
	}
	decisions, err := loadtest.ParseMix("approve=1,decline=1,cancel=1")
	if err != nil {
		t.Fatal(err)
	}
	return loadtest.Options{
		URL: url, Flows: flows, Concurrency: concurrency,
		Providers: providers, Decisions: decisions, PayNow: 0.5, Seed: 7,
	}
}

func TestLoadTestDrivesEveryProviderAndDecision(t *testing.T) {
	app := start(t, map[string]string{})
	var out strings.Builder
	rep, err := loadtest.Run(context.Background(), loadtestOptions(t, app.URL, 12, 4), &out)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if rep.Started != 12 || rep.Completed != 12 || rep.Failed != 0 || rep.Interrupted != 0 || rep.ErrorCount() != 0 {
		t.Fatalf("started %d, completed %d, failed %d, interrupted %d, errors %+v\n%s",
			rep.Started, rep.Completed, rep.Failed, rep.Interrupted, rep.Errors, out.String())
	}
	// Two full decks: each provider and decision exactly twice, adding up.
	sum := 0
	for _, p := range []string{loadtest.ProviderStripe, loadtest.ProviderPPRO} {
		for _, d := range []string{loadtest.DecisionApprove, loadtest.DecisionDecline, loadtest.DecisionCancel} {
			c := rep.Cases[loadtest.Case{Provider: p, Decision: d}]
			if c.Started != 2 || c.Completed != 2 {
				t.Errorf("%s/%s: %+v, want 2 started and completed", p, d, c)
			}
			if p == loadtest.ProviderStripe && c.PayNow != 0 {
				t.Errorf("%s/%s: %d Stripe flows asked to pay now", p, d, c.PayNow)
			}
			sum += c.Completed
		}
	}
	if sum != rep.Completed || len(rep.Cases) != 6 {
		t.Errorf("cases add up to %d over %d cases, want %d over 6", sum, len(rep.Cases), rep.Completed)
	}
	// Every flow took each common step once; a Stripe decline retries, so
	// its two flows add one more checkout page, method choice, approval page
	// and decision each.
	steps := map[string]int{}
	for _, s := range rep.Steps {
		steps[s.Name] = s.Count
		if s.Count > 0 && (s.P50 <= 0 || s.P50 > s.P95 || s.P95 > s.P99 || s.P99 > s.Max) {
			t.Errorf("step %s: percentiles out of order: %+v", s.Name, s)
		}
	}
	for step, want := range map[string]int{
		loadtest.StepHome: 12, loadtest.StepCreate: 12, loadtest.StepProviderPage: 14,
		loadtest.StepChooseMethod: 8, loadtest.StepApprovalPage: 8, loadtest.StepDecision: 14, loadtest.StepReturnPage: 12,
	} {
		if steps[step] != want {
			t.Errorf("step %s timed %d times, want %d", step, steps[step], want)
		}
	}
	if rep.Flow.Count != 12 || rep.FlowsPerSecond <= 0 {
		t.Errorf("flow timings %+v, %.1f flows/s", rep.Flow, rep.FlowsPerSecond)
	}
	if rep.ConnsOpened == 0 || rep.ConnsOpened > 8 || rep.ConnsReused == 0 {
		t.Errorf("connections: %d opened, %d reused; want few opened and the rest reused", rep.ConnsOpened, rep.ConnsReused)
	}
	for _, want := range []string{"12 completed", "flows/s", "p99", "return_page", "errors: none"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the printed report lacks %q:\n%s", want, out.String())
		}
	}
}

// A wrong expectation (PPRO's cancel said to activate the mandate) must be
// reported as an unexpected outcome, with the run failing: proof that the
// check can fail.
func TestLoadTestReportsAnUnexpectedOutcome(t *testing.T) {
	app := start(t, map[string]string{})
	opts := loadtestOptions(t, app.URL, 6, 3)
	wrong := loadtest.Case{Provider: loadtest.ProviderPPRO, Decision: loadtest.DecisionCancel}
	opts.Expectations = map[loadtest.Case]loadtest.Expectation{wrong: {Status: "active"}}
	var out strings.Builder
	rep, err := loadtest.Run(context.Background(), opts, &out)
	if err == nil || !strings.Contains(err.Error(), "unexpected outcome") {
		t.Fatalf("run error %v, want one naming the unexpected outcome\n%s", err, out.String())
	}
	if n := rep.Count(loadtest.KindUnexpected); n != 1 || rep.ErrorCount() != 1 {
		t.Fatalf("%d unexpected outcomes of %d errors, want the one PPRO cancel: %+v", n, rep.ErrorCount(), rep.Errors)
	}
	if c := rep.Cases[wrong]; c.Failed != 1 || rep.Completed != 5 {
		t.Errorf("%s: %+v; %d completed, want the other 5", wrong, c, rep.Completed)
	}
	example := rep.Errors[0].Example
	for _, want := range []string{"ppro/cancel", "return_page", "canceled", "You left the payment page", "want active"} {
		if !strings.Contains(example, want) {
			t.Errorf("example %q lacks %q", example, want)
		}
	}
	if !strings.Contains(out.String(), "unexpected outcome") {
		t.Errorf("the printed report does not show the error:\n%s", out.String())
	}
}

// Without -allow-remote, a host that is not loopback is refused before any
// request; loopback hosts pass validation.
func TestLoadTestRefusesANonLoopbackURL(t *testing.T) {
	for _, url := range []string{
		"http://example.com:8080", "https://10.0.0.1", "http://[2001:db8::1]:8080",
		"http://localhost.example.com", "http://127.0.0.1.nip.io:8080", "http://0.0.0.0:8080",
	} {
		opts := loadtestOptions(t, url, 1, 1)
		rep, err := loadtest.Run(context.Background(), opts, &strings.Builder{})
		if err == nil || !strings.Contains(err.Error(), "not loopback") || !strings.Contains(err.Error(), "-allow-remote") {
			t.Errorf("%s: error %v, want a refusal naming -allow-remote", url, err)
		}
		if rep.Started != 0 {
			t.Errorf("%s: %d flows started", url, rep.Started)
		}
		opts.AllowRemote = true
		if err := opts.Validate(); err != nil {
			t.Errorf("%s with AllowRemote: %v", url, err)
		}
	}
	for _, url := range []string{"http://localhost:8080", "http://LOCALHOST", "http://127.0.0.1:1", "http://127.8.9.10", "http://[::1]:8080/"} {
		if err := loadtestOptions(t, url, 1, 1).Validate(); err != nil {
			t.Errorf("%s: %v", url, err)
		}
	}
}

// A provider the storefront does not offer for its plan is refused before
// any flow starts (a plan in euros: PPRO is US and USD only).
func TestLoadTestRefusesAProviderNotOffered(t *testing.T) {
	app := start(t, map[string]string{"PLAN_CURRENCY": "EUR"})
	rep, err := loadtest.Run(context.Background(), loadtestOptions(t, app.URL, 6, 2), &strings.Builder{})
	if err == nil || !strings.Contains(err.Error(), `"ppro"`) || !strings.Contains(err.Error(), "before any flow") {
		t.Fatalf("error %v, want PPRO refused before any flow", err)
	}
	if rep.Started != 0 {
		t.Errorf("%d flows started", rep.Started)
	}
}

// Given two instances (each with its own SQLite and built-in sandbox), the
// driver deals flows to them in turn and each flow stays on its instance:
// a flow that strayed would find no checkout there and fail. The report
// counts each instance's flows, and each instance's database holds them.
func TestLoadTestSpreadsFlowsOverSeveralURLs(t *testing.T) {
	dirs := []string{t.TempDir(), t.TempDir()}
	a := start(t, map[string]string{"DATA_DIR": dirs[0]})
	b := start(t, map[string]string{"DATA_DIR": dirs[1]})
	var out strings.Builder
	rep, err := loadtest.Run(context.Background(), loadtestOptions(t, a.URL+","+b.URL, 12, 4), &out)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if rep.Completed != 12 || len(rep.Instances) != 2 {
		t.Fatalf("%d completed over %d instances, want 12 over 2\n%s", rep.Completed, len(rep.Instances), out.String())
	}
	for i, app := range []*started{a, b} {
		s := rep.Instances[i]
		if s.URL != app.URL || s.Started != 6 || s.Completed != 6 || s.Failed != 0 || s.FlowsPerSecond <= 0 {
			t.Errorf("instance %d: %+v, want 6 flows completed on %s", i, s, app.URL)
		}
		db := readOnly(t, filepath.Join(dirs[i], "storefront.db"))
		if n := scalar(db, "SELECT COUNT(*) FROM mandates"); n != "6" {
			t.Errorf("%s holds %s mandates, want its 6", app.URL, n)
		}
		if !strings.Contains(out.String(), app.URL) {
			t.Errorf("the printed report does not name %s:\n%s", app.URL, out.String())
		}
	}
}

// With a sandbox process (SANDBOX_URL), the provider's pages are on the
// sandbox's origin: the driver learns it from each instance's footer,
// follows each flow there and back to the instance it started on, and
// refuses no other origin than before.
func TestLoadTestFollowsFlowsThroughASandboxProcess(t *testing.T) {
	bin := storefrontBinary(t)
	gw := newGateway(t)
	sb := startSandbox(t, bin, gw.URL, nil)
	off := map[string]string{"RATE_LIMIT": "off"}
	i1, i2 := startInstance(t, bin, sb.URL, off), startInstance(t, bin, sb.URL, off)
	gw.SetTargets(t, i1.URL)

	var out strings.Builder
	rep, err := loadtest.Run(context.Background(), loadtestOptions(t, i1.URL+","+i2.URL, 12, 4), &out)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	for i, inst := range []*process{i1, i2} {
		if s := rep.Instances[i]; s.URL != inst.URL || s.Completed != 6 || s.Failed != 0 {
			t.Errorf("instance %d: %+v, want 6 flows completed on %s", i, s, inst.URL)
		}
		db := readOnly(t, filepath.Join(inst.Env["DATA_DIR"], "storefront.db"))
		if n := scalar(db, "SELECT COUNT(*) FROM mandates"); n != "6" {
			t.Errorf("%s holds %s mandates, want its 6", inst.URL, n)
		}
	}
	if rep.Steps[2].Name != loadtest.StepProviderPage || rep.Steps[2].Count != 14 {
		t.Errorf("provider pages: %+v, want 14 (12 flows and 2 Stripe retries)", rep.Steps[2])
	}
}

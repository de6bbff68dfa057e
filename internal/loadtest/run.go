// Package loadtest drives complete mandate flows against a running
// storefront on its built-in sandbox, the way many browsers without
// JavaScript would, and reports throughput, latency per step and errors.
//
// It speaks only HTTP and HTML: it knows the storefront's pages by their
// forms, buttons and data-testid attributes (as internal/pagetest does in
// the tests), never its packages, so it measures exactly what a shopper's
// browser gets.
package loadtest

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Run validates opts, checks that the storefront offers the providers on
// its sandbox, drives the flows, prints the report to w and returns it.
// The error is non-nil when any flow failed or had an unexpected outcome,
// when the run was interrupted, or when it could not start (then the
// report is empty).
func Run(ctx context.Context, opts Options, w io.Writer) (Report, error) {
	if err := opts.Validate(); err != nil {
		return Report{}, err
	}
	opts = opts.withDefaults()
	urls, err := ParseURLs(opts.URL, opts.AllowRemote)
	if err != nil {
		return Report{}, err
	}
	transport := newTransport(opts.Concurrency, len(urls))
	defer transport.CloseIdleConnections()
	targets := make([]target, len(urls))
	for i, u := range urls {
		sandbox, err := preflight(ctx, transport, u, opts)
		if err != nil {
			return Report{}, fmt.Errorf("before any flow: %w", err)
		}
		targets[i] = target{origin: u, sandbox: sandbox}
	}

	r := &runner{
		opts:      opts,
		targets:   targets,
		transport: transport,
		rec:       newCollector(len(targets)),
		run:       strconv.FormatInt(time.Now().UnixMilli(), 36),
	}
	var roots []string
	for _, u := range urls {
		roots = append(roots, u.String())
	}
	fmt.Fprintf(w, "loadtest %s: %s against %s, concurrency %d, providers %s, decisions %s, pay-now %g, seed %d\n",
		r.run, describeLimit(opts), strings.Join(roots, ", "), opts.Concurrency, opts.Providers, opts.Decisions, opts.PayNow, opts.Seed)

	start := time.Now()
	stopProgress := r.progress(w, start)
	r.drive(ctx)
	elapsed := time.Since(start)
	stopProgress()

	rep := r.rec.report(opts, roots, elapsed)
	if err := rep.Print(w); err != nil {
		return rep, err
	}
	switch {
	case ctx.Err() != nil:
		return rep, fmt.Errorf("interrupted after %d of %d flows: %w", rep.Completed, rep.Started, context.Cause(ctx))
	case rep.Failed > 0:
		var kinds []string
		for _, g := range rep.Errors {
			kinds = append(kinds, fmt.Sprintf("%d %s", g.Count, g.Label()))
		}
		return rep, fmt.Errorf("%d of %d flows failed: %s", rep.Failed, rep.Started, strings.Join(kinds, ", "))
	}
	return rep, nil
}

// drive deals flows to Concurrency workers until Flows have been dealt,
// Duration has passed or ctx is done, then waits for the flows in flight.
// One goroutine deals, so the sequence of flows is the seed's whatever the
// concurrency.
func (r *runner) drive(ctx context.Context) {
	var deadline <-chan time.Time
	if r.opts.Duration > 0 {
		t := time.NewTimer(r.opts.Duration)
		defer t.Stop()
		deadline = t.C
	}
	jobs := make(chan flowSpec)
	go func() {
		defer close(jobs)
		d := newDealer(r.opts.Providers, r.opts.Decisions, r.opts.PayNow, r.opts.Seed)
		for n := 0; r.opts.Flows == 0 || n < r.opts.Flows; n++ {
			spec := d.deal()
			spec.Instance = instanceFor(spec.N, len(r.targets))
			select { // the time limit wins over a free worker
			case <-deadline:
				return
			case <-ctx.Done():
				return
			default:
			}
			select {
			case jobs <- spec:
			case <-deadline:
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	workers := r.opts.Concurrency
	if r.opts.Flows > 0 {
		workers = min(workers, r.opts.Flows)
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for spec := range jobs {
				r.one(ctx, spec)
			}
		})
	}
	wg.Wait()
}

// one runs a flow and records how it ended.
func (r *runner) one(ctx context.Context, spec flowSpec) {
	r.rec.flowStarted(spec)
	start := time.Now()
	err := r.flow(ctx, spec)
	switch {
	case err == nil:
		r.rec.flowCompleted(spec, time.Since(start))
	case ctx.Err() != nil:
		r.rec.flowInterrupted(spec)
	default:
		r.rec.flowFailed(spec, err)
	}
}

// progress prints a line every Options.Progress until the returned func is
// called, so a long run shows it is alive.
func (r *runner) progress(w io.Writer, start time.Time) (stop func()) {
	if r.opts.Progress <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(r.opts.Progress)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				completed := r.rec.completed.Load()
				elapsed := now.Sub(start)
				fmt.Fprintf(w, "  %s: %d completed, %d failed, %.1f flows/s\n",
					elapsed.Round(time.Second), completed, r.rec.failed.Load(), float64(completed)/elapsed.Seconds())
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

func describeLimit(o Options) string {
	switch {
	case o.Flows > 0 && o.Duration > 0:
		return fmt.Sprintf("%d flows or %s, whichever ends first,", o.Flows, o.Duration)
	case o.Flows > 0:
		return fmt.Sprintf("%d flows", o.Flows)
	default:
		return "flows for " + o.Duration.String()
	}
}

// newTransport is the one transport every browser shares: each flow makes
// one request at a time, so as many idle connections as flows in flight
// lets every request reuse a connection (the default of 2 per host would
// make most of them dial anew under load); each instance, and a sandbox
// process, is a host of its own.
func newTransport(concurrency, instances int) *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          (concurrency + 1) * (instances + 1), // +1: the preflight's; +1: a sandbox process
		MaxIdleConnsPerHost:   concurrency + 1,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     true,
	}
}

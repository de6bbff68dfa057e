// Command loadtest drives complete Amazon Pay mandate flows against a
// running storefront on its built-in sandbox and reports flows per second,
// latency per step and errors. See internal/loadtest.
//
//	go run ./cmd/loadtest -flows 200 -concurrency 8
//
// With several instances, -url lists them: -url http://localhost:8081,http://localhost:8082.
//
// It exits 0 when every flow ended as its decision should, 1 when any did
// not (or the run could not start, or was interrupted), 2 for bad flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"example.com/storefront/internal/loadtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is main without the process: flags in, exit status out.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	opts, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "loadtest:", err)
		return 2
	}
	if _, err := loadtest.Run(ctx, opts, stdout); err != nil {
		fmt.Fprintln(stderr, "loadtest:", err)
		return 1
	}
	return 0
}

// parseFlags turns the command line into validated Options.
func parseFlags(args []string, stderr io.Writer) (loadtest.Options, error) {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: go run ./cmd/loadtest [flags]\n\nDrives mandate flows against a running storefront on its sandbox.\n\nflags:")
		fs.PrintDefaults()
	}
	var (
		opts      loadtest.Options
		providers string
		decisions string
	)
	fs.StringVar(&opts.URL, "url", "http://localhost:8080", "the storefront's root URL, or several instances' separated by commas (flows go to them in turn)")
	fs.IntVar(&opts.Flows, "flows", 100, "flows to run in all; 0 runs until -duration ends")
	fs.IntVar(&opts.Concurrency, "concurrency", 4, "flows at once, each with its own cookie jar")
	fs.DurationVar(&opts.Duration, "duration", 0, "stop starting flows after this long (e.g. 60s) and wait for those in flight; 0: no limit")
	fs.StringVar(&providers, "providers", "stripe=1,ppro=1", "provider mix, name=weight,…")
	fs.StringVar(&decisions, "decisions", "approve=8,decline=1,cancel=1", "decision mix, name=weight,… (approve, decline, cancel)")
	fs.Float64Var(&opts.PayNow, "pay-now", 0.5, "fraction of PPRO flows that also pay the first period now, 0 to 1")
	fs.BoolVar(&opts.AllowRemote, "allow-remote", false, "allow a -url whose host is not loopback (localhost, 127.0.0.0/8, ::1)")
	fs.Uint64Var(&opts.Seed, "seed", 1, "seed of the dealt mix, for reproducible runs")
	fs.DurationVar(&opts.RequestTimeout, "timeout", 30*time.Second, "limit for each HTTP request")
	fs.DurationVar(&opts.Progress, "progress", 10*time.Second, "print a progress line this often; 0: never")
	err := fs.Parse(args)
	if err != nil {
		return opts, err
	}
	if fs.NArg() > 0 {
		return opts, fmt.Errorf("unexpected argument %q (flags only)", fs.Arg(0))
	}
	if opts.Providers, err = loadtest.ParseMix(providers); err != nil {
		return opts, fmt.Errorf("-providers: %w", err)
	}
	if opts.Decisions, err = loadtest.ParseMix(decisions); err != nil {
		return opts, fmt.Errorf("-decisions: %w", err)
	}
	return opts, opts.Validate()
}

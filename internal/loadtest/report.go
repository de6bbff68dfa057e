package loadtest

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is a run's figures.
type Report struct {
	URL         string // as given: one root, or several separated by commas
	Concurrency int
	Seed        uint64

	// Started counts the flows dealt to a browser; each ends Completed
	// (the outcome matched), Failed (an error or an unexpected outcome) or
	// Interrupted (the context was canceled).
	Started, Completed, Failed, Interrupted int
	// Elapsed runs from the first flow's start to the last flow's end.
	Elapsed        time.Duration
	FlowsPerSecond float64 // completed flows per second of Elapsed

	Cases map[Case]CaseStats
	// Instances has the flows of each -url entry, in the order given.
	Instances []InstanceStats
	// Steps has one entry per step any flow took, in flow order; Flow is
	// the whole of each completed flow. Only steps that answered as the
	// flow wanted are timed.
	Steps []StepStats
	Flow  StepStats

	// Errors groups failed flows by kind (and by status for HTTP status
	// errors), in the order first seen.
	Errors []ErrorGroup

	// ConnsOpened and ConnsReused count the connections the requests got
	// from the shared transport.
	ConnsOpened, ConnsReused int64

	caseOrder []Case
}

// CaseStats counts the flows of one provider and decision.
type CaseStats struct {
	Started, Completed, Failed, Interrupted int
	PayNow                                  int // of Started, those that asked to pay now
}

// InstanceStats counts the flows dealt to one instance (-url entry).
type InstanceStats struct {
	URL                                     string
	Started, Completed, Failed, Interrupted int
	FlowsPerSecond                          float64 // completed flows per second of the run's Elapsed
}

// StepStats are one step's latencies, nearest-rank percentiles.
type StepStats struct {
	Name               string
	Count              int
	P50, P95, P99, Max time.Duration
}

// ErrorGroup is the failed flows of one kind.
type ErrorGroup struct {
	Kind    Kind
	Status  int // for KindHTTPStatus
	Count   int
	Example string // the first one, with its flow, step, request and what the page said
}

// Label is the group's name in the report, e.g. "http status 502".
func (g ErrorGroup) Label() string {
	if g.Status != 0 {
		return fmt.Sprintf("%s %d", g.Kind, g.Status)
	}
	return string(g.Kind)
}

// ErrorCount is how many flows failed, unexpected outcomes included.
func (r Report) ErrorCount() int {
	n := 0
	for _, g := range r.Errors {
		n += g.Count
	}
	return n
}

// Count is how many flows failed with kind.
func (r Report) Count(kind Kind) int {
	n := 0
	for _, g := range r.Errors {
		if g.Kind == kind {
			n += g.Count
		}
	}
	return n
}

// report turns the collector's samples into figures.
func (c *collector) report(opts Options, urls []string, elapsed time.Duration) Report {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := Report{
		URL:         opts.URL,
		Concurrency: opts.Concurrency,
		Seed:        opts.Seed,
		Started:     int(c.started.Load()),
		Completed:   int(c.completed.Load()),
		Failed:      int(c.failed.Load()),
		Interrupted: int(c.interrupted.Load()),
		Elapsed:     elapsed,
		Cases:       map[Case]CaseStats{},
		ConnsOpened: c.opened.Load(),
		ConnsReused: c.reused.Load(),
	}
	if elapsed > 0 {
		r.FlowsPerSecond = float64(r.Completed) / elapsed.Seconds()
	}
	for _, p := range opts.Providers.active() {
		for _, d := range opts.Decisions.active() {
			r.caseOrder = append(r.caseOrder, Case{p, d})
		}
	}
	for k, v := range c.cases {
		r.Cases[k] = *v
	}
	for i, s := range c.insts {
		s.URL = urls[i]
		if elapsed > 0 {
			s.FlowsPerSecond = float64(s.Completed) / elapsed.Seconds()
		}
		r.Instances = append(r.Instances, s)
	}
	for _, name := range stepNames() {
		if samples := c.steps[name]; len(samples) > 0 {
			r.Steps = append(r.Steps, stats(name, samples))
		}
	}
	r.Flow = stats("flow", c.flows)
	for _, k := range c.order {
		r.Errors = append(r.Errors, *c.groups[k])
	}
	return r
}

func stats(name string, samples []time.Duration) StepStats {
	s := StepStats{Name: name, Count: len(samples)}
	if len(samples) == 0 {
		return s
	}
	sorted := slices.Clone(samples)
	slices.Sort(sorted)
	rank := func(p float64) time.Duration {
		i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
		return sorted[max(i, 0)]
	}
	s.P50, s.P95, s.P99, s.Max = rank(50), rank(95), rank(99), sorted[len(sorted)-1]
	return s
}

// Print writes the report as a person reads it.
func (r Report) Print(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "\nflows: %d completed, %d failed, %d interrupted, of %d started in %s: %.1f flows/s\n",
		r.Completed, r.Failed, r.Interrupted, r.Started, r.Elapsed.Round(time.Millisecond), r.FlowsPerSecond)
	fmt.Fprintf(tw, "connections: %d opened, %d reused\n\n", r.ConnsOpened, r.ConnsReused)

	// Names are padded so that, in right-aligned columns, they still read
	// left-aligned.
	if len(r.Instances) > 1 {
		fmt.Fprintf(tw, "%-25s\tstarted\tcompleted\tfailed\tinterrupted\tflows/s\t\n", "instance")
		for _, s := range r.Instances {
			fmt.Fprintf(tw, "%-25s\t%d\t%d\t%d\t%d\t%.1f\t\n", s.URL, s.Started, s.Completed, s.Failed, s.Interrupted, s.FlowsPerSecond)
		}
		fmt.Fprintln(tw)
	}
	fmt.Fprintf(tw, "%-15s\tstarted\tcompleted\tfailed\tinterrupted\tpay now\t\n", "case")
	for _, c := range r.caseOrder {
		s := r.Cases[c]
		fmt.Fprintf(tw, "%-15s\t%d\t%d\t%d\t%d\t%d\t\n", c, s.Started, s.Completed, s.Failed, s.Interrupted, s.PayNow)
	}
	fmt.Fprintln(tw)
	fmt.Fprintf(tw, "%-15s\tcount\tp50\tp95\tp99\tmax\t\n", "step")
	for _, s := range append(slices.Clone(r.Steps), r.Flow) {
		fmt.Fprintf(tw, "%-15s\t%d\t%s\t%s\t%s\t%s\t\n", s.Name, s.Count, ms(s.P50), ms(s.P95), ms(s.P99), ms(s.Max))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if len(r.Errors) == 0 {
		_, err := fmt.Fprintln(w, "\nerrors: none")
		return err
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "\nerrors: %d flows failed\n", r.ErrorCount())
	for _, g := range r.Errors {
		fmt.Fprintf(&sb, "  %-20s %6d  e.g. %s\n", g.Label(), g.Count, g.Example)
	}
	_, err := io.WriteString(w, sb.String())
	return err
}

// ms writes a latency in milliseconds, to a tenth.
func ms(d time.Duration) string {
	return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
}

package loadtest

import (
	"errors"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"time"
)

// collector gathers a run's figures from every flow. A mutex is enough: a
// flow records a handful of samples per round trip of a millisecond or more.
type collector struct {
	mu     sync.Mutex
	steps  map[string][]time.Duration
	flows  []time.Duration
	cases  map[Case]*CaseStats
	groups map[groupKey]*ErrorGroup
	order  []groupKey      // first-seen order of groups
	insts  []InstanceStats // by -url entry; URL and rate are filled by report

	started, completed, failed, interrupted atomic.Int64
	opened, reused                          atomic.Int64
	tr                                      *httptrace.ClientTrace
}

type groupKey struct {
	kind   Kind
	status int
}

func newCollector(instances int) *collector {
	c := &collector{
		insts:  make([]InstanceStats, instances),
		steps:  map[string][]time.Duration{},
		cases:  map[Case]*CaseStats{},
		groups: map[groupKey]*ErrorGroup{},
	}
	// Counting new and reused connections shows whether the shared
	// transport keeps its connections (it should open about one per
	// concurrent flow, not one per request).
	c.tr = &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		if info.Reused {
			c.reused.Add(1)
		} else {
			c.opened.Add(1)
		}
	}}
	return c
}

func (c *collector) trace() *httptrace.ClientTrace { return c.tr }

func (c *collector) step(name string, d time.Duration) {
	c.mu.Lock()
	c.steps[name] = append(c.steps[name], d)
	c.mu.Unlock()
}

func (c *collector) caseStats(spec flowSpec) *CaseStats {
	s := c.cases[spec.Case]
	if s == nil {
		s = &CaseStats{}
		c.cases[spec.Case] = s
	}
	return s
}

func (c *collector) flowStarted(spec flowSpec) {
	c.started.Add(1)
	c.mu.Lock()
	s := c.caseStats(spec)
	s.Started++
	c.insts[spec.Instance].Started++
	if spec.PayNow {
		s.PayNow++
	}
	c.mu.Unlock()
}

func (c *collector) flowCompleted(spec flowSpec, d time.Duration) {
	c.completed.Add(1)
	c.mu.Lock()
	c.flows = append(c.flows, d)
	c.caseStats(spec).Completed++
	c.insts[spec.Instance].Completed++
	c.mu.Unlock()
}

// flowInterrupted counts a flow cut short by the run being stopped: not the
// storefront's fault, so not an error.
func (c *collector) flowInterrupted(spec flowSpec) {
	c.interrupted.Add(1)
	c.mu.Lock()
	c.caseStats(spec).Interrupted++
	c.insts[spec.Instance].Interrupted++
	c.mu.Unlock()
}

func (c *collector) flowFailed(spec flowSpec, err error) {
	c.failed.Add(1)
	var se *stepError
	if !errors.As(err, &se) {
		se = &stepError{Kind: KindTransport, Step: "flow", Err: err}
	}
	key := groupKey{kind: se.Kind}
	if se.Kind == KindHTTPStatus {
		key.status = se.Status
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.caseStats(spec).Failed++
	c.insts[spec.Instance].Failed++
	g := c.groups[key]
	if g == nil {
		g = &ErrorGroup{Kind: key.kind, Status: key.status, Example: (&flowError{spec: spec, err: se}).Error()}
		c.groups[key] = g
		c.order = append(c.order, key)
	}
	g.Count++
}

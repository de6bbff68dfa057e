package cputime

import "runtime/metrics"

// GoroutinesCreated is how many goroutines the process has started, and
// whether this Go counts them (runtime/metrics; older Go lacks it). Benchmarks
// report it per operation beside CPU time: each start costs a wake-up of
// an idle processor and a park, which a profile spreads thin over the
// scheduler.
func GoroutinesCreated() (uint64, bool) {
	s := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0, false
	}
	return s[0].Value.Uint64(), true
}

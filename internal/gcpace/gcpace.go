// Package gcpace sets how much the heap may grow between garbage
// collections in the storefront's processes.
//
// The storefront's live heap is small (3 MB after a collection while
// serving pages, the sandbox included) and each request allocates a few
// kilobytes (net/http's request and header maps, the log record). At Go's
// default GOGC=100 the heap's goal was 6 MB, and under load the collector
// ran some 40 times a second: 2.8 µs of its CPU for each GET /, and about
// a tenth of a scheduled payment's. At Percent the heap may grow to five
// times what is live before a collection (a 16 MB goal here), a
// collection costs what it did, and it runs a quarter as often.
package gcpace

import (
	"os"
	"runtime/debug"
)

// Percent is the GOGC the storefront runs with unless GOGC is set.
const Percent = 400

// Apply sets the collector's pace to Percent, unless the GOGC environment
// variable set one (the runtime has applied it: GOGC=100 restores Go's
// default, GOMEMLIMIT bounds the heap either way). It returns a function
// that restores the earlier pace, for a benchmark.
func Apply() (restore func()) {
	if _, set := os.LookupEnv("GOGC"); set {
		return func() {}
	}
	old := debug.SetGCPercent(Percent)
	return func() { debug.SetGCPercent(old) }
}

//go:build !unix

package worker_test

import "time"

// processCPU is not measured here; the benchmark then reports no CPU.
func processCPU() time.Duration { return 0 }

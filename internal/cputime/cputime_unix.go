//go:build unix

// Package cputime reads the CPU time this process has used, so that
// benchmarks can report CPU per operation beside wall time.
package cputime

import (
	"syscall"
	"time"
)

// Process is the user and system CPU time this process has used, or 0 when
// the system will not say.
func Process() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

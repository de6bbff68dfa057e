//go:build !linux

package cputime

import (
	"errors"
	"time"
)

// Of is not measured on this system (it reads Linux's /proc).
func Of(pid int) (time.Duration, error) {
	return 0, errors.New("the CPU time of another process is read on Linux only")
}

//go:build linux

package cputime

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTick is USER_HZ, the unit of /proc/<pid>/stat's times: 100 on every
// Linux architecture Go runs on (the kernel fixes it for userspace).
const clockTick = 10 * time.Millisecond

// Of is the user and system CPU time the process pid has used, read from
// /proc/<pid>/stat, in steps of 10 ms: a benchmark that runs another
// program (the app, the sandbox) reads its CPU apart from its own.
func Of(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read the CPU time of process %d: %w", pid, err)
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// count the fields after its closing one. utime and stime are fields
	// 14 and 15, so the 12th and 13th after it.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("process %d: short /proc stat %q", pid, s)
	}
	var ticks int64
	for _, v := range f[11:13] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("process %d: CPU time %q: %w", pid, v, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * clockTick, nil
}

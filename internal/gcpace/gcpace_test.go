package gcpace

import (
	"os"
	"runtime/debug"
	"testing"
)

func TestApplySetsPercentAndRestores(t *testing.T) {
	t.Setenv("GOGC", "") // registers GOGC's restoration
	unsetGOGC(t)
	before := debug.SetGCPercent(150)
	defer debug.SetGCPercent(before)
	restore := Apply()
	if got := debug.SetGCPercent(Percent); got != Percent {
		t.Errorf("after Apply the GC percent is %d, want %d", got, Percent)
	}
	restore()
	if got := debug.SetGCPercent(before); got != 150 {
		t.Errorf("after restore the GC percent is %d, want the earlier 150", got)
	}
}

func TestApplyLeavesAnExplicitGOGC(t *testing.T) {
	t.Setenv("GOGC", "100")
	before := debug.SetGCPercent(120)
	defer debug.SetGCPercent(before)
	Apply()()
	if got := debug.SetGCPercent(before); got != 120 {
		t.Errorf("with GOGC set, Apply changed the GC percent to %d", got)
	}
}

// unsetGOGC removes GOGC for the test (t.Setenv has registered its
// restoration).
func unsetGOGC(t *testing.T) {
	t.Helper()
	if err := os.Unsetenv("GOGC"); err != nil {
		t.Fatal(err)
	}
}

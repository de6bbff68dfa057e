package main

import (
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The binary's log lines wait briefly and go out together (logbuffer),
// yet none is lost or reordered: lines logged while it runs appear
// without a stop, and a graceful stop writes the rest before it exits.
func TestLogLinesGoOutInOrderAndAllAtAStop(t *testing.T) {
	t.Parallel()
	app := startProcess(t, storefrontBinary(t), billingEnv(t.TempDir()))
	get := func(path string) {
		t.Helper()
		resp, err := http.Get(app.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	// Written while the process runs, without a stop or a warning.
	get("/log-line-running")
	waitFor(t, "the request's log line while the process runs", func() bool {
		return strings.Contains(app.Logs(), "path=/log-line-running ")
	})

	const n = 200
	for i := range n {
		get(fmt.Sprintf("/log-line-%03d", i))
	}
	if err := app.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-app.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the storefront did not stop within 30 s of SIGTERM")
	}
	if code := app.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit code %d after SIGTERM", code)
	}
	logs := app.Logs()
	at := 0
	for i := range n {
		j := strings.Index(logs[at:], fmt.Sprintf("path=/log-line-%03d ", i))
		if j < 0 {
			t.Fatalf("request %d's line is missing or out of order:\n%s", i, logs)
		}
		at += j
	}
	if !strings.Contains(logs[at:], "shutting down") {
		t.Errorf("no shutdown line after the requests':\n%s", logs[at:])
	}
}

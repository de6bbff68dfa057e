package pgtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// envChild makes this test binary a child of
// TestNoServerOutlivesItsTestBinary: "exit" or "hang".
const envChild = "PGTEST_CHILD"

const childURLPrefix = "pgtest-child-url: "

// TestChild is the test binary whose server must not outlive it.
func TestChild(t *testing.T) {
	mode := os.Getenv(envChild)
	if mode == "" {
		t.Skip("run by TestNoServerOutlivesItsTestBinary")
	}
	fmt.Println(childURLPrefix + URL(t))
	if mode == "hang" {
		time.Sleep(time.Minute) // until killed
	}
}

func TestNoServerOutlivesItsTestBinary(t *testing.T) {
	requireBinaries(t, systemFinder())
	for _, mode := range []string{"exit", "hang"} {
		t.Run(mode, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestChild$", "-test.v")
			cmd.Env = append(os.Environ(), envChild+"="+mode, EnvURL+"=")
			cmd.Stderr = os.Stderr
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				cmd.Process.Kill()
				cmd.Wait()
			})
			var dbURL string
			var lines []string
			for sc := bufio.NewScanner(out); dbURL == "" && sc.Scan(); {
				lines = append(lines, sc.Text())
				if after, ok := strings.CutPrefix(sc.Text(), childURLPrefix); ok {
					dbURL = after
				}
			}
			if dbURL == "" {
				t.Fatalf("the child printed no URL:\n%s", strings.Join(lines, "\n"))
			}
			u, err := url.Parse(dbURL)
			if err != nil {
				t.Fatal(err)
			}
			dir := u.Query().Get("host")
			pid, err := postmasterPID(dir)
			if err != nil {
				t.Fatal(err)
			}

			if mode == "hang" {
				cmd.Process.Kill() // SIGKILL: no cleanup runs
			}
			go func() { _, _ = bufio.NewReader(out).WriteTo(os.Stdout) }()
			cmd.Wait()

			deadline := time.Now().Add(30 * time.Second)
			for running(pid) {
				if time.Now().After(deadline) {
					t.Fatalf("postmaster %d still runs after its test binary ended (%s)", pid, mode)
				}
				time.Sleep(50 * time.Millisecond)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if conn, err := pgconn.Connect(ctx, dbURL); err == nil {
				conn.Close(ctx)
				t.Fatalf("%s still answers after its test binary ended", dbURL)
			}
			if mode == "hang" {
				// Killed, the binary left its folder: the next one sweeps it.
				if _, err := os.Stat(dir); err != nil {
					t.Fatalf("the killed binary's folder: %v", err)
				}
				sweep(filepath.Dir(dir))
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the server's folder %s is still there (%v)", dir, err)
				os.RemoveAll(dir)
			}
		})
	}
}

// postmasterPID reads the process id in the server's lock file.
func postmasterPID(dir string) (int, error) {
	b, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid"))
	if err != nil {
		return 0, err
	}
	first, _, _ := strings.Cut(string(b), "\n")
	return strconv.Atoi(strings.TrimSpace(first))
}

// running reports whether process pid exists and is not a zombie (an
// orphan's zombie waits for init to reap it).
func running(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(rest, "Z") && !strings.HasPrefix(rest, "X")
}

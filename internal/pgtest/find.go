package pgtest

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// errNoBinaries is why a test skips (or, in CI, fails): the one error a
// developer fixes by installing something.
var errNoBinaries = errors.New("PostgreSQL server binaries (initdb, postgres) not found on PATH, " +
	"under `pg_config --bindir` or /usr/lib/postgresql/*/bin: install them " +
	"(Debian: apt-get install postgresql) or set " + EnvURL)

// finder looks for the folder holding both initdb and postgres. Its fields
// are the seam tests use to search a machine without them.
type finder struct {
	path  string   // a PATH list of folders, searched first, and for pg_config
	globs []string // then these, each match newest version first
}

// systemFinder searches the process's PATH, then where Debian, Ubuntu and
// the PGDG packages for Red Hat put each installed major version (only one
// of them is on the PATH, if any).
func systemFinder() finder {
	return finder{
		path:  os.Getenv("PATH"),
		globs: []string{"/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin"},
	}
}

// find returns the folder of initdb and postgres, or errNoBinaries.
func (f finder) find() (string, error) {
	dirs := filepath.SplitList(f.path)
	for _, dir := range dirs {
		if dir != "" && hasServer(dir) {
			return dir, nil
		}
	}
	if pgConfig := lookIn(dirs, "pg_config"); pgConfig != "" {
		// pg_config comes with the client libraries too: its bindir may
		// lack the server.
		if out, err := exec.Command(pgConfig, "--bindir").Output(); err == nil {
			if dir := strings.TrimSpace(string(out)); hasServer(dir) {
				return dir, nil
			}
		}
	}
	for _, glob := range f.globs {
		matches, _ := filepath.Glob(glob)
		slices.SortFunc(matches, func(a, b string) int { return versionOf(b) - versionOf(a) })
		for _, dir := range matches {
			if hasServer(dir) {
				return dir, nil
			}
		}
	}
	return "", errNoBinaries
}

func hasServer(dir string) bool {
	return lookIn([]string{dir}, "initdb") != "" && lookIn([]string{dir}, "postgres") != ""
}

// lookIn is exec.LookPath over the given folders rather than $PATH.
func lookIn(dirs []string, name string) string {
	for _, dir := range dirs {
		if dir == "" {
			continue
		}
		file := filepath.Join(dir, name)
		if fi, err := os.Stat(file); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return file
		}
	}
	return ""
}

// versionOf reads the version out of a folder such as
// /usr/lib/postgresql/15/bin or /usr/pgsql-15/bin (its last number), so
// that 15 sorts above 9; 0 when there is none.
func versionOf(dir string) int {
	v := 0
	for part := range strings.FieldsFuncSeq(dir, func(r rune) bool { return r < '0' || r > '9' }) {
		if n, err := strconv.Atoi(part); err == nil {
			v = n
		}
	}
	return v
}

// requireBinaries returns the server's folder, or skips the test saying
// what to install; when CI=true it fails instead, since in CI every test
// must run.
func requireBinaries(tb testing.TB, f finder) string {
	tb.Helper()
	dir, err := f.find()
	if err != nil {
		unavailable(tb, err)
	}
	return dir
}

func unavailable(tb testing.TB, err error) {
	tb.Helper()
	if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
		tb.Fatalf("pgtest: %v; CI is set, so this test must not be skipped", err)
	}
	tb.Skipf("pgtest: %v", err)
}

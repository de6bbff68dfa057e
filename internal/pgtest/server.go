//go:build unix

package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// port only names the socket file (.s.PGSQL.5432): the server listens on
// no TCP address, and each server has its own socket folder.
const port = 5432

// Server is a throwaway PostgreSQL server: a fresh folder (see
// baseFolder) holding its data, its log and the Unix socket it listens on,
// its only address.
type Server struct {
	bin  string              // folder of initdb and postgres
	dir  string              // the server's folder: data/, the socket, server.log
	cred *syscall.Credential // whom the server runs as; nil: this process's user

	mu   sync.Mutex
	proc *postmaster // nil while stopped
}

type postmaster struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed once cmd.Wait returned
}

// Start starts a PostgreSQL server for this test alone, and stops it and
// removes its folder when the test ends. Use it for tests that stop,
// restart or crash the server; URL is cheaper for everything else.
// Without the server binaries the test is skipped, or fails when CI=true.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := requireBinaries(t, systemFinder())
	s, err := newServer(bin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.remove(); err != nil {
			t.Error(err)
		}
	})
	if err := s.createDatabase(context.Background(), "test"); err != nil {
		t.Fatal(err)
	}
	return s
}

// URL is the URL of the database "test" on this server, empty at first.
// It names the socket's folder, so it stays valid across Stop and Start.
func (s *Server) URL() string { return s.urlOf("test") }

// urlOf is the URL of database db on this server, in a form that pgx,
// psql and every libpq-based client read: the host is a folder, hence a
// Unix socket.
func (s *Server) urlOf(db string) string {
	// The folder's slashes left as they are (a query may hold them), so
	// that the URL reads as what it is.
	host := strings.ReplaceAll(url.QueryEscape(s.dir), "%2F", "/")
	u := url.URL{Scheme: "postgres", User: url.User("postgres"), Path: "/" + db,
		RawQuery: fmt.Sprintf("host=%s&port=%d&sslmode=disable", host, port)}
	return u.String()
}

// newServer initialises a data folder with initdb and starts the server.
func newServer(bin string) (*Server, error) {
	cred, err := serverCredential()
	if err != nil {
		return nil, err
	}
	dir, err := makeFolder(cred)
	if err != nil {
		return nil, err
	}
	s := &Server{bin: bin, dir: dir, cred: cred}
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", s.dataDir(),
		"-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync")
	initdb.Dir = dir
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgtest: initdb in %s: %w\n%s", dir, err, out)
	}
	if err := s.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

func (s *Server) dataDir() string { return filepath.Join(s.dir, "data") }
func (s *Server) logFile() string { return filepath.Join(s.dir, "server.log") }

// Start starts the stopped (or killed) server on its data folder and
// socket, and returns once it accepts connections; after Kill, that
// includes crash recovery.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		return errors.New("pgtest: Start: the server is running")
	}
	// After Kill, the killed backends may still hold the shared memory for
	// a moment, and the new postmaster refuses to start beside them: retry.
	deadline := time.Now().Add(10 * time.Second)
	for {
		p, err := s.startOnce()
		if err == nil {
			s.proc = p
			return nil
		}
		if !errors.Is(err, errStillAttached) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var errStillAttached = errors.New("the previous server's processes are still attached")

func (s *Server) startOnce() (*postmaster, error) {
	logf, err := os.OpenFile(s.logFile(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("pgtest: server log: %w", err)
	}
	defer logf.Close()
	logStart, _ := logf.Seek(0, 2)
	cmd := exec.Command(filepath.Join(s.bin, "postgres"), "-D", s.dataDir(), "-k", s.dir, "-p", strconv.Itoa(port),
		"-c", "listen_addresses=",
		// A test's data need not survive an OS crash: nothing is flushed
		// to disk. A server crash (Kill) leaves the OS and its page cache
		// running, so every commit survives it. (Not synchronous_commit=off:
		// that loses the last commits in a crash, which tests of "nothing
		// is lost" would rightly report.)
		"-c", "fsync=off", "-c", "full_page_writes=off",
		// Several instances, each with a pool, share one server.
		"-c", "max_connections=300",
		// Bounds the write-ahead log, which may be in memory (baseFolder).
		"-c", "max_wal_size=256MB",
		// Dynamic shared memory in files of the data folder, not in
		// /dev/shm, where a killed server would leave them behind.
		"-c", "dynamic_shared_memory_type=mmap")
	cmd.Dir = s.dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = procAttr(s.cred)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("pgtest: start postgres: %w", err)
	}
	p := &postmaster{cmd: cmd, exited: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(p.exited)
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		conn, err := pgconn.Connect(ctx, s.urlOf("postgres"))
		if err == nil {
			conn.Close(ctx)
			return p, nil
		}
		select {
		case <-p.exited:
			log := s.logSince(logStart)
			if strings.Contains(log, "pre-existing shared memory block") {
				return nil, errStillAttached
			}
			return nil, fmt.Errorf("pgtest: postgres exited at start-up (%v); its log:\n%s", cmd.ProcessState, log)
		case <-ctx.Done():
			p.kill()
			return nil, fmt.Errorf("pgtest: postgres does not accept connections after a minute: %w; its log:\n%s",
				err, s.logSince(logStart))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (s *Server) logSince(offset int64) string {
	b, err := os.ReadFile(s.logFile())
	if err != nil {
		return err.Error()
	}
	if offset > int64(len(b)) {
		offset = 0
	}
	return string(b[offset:])
}

// Stop shuts the server down the way an operator would (a fast shutdown:
// open connections are closed, committed data is kept), and returns once
// it has exited.
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return nil
	}
	p := s.proc
	s.proc = nil
	p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.exited:
		return nil
	case <-time.After(30 * time.Second):
		p.kill()
		return errors.New("pgtest: postgres did not shut down within 30 s: killed it")
	}
}

// Restart stops the server and starts it again: clients lose their
// connections, and the same URL works again once it returns.
func (s *Server) Restart() error {
	if err := s.Stop(); err != nil {
		return err
	}
	return s.Start()
}

// Kill ends the server as a crash would: SIGKILL to the postmaster and
// every backend, with no shutdown checkpoint. Start then recovers from
// the write-ahead log.
func (s *Server) Kill() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return errors.New("pgtest: Kill: the server is not running")
	}
	s.proc.kill()
	s.proc = nil
	return nil
}

// kill sends SIGKILL to the postmaster's process group (it and its
// backends: the postmaster is started as a group leader) and waits for
// the postmaster.
func (p *postmaster) kill() {
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.exited
}

// remove stops the server and removes its folder.
func (s *Server) remove() error {
	err := s.Stop()
	if rmErr := os.RemoveAll(s.dir); rmErr != nil {
		err = errors.Join(err, fmt.Errorf("pgtest: remove the server's folder: %w", rmErr))
	}
	return err
}

func (s *Server) createDatabase(ctx context.Context, name string) error {
	conn, err := pgconn.Connect(ctx, s.urlOf("postgres"))
	if err != nil {
		return fmt.Errorf("pgtest: connect: %w", err)
	}
	defer conn.Close(ctx)
	if err := conn.Exec(ctx, "CREATE DATABASE "+quoteIdent(name)).Close(); err != nil {
		return fmt.Errorf("pgtest: create database %s: %w", name, err)
	}
	return nil
}

// serverCredential is whom the server runs as: PostgreSQL refuses to run
// as root (CI runs as root), so then as the postgres account the packages
// create, or nobody.
func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
	}
	return nil, errors.New("pgtest: running as root, which PostgreSQL refuses, and there is no user postgres or nobody to run it as")
}

// folderPrefix names every server's folder, so that sweep finds those an
// earlier test binary left behind.
const folderPrefix = "pgtest-"

// makeFolder makes a fresh folder for one server, owned by whom the server
// runs as, under baseFolder.
func makeFolder(cred *syscall.Credential) (string, error) {
	base := baseFolder(cred)
	sweep(base)
	dir, err := os.MkdirTemp(base, folderPrefix)
	if err != nil {
		return "", fmt.Errorf("pgtest: %w", err)
	}
	err = os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644)
	if err == nil {
		err = os.Chmod(dir, 0o755)
	}
	if err == nil && cred != nil {
		err = os.Chown(dir, int(cred.Uid), int(cred.Gid))
	}
	if err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("pgtest: server folder: %w", err)
	}
	return dir, nil
}

// baseFolder is where servers' folders go: in memory (/dev/shm) when it
// has room, since a server on disk spends most of its time creating and
// opening files (a CREATE DATABASE took 220 ms on this project's ext4
// disk, 15 ms in /dev/shm); otherwise os.TempDir. Either path is short (a
// socket's path is limited to about 100 bytes) and, under root,
// traversable by the server's user; /tmp when os.TempDir is not.
func baseFolder(cred *syscall.Credential) string {
	const shm, room = "/dev/shm", 2 << 30
	var fs syscall.Statfs_t
	if syscall.Statfs(shm, &fs) == nil && uint64(fs.Bavail)*uint64(fs.Bsize) >= room && traversable(shm) &&
		syscall.Access(shm, 2 /* W_OK */) == nil {
		return shm
	}
	base := os.TempDir()
	if len(base) > 60 || (cred != nil && !traversable(base)) {
		return "/tmp"
	}
	return base
}

// traversable reports whether everyone may pass through dir and each of
// its parents.
func traversable(dir string) bool {
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return false
		}
		if d == filepath.Dir(d) {
			return true
		}
	}
}

// ownerFile holds the process id of the test binary that made the folder.
const ownerFile = "owner.pid"

// sweep removes the folders of servers whose test binary is gone (killed
// before its cleanup ran). A postmaster still running there notices
// within a minute that its lock file is gone and shuts itself down.
func sweep(base string) {
	dirs, _ := filepath.Glob(filepath.Join(base, folderPrefix+"*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue // not ours, or being made
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 || syscall.Kill(pid, 0) != syscall.ESRCH {
			continue
		}
		os.RemoveAll(dir)
	}
}

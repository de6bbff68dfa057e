//go:build unix

package pgtest

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestServerKeepsDataAcrossRestart(t *testing.T) {
	srv := Start(t)
	url := srv.URL()
	conn := connect(t, url)
	mustExec(t, conn, `CREATE TABLE payments (id int PRIMARY KEY)`)
	mustExec(t, conn, `INSERT INTO payments VALUES (1), (2)`)

	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(context.Background(), `SELECT 1`); err == nil {
		t.Error("a connection from before the restart still works")
	}
	if srv.URL() != url {
		t.Errorf("URL changed across Restart: %s, then %s", url, srv.URL())
	}
	if n := count(t, connect(t, url), `SELECT count(*) FROM payments`); n != 2 {
		t.Errorf("after a restart, %d payments, want 2", n)
	}
}

func TestServerRecoversFromKill(t *testing.T) {
	srv := Start(t)
	conn := connect(t, srv.URL())
	mustExec(t, conn, `CREATE TABLE payments (id int PRIMARY KEY)`)
	mustExec(t, conn, `INSERT INTO payments SELECT generate_series(1, 1000)`)
	// Uncommitted when the server dies: must not survive.
	tx, err := conn.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(context.Background(), `INSERT INTO payments VALUES (1001)`); err != nil {
		t.Fatal(err)
	}

	if err := srv.Kill(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if c, err := pgx.Connect(ctx, srv.URL()); err == nil {
		c.Close(ctx)
		t.Fatal("the killed server still accepts connections")
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	if n := count(t, connect(t, srv.URL()), `SELECT count(*) FROM payments`); n != 1000 {
		t.Errorf("after a crash, %d payments, want the 1000 committed", n)
	}
	log, err := os.ReadFile(srv.logFile())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "not properly shut down") {
		t.Errorf("the server's log does not show crash recovery:\n%s", log)
	}
}

func TestStopLeavesNoProcess(t *testing.T) {
	srv := Start(t)
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if c, err := pgx.Connect(ctx, srv.URL()); err == nil {
		c.Close(ctx)
		t.Fatal("the stopped server still accepts connections")
	}
	if _, err := os.Stat(filepath.Join(srv.dataDir(), "postmaster.pid")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("postmaster.pid after Stop: %v, want none (a clean shutdown removes it)", err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
}

func TestURLOnTheServerAtPGTestURL(t *testing.T) {
	srv := Start(t)
	t.Setenv(EnvURL, srv.URL())
	c := &cluster{}
	t.Cleanup(func() {
		if err := c.close(); err != nil {
			t.Error(err)
		}
	})
	admin := connect(t, srv.urlOf("postgres"))
	var name string
	t.Run("database", func(t *testing.T) {
		u, err := url.Parse(c.url(t))
		if err != nil {
			t.Fatal(err)
		}
		if c.srv != nil {
			t.Errorf("started a server of its own with %s set", EnvURL)
		}
		name = strings.TrimPrefix(u.Path, "/")
		mustExec(t, connect(t, u.String()), `CREATE TABLE mandates (id text)`)
		if n := count(t, admin, `SELECT count(*) FROM pg_database WHERE datname = $1`, name); n != 1 {
			t.Errorf("database %s is not on the server at %s", name, EnvURL)
		}
	})
	if n := count(t, admin, `SELECT count(*) FROM pg_database WHERE datname = $1`, name); n != 0 {
		t.Errorf("database %s outlived its test", name)
	}
}

package walpages_test

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"example.com/storefront/internal/walpages"
)

func openWAL(t *testing.T) (*sql.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "t.db")
	db, err := sql.Open("sqlite", path+"?_pragma=journal_mode(WAL)&_pragma=wal_autocheckpoint(0)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1)
	for _, q := range []string{
		`CREATE TABLE rows (id INTEGER PRIMARY KEY, name TEXT NOT NULL)`,
		`CREATE INDEX rows_name ON rows (name)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	return db, path
}

// window counts what fn writes.
func window(t *testing.T, c *walpages.Counter, fn func()) {
	t.Helper()
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	fn()
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
}

func insert(t *testing.T, db *sql.DB, n int) {
	t.Helper()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := tx.Exec(`INSERT INTO rows (name) VALUES (?)`, strings.Repeat("x", 200)+string(rune('a'+i%26))); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// The pages written between Start and Stop, and only those, are counted,
// by the table or index they belong to.
func TestCountsThePagesOfTheWindowByOwner(t *testing.T) {
	db, path := openWAL(t)
	insert(t, db, 50) // before the window: not counted
	c, err := walpages.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	window(t, c, func() { insert(t, db, 1) })
	by, err := c.ByOwner()
	if err != nil {
		t.Fatal(err)
	}
	// One row: the table's last page and the index's, and the database
	// header (page 1, which sqlite_schema holds) if the file grew.
	if by["rows"] != 1 || by["rows_name"] != 1 || c.Total() > 3 {
		t.Errorf("one row inserted: %v (total %d), want a page of rows and of rows_name", by, c.Total())
	}
	// Windows add up.
	window(t, c, func() { insert(t, db, 100) })
	if by2, _ := c.ByOwner(); by2["rows"] <= by["rows"]+5 {
		t.Errorf("after 100 rows more (20 KB): %v", by2)
	}
	report, err := c.Report(2)
	if err != nil || !strings.Contains(report, " rows\n") || !strings.Contains(report, " rows_name\n") {
		t.Errorf("Report: %q, %v", report, err)
	}
}

// A checkpoint inside the window starts the WAL over, and the count would
// miss what it moved: Stop says so rather than report too few.
func TestStopFailsWhenTheWALStartedOver(t *testing.T) {
	db, path := openWAL(t)
	c, err := walpages.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	insert(t, db, 100)
	if _, err := db.Exec(`PRAGMA wal_checkpoint(RESTART)`); err != nil {
		t.Fatal(err)
	}
	insert(t, db, 1) // written from the WAL's start, with new salts
	if err := c.Stop(); err == nil {
		t.Error("Stop counted a WAL that started over")
	}
}

// Each transaction that wrote is one commit, however many pages it wrote,
// and so is a write outside a transaction; a read commits nothing.
func TestCountsCommits(t *testing.T) {
	db, path := openWAL(t)
	c, err := walpages.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	window(t, c, func() {
		insert(t, db, 100) // one transaction of many pages
		insert(t, db, 1)
		if _, err := db.Exec(`UPDATE rows SET name = 'y' WHERE id = 1`); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM rows`).Scan(&n); err != nil {
			t.Fatal(err)
		}
	})
	if c.Commits() != 3 || c.Total() <= 3 {
		t.Errorf("three writing transactions: %d commits of %d pages", c.Commits(), c.Total())
	}
}

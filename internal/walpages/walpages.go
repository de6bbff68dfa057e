// Package walpages counts the pages that commits append to a SQLite
// database's write-ahead log, by the table or index each page belongs to.
//
// Each page a commit writes costs two system calls and, at the next
// checkpoint, a copy into the database file; unlike CPU time on a shared
// machine, the count does not move with the host's load, so a benchmark
// that reports it shows what a change to a schema or a transaction saved.
package walpages

import (
	"cmp"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the database's own connection
)

// Counter counts the pages written to one database's WAL between Start
// and Stop, and the commits that wrote them, added up over any number of
// such windows.
type Counter struct {
	db      *sql.DB
	wal     string
	pages   map[uint32]int // page number → times written
	commits int
}

// Open counts for the SQLite database at path, through a connection of
// its own.
func Open(path string) (*Counter, error) {
	db, err := sql.Open("sqlite", path)
	if err != nil {
		return nil, fmt.Errorf("walpages: open %s: %w", path, err)
	}
	return &Counter{db: db, wal: path + "-wal", pages: map[uint32]int{}}, nil
}

// Close closes the counter's connection.
func (c *Counter) Close() error { return c.db.Close() }

// Start empties the WAL (a TRUNCATE checkpoint), so that what Stop reads
// is what was written in between. A reader or writer that holds the
// database makes it wait, up to a few seconds.
func (c *Counter) Start() error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		var busy, logged, done int
		if err := c.db.QueryRow(`PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logged, &done); err != nil {
			return fmt.Errorf("walpages: checkpoint: %w", err)
		}
		if busy == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("walpages: the database stayed busy; the WAL could not be emptied")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Stop adds the frames now in the WAL to the count. The window must end
// before SQLite checkpoints on its own (wal_autocheckpoint pages: 1,000 by
// default), which starts the WAL over: Stop notices and fails.
//
// A WAL is a 32-byte header and frames of a 24-byte header (the page
// number, the database's size in pages after the commit in a commit's
// last frame and 0 in any other, then the header's two salts) and one
// page (https://sqlite.org/fileformat2.html#walformat).
func (c *Counter) Stop() error {
	wal, err := os.ReadFile(c.wal)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("walpages: %w", err)
	}
	if len(wal) < 32 {
		return nil // nothing written
	}
	size := int(binary.BigEndian.Uint32(wal[8:12]))
	salts := wal[16:24]
	for off := 32; off+24+size <= len(wal); off += 24 + size {
		if string(wal[off+8:off+16]) != string(salts) {
			return errors.New("walpages: the WAL started over while counting (a checkpoint): count fewer writes at a time")
		}
		c.pages[binary.BigEndian.Uint32(wal[off:off+4])]++
		if binary.BigEndian.Uint32(wal[off+4:off+8]) != 0 {
			c.commits++
		}
	}
	return nil
}

// Commits is the number of transactions that wrote in the windows
// counted: a statement outside a transaction that wrote counts too, as it
// commits on its own.
func (c *Counter) Commits() int { return c.commits }

// Total is the number of pages written in the windows counted.
func (c *Counter) Total() int {
	n := 0
	for _, k := range c.pages {
		n += k
	}
	return n
}

// ByOwner is the pages written by the table or index they belong to, as
// SQLite's dbstat table names them; pages that belong to none (freed
// since) count under "(free)".
func (c *Counter) ByOwner() (map[string]int, error) {
	rows, err := c.db.Query(`SELECT name, pageno FROM dbstat`)
	if err != nil {
		return nil, fmt.Errorf("walpages: dbstat: %w", err)
	}
	defer rows.Close()
	owners := map[uint32]string{}
	for rows.Next() {
		var name string
		var page uint32
		if err := rows.Scan(&name, &page); err != nil {
			return nil, fmt.Errorf("walpages: dbstat: %w", err)
		}
		owners[page] = name
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("walpages: dbstat: %w", err)
	}
	by := map[string]int{}
	for page, n := range c.pages {
		owner, ok := owners[page]
		if !ok {
			owner = "(free)"
		}
		by[owner] += n
	}
	return by, nil
}

// Report is ByOwner per operation, for ops operations, a line each, most
// written first.
func (c *Counter) Report(ops int) (string, error) {
	by, err := c.ByOwner()
	if err != nil {
		return "", err
	}
	owners := slices.SortedFunc(maps.Keys(by), func(x, y string) int {
		return cmp.Or(by[y]-by[x], strings.Compare(x, y))
	})
	var b strings.Builder
	for _, o := range owners {
		fmt.Fprintf(&b, "%8.2f %s\n", float64(by[o])/float64(max(ops, 1)), o)
	}
	return b.String(), nil
}

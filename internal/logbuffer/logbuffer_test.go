package logbuffer_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"example.com/storefront/internal/logbuffer"
)

// out is a destination that counts the writes it gets.
type out struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
}

func (o *out) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.writes++
	return o.buf.Write(p)
}

func (o *out) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

func (o *out) Writes() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.writes
}

// Lines are held, then written out together, in order, by the timer.
func TestLinesGoOutTogetherWithinTheInterval(t *testing.T) {
	o := &out{}
	w := logbuffer.New(o, 50*time.Millisecond)
	defer w.Close()
	for i := range 10 {
		fmt.Fprintf(w, "line %d\n", i)
	}
	if got := o.String(); got != "" {
		t.Fatalf("written at once, not held: %q", got)
	}
	deadline := time.Now().Add(5 * time.Second)
	for o.String() == "" && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	want := ""
	for i := range 10 {
		want += fmt.Sprintf("line %d\n", i)
	}
	if got := o.String(); got != want {
		t.Fatalf("written %q, want %q", got, want)
	}
	if n := o.Writes(); n != 1 {
		t.Errorf("%d writes for ten lines, want 1", n)
	}
	// Held again after a write: the timer is armed by the next line.
	fmt.Fprintln(w, "later")
	for !strings.HasSuffix(o.String(), "later\n") && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if !strings.HasSuffix(o.String(), "later\n") {
		t.Fatalf("a line written after the first batch never went out: %q", o.String())
	}
}

// Close writes what is held; a line after Close goes straight through.
func TestCloseWritesWhatIsHeld(t *testing.T) {
	o := &out{}
	w := logbuffer.New(o, time.Hour)
	fmt.Fprintln(w, "one")
	fmt.Fprintln(w, "two")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := o.String(); got != "one\ntwo\n" {
		t.Fatalf("after Close: %q", got)
	}
	fmt.Fprintln(w, "three")
	if got := o.String(); got != "one\ntwo\nthree\n" {
		t.Fatalf("a line after Close: %q", got)
	}
}

// A burst is written in pieces of bounded size, before the interval, and
// lines written at once by many goroutines come out whole, each
// goroutine's in its order.
func TestBurstsAreBoundedAndLinesStayWhole(t *testing.T) {
	o := &out{}
	w := logbuffer.New(o, time.Hour)
	const writers, lines = 8, 2000
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range lines {
				fmt.Fprintf(w, "writer=%d line=%d %s\n", g, i, strings.Repeat("x", 20))
			}
		})
	}
	wg.Wait()
	before := o.Writes()
	if before == 0 {
		t.Fatal("a burst of 16,000 lines was held whole: the buffer is unbounded")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	next := make([]int, writers)
	count := 0
	for line := range strings.Lines(o.String()) {
		var g, i int
		var pad string
		if _, err := fmt.Sscanf(line, "writer=%d line=%d %s\n", &g, &i, &pad); err != nil || len(pad) != 20 {
			t.Fatalf("a torn line: %q", line)
		}
		if i != next[g] {
			t.Fatalf("writer %d: line %d after line %d", g, i, next[g]-1)
		}
		next[g]++
		count++
	}
	if count != writers*lines {
		t.Fatalf("%d lines written, want %d", count, writers*lines)
	}
	t.Logf("%d lines in %d writes", count, o.Writes())
}

// A warning writes out the lines held before it, and itself, at once.
func TestWarningsGoOutAtOnce(t *testing.T) {
	o := &out{}
	w := logbuffer.New(o, time.Hour)
	defer w.Close()
	log := slog.New(logbuffer.FlushOn(slog.NewTextHandler(w, nil), w, slog.LevelWarn)).With("component", "test")
	log.Info("first")
	if got := o.String(); got != "" {
		t.Fatalf("an informational line went out at once: %q", got)
	}
	log.Warn("something went wrong")
	got := o.String()
	first, warning := strings.Index(got, `msg=first`), strings.Index(got, `msg="something went wrong" component=test`)
	if first < 0 || warning < first {
		t.Fatalf("after a warning the log holds %q", got)
	}
}

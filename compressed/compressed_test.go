package compressed_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"example.com/storefront/compressed"
)

func TestAcceptsGzip(t *testing.T) {
	for _, tc := range []struct {
		header []string
		want   bool
	}{
		{nil, false},
		{[]string{""}, false},
		{[]string{"gzip"}, true},
		{[]string{"GZIP"}, true},
		{[]string{"x-gzip"}, true},
		{[]string{"gzip, deflate, br, zstd"}, true},
		{[]string{"br", "gzip;q=0.5"}, true}, // two field lines are one list
		{[]string{"gzip;q=0"}, false},
		{[]string{"gzip; q=0.000"}, false},
		{[]string{"br;q=1.0, gzip;q=0.8, *;q=0.1"}, true},
		{[]string{"*"}, true},
		{[]string{"*;q=0"}, false},
		{[]string{"gzip;q=0, *"}, false}, // named, gzip's own q holds
		{[]string{"identity"}, false},
		{[]string{"br, zstd"}, false},
		{[]string{"gzip;q=bogus"}, false},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header["Accept-Encoding"] = tc.header
		if got := compressed.AcceptsGzip(r); got != tc.want {
			t.Errorf("Accept-Encoding %q: %v, want %v", tc.header, got, tc.want)
		}
	}
}

func TestBodyCompressesOnlyWhatPays(t *testing.T) {
	page := []byte(strings.Repeat("<p>The same words, again and again.</p>\n", 100))
	b := compressed.NewBody(page)
	if b.Gzip() == nil || len(b.Gzip()) >= len(page)/4 {
		t.Fatalf("a repetitive page of %d bytes compressed to %d", len(page), len(b.Gzip()))
	}
	zr, err := gzip.NewReader(bytes.NewReader(b.Gzip()))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(zr); !bytes.Equal(got, page) {
		t.Error("the compressed body is not the page")
	}
	if tiny := compressed.NewBody([]byte("ok\n")); tiny.Gzip() != nil {
		t.Error("a tiny body was compressed")
	}
	noise := make([]byte, 4096)
	for i := range noise {
		noise[i] = byte(i * 7919 % 251)
	}
	if compressed.NewBody(noise).Gzip() != nil && len(compressed.NewBody(noise).Gzip()) >= len(noise) {
		t.Error("a body that does not shrink was kept compressed")
	}
}

// A streamed response (a CSV export) keeps moving through the compressor:
// each flush reaches the client before the handler writes on, and the
// handler writes the next rows only once the client has read the last.
// Were a flush held back, the client would wait for ever, and so would
// this test.
func TestFlushesGoThrough(t *testing.T) {
	read := make(chan struct{})
	srv := httptest.NewServer(compressed.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		rc := http.NewResponseController(w)
		for chunk := range 3 {
			// More than MinSize, so that it is compressed.
			for i := range 100 {
				io.WriteString(w, strings.Repeat("x", 20)+","+string(rune('a'+chunk))+","+strings.Repeat("y", i%7)+"\n")
			}
			io.WriteString(w, "end of chunk\n")
			if err := rc.Flush(); err != nil {
				t.Errorf("flush: %v", err)
				return
			}
			select {
			case <-read:
			case <-r.Context().Done():
				return
			}
		}
	})))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL) // the transport asks for gzip and decodes
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if !resp.Uncompressed || !strings.Contains(resp.Header.Get("Vary"), "Accept-Encoding") {
		t.Fatalf("not compressed: %v", resp.Header)
	}
	lines := bufio.NewScanner(resp.Body)
	for chunk := range 3 {
		for lines.Scan() && lines.Text() != "end of chunk" {
		}
		if lines.Err() != nil {
			t.Fatalf("chunk %d: %v", chunk, lines.Err())
		}
		read <- struct{}{}
	}
}

// A response that carries its own Content-Encoding (a Body) goes out as it
// is: never compressed twice.
func TestNeverCompressesTwice(t *testing.T) {
	body := compressed.NewBody([]byte(strings.Repeat("<p>words</p>\n", 400)))
	srv := httptest.NewServer(compressed.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		b, _ := body.Negotiate(w, r)
		w.Write(b)
	})))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := (&http.Client{Transport: &http.Transport{DisableCompression: true}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.Header.Get("Content-Encoding") != "gzip" || !bytes.Equal(got, body.Gzip()) {
		t.Errorf("Content-Encoding %q, %d bytes, want the %d precompressed", resp.Header.Get("Content-Encoding"), len(got), len(body.Gzip()))
	}
	if v := resp.Header.Values("Vary"); len(v) != 1 {
		t.Errorf("Vary %q, want Accept-Encoding once", v)
	}
}

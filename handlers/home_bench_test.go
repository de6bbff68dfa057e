package handlers_test

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"example.com/storefront/internal/pagetest"
)

// BenchmarkHomeBare is BenchmarkHome's yardstick: a bare net/http handler
// that writes the bytes GET / answers (gzip-compressed for the client,
// which accepts gzip as browsers do), over the same kind of server and
// client. BenchmarkHome's CPU per request over this one's is what the
// app's routing, middleware and price check cost on top of writing bytes:
//
//	go test -run '^$' -bench '^BenchmarkHome(Bare)?$' -benchtime 2000x -count 3 ./handlers/
func BenchmarkHomeBare(b *testing.B) {
	e := newEnv(b, direct)
	raw := []byte(pagetest.NewBrowser(b).Get(e.URL + "/").Body)
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(raw)
	zw.Close()
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := raw
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			w.Header().Set("Content-Encoding", "gzip")
			body = gz.Bytes()
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(body)
	}))
	b.Cleanup(bare.Close)
	client := pagetest.NewBrowser(b).Client
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		send(b, client, http.MethodGet, bare.URL+"/", nil)
	}
}

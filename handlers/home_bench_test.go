package handlers_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"example.com/storefront/internal/gcpace"
	"example.com/storefront/internal/pagetest"
)

// BenchmarkHomeBare is BenchmarkHome's yardstick: a bare net/http handler
// that writes the bytes GET / answers (gzip-compressed for the client,
// which accepts gzip as browsers do), over the same kind of server and
// client (gzipClient). BenchmarkHome's CPU per request over this one's is what the
// app's routing, middleware and price check cost on top of writing bytes:
//
//	go test -run '^$' -bench '^BenchmarkHome(Bare)?$' -benchtime 2000x -count 3 ./handlers/
func BenchmarkHomeBare(b *testing.B) {
	defer gcpace.Apply()() // as main runs
	e := newEnv(b, direct)
	_, raw := pagetest.Wire(b, http.MethodGet, e.URL+"/", "")
	_, gz := pagetest.Wire(b, http.MethodGet, e.URL+"/", "gzip")
	zipped := !bytes.Equal(raw, gz) // the app compresses it
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := raw
		if zipped && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			w.Header().Set("Content-Encoding", "gzip")
			body = gz
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(body)
	}))
	b.Cleanup(bare.Close)
	client := gzipClient()
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		send(b, client, http.MethodGet, bare.URL+"/", nil)
	}
}

// gzipClient asks for gzip as browsers do and reads the bytes as sent,
// without inflating them: GET /'s benchmarks measure the servers' work, not
// the client's.
func gzipClient() *http.Client {
	return &http.Client{Transport: acceptGzip{&http.Transport{DisableCompression: true}}}
}

type acceptGzip struct{ http.RoundTripper }

func (t acceptGzip) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Accept-Encoding", "gzip")
	return t.RoundTripper.RoundTrip(r)
}

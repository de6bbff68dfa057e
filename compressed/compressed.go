// Package compressed answers in gzip the clients that accept it: Handler
// compresses a handler's responses as they are written (gzhttp), and Body
// is a response compressed once, for pages and files served many times as
// the same bytes (the home page, the static files).
//
// gzip only: it brings the home page from 17.9 KB to 5.3 KB at level 9,
// every browser takes it, and one coding keeps one compressed variant per
// body. Brotli (andybalholm/brotli) at level 11 would save another 1.1 KB
// on the home page but costs 38 ms per compression in pure Go, so it could
// only serve the precompressed bodies, as a second variant to negotiate;
// zstd (which gzhttp also offers) compresses these small pages no smaller
// than gzip. Neither pays for its code here.
package compressed

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"

	"github.com/klauspost/compress/gzhttp"
	"github.com/klauspost/compress/gzip"
)

// MinSize is the smallest body worth compressing: a smaller one fits in
// one packet either way.
const MinSize = gzhttp.DefaultMinSize

// Level is the gzip level of responses compressed as they are written:
// gzip's fastest, about two thirds of level 5's CPU for some 8 % more
// bytes on a page. A Body, compressed once, takes the best level.
const Level = gzip.BestSpeed

// Handler compresses next's responses of the types below, of MinSize bytes
// or more, for clients that accept gzip, and says Vary: Accept-Encoding on
// every answer (whether a response is compressed depends on the request's
// Accept-Encoding). A response that sets its own Content-Encoding (a Body)
// passes through as it is; flushes go through (a streamed CSV keeps
// moving), and an ETag gets a "-gzip" suffix on the compressed variant.
// HEAD requests are answered uncompressed, as gzhttp does.
func Handler(next http.Handler) http.Handler {
	// The media types worth compressing: our pages, styles, script, CSV
	// exports, the icon and plain-text errors. JSON is left out on purpose:
	// all of it here is server-to-server (the sandbox's provider APIs and
	// its mailbox, on loopback), where compressing costs CPU at both ends
	// and saves nothing.
	types := []string{"text/html", "text/css", "text/csv", "text/javascript", "application/javascript", "image/svg+xml", "text/plain"}
	wrap, err := gzhttp.NewWrapper(
		gzhttp.MinSize(MinSize),
		gzhttp.CompressionLevel(Level),
		gzhttp.ContentTypes(types),
		gzhttp.EnableZstd(false),
		gzhttp.SuffixETag("-gzip"),
	)
	if err != nil {
		panic(err) // the options above are constants: a bug, caught by any test
	}
	return wrap(next)
}

// Body is a response body with its gzip variant, compressed once.
type Body struct {
	raw, gz []byte   // gz is nil when compressing does not pay
	rawLen  []string // Content-Length of each, a header value ready to share
	gzLen   []string
}

// NewBody compresses raw at gzip's best level, unless it is under MinSize
// or would not shrink.
func NewBody(raw []byte) *Body {
	b := &Body{raw: raw, rawLen: []string{strconv.Itoa(len(raw))}}
	if len(raw) < MinSize {
		return b
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		panic(err) // a constant level
	}
	zw.Write(raw) // a bytes.Buffer does not fail
	zw.Close()
	if buf.Len() < len(raw) {
		b.gz, b.gzLen = buf.Bytes(), []string{strconv.Itoa(buf.Len())}
	}
	return b
}

// Raw is the uncompressed body.
func (b *Body) Raw() []byte { return b.raw }

// Gzip is the compressed body, or nil if it is not compressed.
func (b *Body) Gzip() []byte { return b.gz }

// Negotiate sets the headers of the variant r gets (Content-Encoding and
// Content-Length, and Vary when b has a compressed variant) and returns
// it: the caller sets the rest, its status, and writes it (nothing for
// a 304).
func (b *Body) Negotiate(w http.ResponseWriter, r *http.Request) (body []byte, gzipped bool) {
	h := w.Header()
	if b.gz == nil {
		h["Content-Length"] = b.rawLen
		return b.raw, false
	}
	AddVary(h)
	if AcceptsGzip(r) {
		h["Content-Encoding"] = gzipValue
		h["Content-Length"] = b.gzLen
		return b.gz, true
	}
	h["Content-Length"] = b.rawLen
	return b.raw, false
}

var gzipValue = []string{"gzip"}

// AddVary adds Accept-Encoding to h's Vary unless it is there (Handler
// adds it to every answer).
func AddVary(h http.Header) {
	for _, v := range h["Vary"] {
		for f := range strings.SplitSeq(v, ",") {
			if f = strings.TrimSpace(f); f == "*" || strings.EqualFold(f, "Accept-Encoding") {
				return
			}
		}
	}
	h.Add("Vary", "Accept-Encoding")
}

// AcceptsGzip reports whether r's Accept-Encoding takes gzip with a
// non-zero quality (RFC 9110, section 12.5.3: "gzip;q=0" refuses it, and
// "*" stands for a coding not listed).
func AcceptsGzip(r *http.Request) bool {
	q, wildcard := -1.0, -1.0
	for _, line := range r.Header["Accept-Encoding"] {
		for item := range strings.SplitSeq(line, ",") {
			coding, params, _ := strings.Cut(item, ";")
			coding = strings.ToLower(strings.TrimSpace(coding))
			if coding != "gzip" && coding != "x-gzip" && coding != "*" {
				continue
			}
			v := qvalue(params)
			switch {
			case coding == "*":
				wildcard = v
			case v > q:
				q = v
			}
		}
	}
	if q >= 0 {
		return q > 0
	}
	return wildcard > 0
}

// qvalue reads ";q=0.5" (1 when absent, 0 when unreadable).
func qvalue(params string) float64 {
	for p := range strings.SplitSeq(params, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || f < 0 || f > 1 {
				return 0
			}
			return f
		}
	}
	return 1
}

// Package static holds the storefront's CSS, icon and the one small script,
// embedded so the binary is self-contained, and serves them: each under a
// URL with its content hash (Path), cached for a year as immutable, and
// under its plain name for links made before (revalidated by ETag); each
// compressed once, for the clients that accept gzip.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"

	"example.com/storefront/compressed"
)

//go:embed *.css *.js *.svg
var files embed.FS

// Prefix is where Handler is mounted.
const Prefix = "/static/"

// hashLen is the hex digits of the content's SHA-256 in a file's URL.
const hashLen = 12

// asset is one embedded file, ready to serve.
type asset struct {
	name        string // app.css
	hashed      string // app.0123456789ab.css
	hash        string
	contentType string
	body        *compressed.Body
}

type catalogue struct {
	byName   map[string]*asset // the plain name
	byHashed map[string]*asset // the name with the hash
}

// assets reads and compresses the embedded files on first use: they are
// fixed when the binary is built, so this is computed once, never changed.
var assets = sync.OnceValue(func() catalogue {
	c := catalogue{byName: map[string]*asset{}, byHashed: map[string]*asset{}}
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		panic(err) // embedded at build time
	}
	for _, e := range entries {
		raw, err := files.ReadFile(e.Name())
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(raw)
		a := &asset{name: e.Name(), hash: hex.EncodeToString(sum[:])[:hashLen], body: compressed.NewBody(raw)}
		ext := path.Ext(a.name)
		a.hashed = strings.TrimSuffix(a.name, ext) + "." + a.hash + ext
		a.contentType = mime.TypeByExtension(ext)
		c.byName[a.name], c.byHashed[a.hashed] = a, a
	}
	return c
})

// Path is the URL of the embedded file name with its content hash, for
// pages to link to: /static/app.0123456789ab.css. It panics for a file
// that is not embedded (a template's typo, caught by any test that
// renders it).
func Path(name string) string {
	a, ok := assets().byName[name]
	if !ok {
		panic("static: no file " + name)
	}
	return Prefix + a.hashed
}

// immutable is a hashed URL's lifetime: its bytes never change.
const immutable = "public, max-age=31536000, immutable"

// Handler serves the files under Prefix: at a hashed URL for a year, as
// immutable; at a plain URL (or a hash of another build, asked for by a
// page of the previous release) revalidated each time, with a 304 when
// the ETag still matches. Each variant has its own ETag (the compressed
// one suffixed -gzip, as compressed.Handler does).
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := strings.CutPrefix(r.URL.Path, Prefix)
		if !ok {
			http.NotFound(w, r)
			return
		}
		c := assets()
		cache := immutable
		a := c.byHashed[name]
		if a == nil {
			cache = "no-cache"
			if a = c.byName[unhashed(name)]; a == nil {
				http.NotFound(w, r)
				return
			}
		}
		h := w.Header()
		body, gzipped := a.body.Negotiate(w, r)
		etag := `"` + a.hash + `"`
		if gzipped {
			etag = `"` + a.hash + `-gzip"`
		}
		h.Set("ETag", etag)
		h.Set("Cache-Control", cache)
		if matches(r.Header.Get("If-None-Match"), etag) {
			h.Del("Content-Length")
			h.Del("Content-Encoding")
			w.WriteHeader(http.StatusNotModified)
			return
		}
		h.Set("Content-Type", a.contentType)
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			w.Write(body)
		}
	})
}

// unhashed is name without a hash of hashLen hex digits before its
// extension (app.0123456789ab.css → app.css), or name itself.
func unhashed(name string) string {
	ext := path.Ext(name)
	base := strings.TrimSuffix(name, ext)
	i := strings.LastIndexByte(base, '.')
	if i < 0 || len(base)-i-1 != hashLen {
		return name
	}
	if _, err := hex.DecodeString(base[i+1:]); err != nil {
		return name
	}
	return base[:i] + ext
}

// matches reports whether an If-None-Match list names etag ("*" does;
// weak comparison, as RFC 9110 section 13.1.2 asks for GET).
func matches(ifNoneMatch, etag string) bool {
	for t := range strings.SplitSeq(ifNoneMatch, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

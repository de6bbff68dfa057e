package simkit

import (
	"crypto/rand"
)

const idAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// NewID returns prefix followed by n random alphanumerics, the shape of
// provider ids such as "cus_…", "cs_test_…" or "req_…".
func NewID(prefix string, n int) string {
	return prefix + RandomAlnum(n)
}

// RandomAlnum returns n characters drawn uniformly from idAlphabet using
// crypto/rand (rejection sampling avoids the modulo bias).
func RandomAlnum(n int) string {
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/2)
	for len(out) < n {
		rand.Read(buf) // never returns an error (Go 1.24+)
		for _, b := range buf {
			if b >= 248 { // 248 = 4*62: keep only bytes that map evenly
				continue
			}
			out = append(out, idAlphabet[int(b)%len(idAlphabet)])
			if len(out) == n {
				break
			}
		}
	}
	return string(out)
}

package simkit

import (
	"crypto/rand"
	"time"
)

const idAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// NewID returns prefix followed by n alphanumerics, the shape of provider
// ids such as "cus_…", "cs_test_…" or "req_…": the first timeDigits
// encode the millisecond it was made, the rest are random.
//
// Ids made close in time sort together, so that a transaction's inserts
// land on the last pages of each index instead of one page each anywhere
// in it: fewer pages written per commit, fewer read back, fewer copied at
// each checkpoint. Nothing may read meaning into the order: the random
// part alone keeps ids unique and unguessable.
func NewID(prefix string, n int) string {
	if n < 2*timeDigits {
		return prefix + RandomAlnum(n)
	}
	return prefix + timeAlnum(time.Now()) + RandomAlnum(n-timeDigits)
}

// timeDigits is how many alphanumerics timeAlnum makes: 62^7 ms is over a
// century.
const timeDigits = 7

// timeAlnum is t's Unix milliseconds in timeDigits base-62 digits, most
// significant first, so that ids sort by time as strings.
func timeAlnum(t time.Time) string {
	var out [timeDigits]byte
	ms := uint64(t.UnixMilli())
	for i := timeDigits - 1; i >= 0; i-- {
		out[i] = idAlphabet[ms%uint64(len(idAlphabet))]
		ms /= uint64(len(idAlphabet))
	}
	return string(out[:])
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

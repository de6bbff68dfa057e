// Package shopperlink signs and checks the links to a shopper's own page of
// their mandate: the link in every email, which opens the page in any
// browser, without the session that made the mandate.
//
// A link is "/mandates/<id>?e=<unix expiry>&s=<signature>", the signature
// an HMAC-SHA256 (truncated to 20 bytes, hex) of the id and the expiry.
// Links expire in real time, never on the demo clock: a link in someone's
// inbox must not die because a presenter moved the billing clock.
package shopperlink

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strconv"
	"time"
)

// DefaultTTL is how long the storefront's links work: the handlers and the
// emails sign with it, so a link says the same wherever it was made.
const DefaultTTL = 30 * 24 * time.Hour

// sigLen is the length of a signature in hex.
const sigLen = 40

// Signer signs and checks links with one key. The zero value signs with an
// empty key: use New.
type Signer struct {
	key []byte
	ttl time.Duration
}

// New returns a Signer whose links are valid for ttl after they are made.
func New(key []byte, ttl time.Duration) Signer {
	return Signer{key: append([]byte(nil), key...), ttl: ttl}
}

// TTL is how long a link works after it is made.
func (s Signer) TTL() time.Duration { return s.ttl }

// Path is the signed path to mandate id's page, valid until now + TTL.
func (s Signer) Path(id string, now time.Time) string {
	e := strconv.FormatInt(now.Add(s.ttl).Unix(), 10)
	return "/mandates/" + url.PathEscape(id) + "?e=" + e + "&s=" + s.sign(id, e)
}

// Check tells whether expires and sig are a link this key signed for id:
// ok when it is and has not expired at now; expired when it is but has (so
// the page can offer a fresh link rather than nothing). A tampered or
// malformed link is neither. The signature is compared in constant time.
func (s Signer) Check(id, expires, sig string, now time.Time) (ok, expired bool) {
	exp, err := strconv.ParseInt(expires, 10, 64)
	if err != nil || len(sig) != sigLen {
		return false, false
	}
	if !hmac.Equal([]byte(sig), []byte(s.sign(id, expires))) {
		return false, false
	}
	if now.Unix() > exp {
		return false, true
	}
	return true, false
}

func (s Signer) sign(id, expires string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("mandate-page\x00" + id + "\x00" + expires))
	return hex.EncodeToString(m.Sum(nil)[:sigLen/2])
}

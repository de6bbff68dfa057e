package shopperlink_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"example.com/storefront/shopperlink"
)

var key = []byte(strings.Repeat("k", 32))

// The links already in people's inboxes keep working: the path and the
// signature are those the handlers made before this package.
func TestPathIsTheFormatOfLinksAlreadySent(t *testing.T) {
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	s := shopperlink.New(key, 30*24*time.Hour)
	p := s.Path("m_1 2", now)
	e := strconv.FormatInt(now.Add(30*24*time.Hour).Unix(), 10)
	m := hmac.New(sha256.New, key)
	m.Write([]byte("mandate-page\x00m_1 2\x00" + e))
	want := "/mandates/m_1%202?e=" + e + "&s=" + hex.EncodeToString(m.Sum(nil)[:20])
	if p != want {
		t.Fatalf("Path = %q, want %q", p, want)
	}
}

func TestCheck(t *testing.T) {
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	s := shopperlink.New(key, time.Hour)
	u, err := url.Parse(s.Path("m1", now))
	if err != nil {
		t.Fatal(err)
	}
	e, sig := u.Query().Get("e"), u.Query().Get("s")
	other := shopperlink.New([]byte(strings.Repeat("o", 32)), time.Hour)
	ou, _ := url.Parse(other.Path("m1", now))
	for _, c := range []struct {
		name              string
		id, e, sig        string
		at                time.Time
		wantOK, wantExpir bool
	}{
		{"fresh", "m1", e, sig, now, true, false},
		{"at the last second", "m1", e, sig, now.Add(time.Hour), true, false},
		{"expired", "m1", e, sig, now.Add(time.Hour + time.Second), false, true},
		{"another mandate", "m2", e, sig, now, false, false},
		{"another mandate, expired", "m2", e, sig, now.Add(2 * time.Hour), false, false},
		{"expiry moved", "m1", strconv.FormatInt(now.Add(2*time.Hour).Unix(), 10), sig, now, false, false},
		{"signature changed", "m1", e, sig[:39] + flip(sig[39]), now, false, false},
		{"signature shortened", "m1", e, sig[:38], now.Add(2 * time.Hour), false, false},
		{"no signature", "m1", e, "", now, false, false},
		{"garbage expiry", "m1", "soon", sig, now, false, false},
		{"another key", "m1", ou.Query().Get("e"), ou.Query().Get("s"), now, false, false},
	} {
		ok, expired := s.Check(c.id, c.e, c.sig, c.at)
		if ok != c.wantOK || expired != c.wantExpir {
			t.Errorf("%s: ok %v expired %v, want %v %v", c.name, ok, expired, c.wantOK, c.wantExpir)
		}
	}
}

func flip(b byte) string {
	if b == '0' {
		return "1"
	}
	return "0"
}

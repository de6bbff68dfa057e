package pprosim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"time"
)

// pproSignatureHeader carries a webhook's signature.
const pproSignatureHeader = "PPRO-Signature"

// pproSigner signs each delivery attempt, at the moment it is made (so a
// retry carries a fresh timestamp): PPRO-Signature: t=<unix seconds>,
// s=<lower-case hex of HMAC-SHA256(secret, t + "." + raw body)>.
//
// It is the sandbox's own signer, not the app's (payments/ppro), so that
// the two are written apart and a test proves they agree, as stripesim's
// signer is not stripe-go's.
func pproSigner(secret string) func(payload []byte, now time.Time) http.Header {
	return func(payload []byte, now time.Time) http.Header {
		h := http.Header{}
		h.Set(pproSignatureHeader, pproSignature(secret, payload, now))
		return h
	}
}

// pproSignature is the PPRO-Signature value for payload at now.
func pproSignature(secret string, payload []byte, now time.Time) string {
	t := strconv.FormatInt(now.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(t + "."))
	mac.Write(payload)
	return "t=" + t + ",s=" + hex.EncodeToString(mac.Sum(nil))
}

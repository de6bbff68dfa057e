package ppro

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"example.com/storefront/payments"
)

const fuzzSecret = "ppro_whsec_fuzz"

// FuzzParseWebhook sends arbitrary bodies and PPRO-Signature headers to the
// webhook parser. With signIt set the body is signed correctly first, so
// the fuzzer also reaches the JSON. Seeds are every event of PPRO's own
// webhook document (testdata/webhooks, built from ppro-gpg-webhooks.json's
// examples). An accepted delivery must carry a valid, fresh signature of
// exactly its body, and an event id and type the store can keep.
func FuzzParseWebhook(f *testing.F) {
	files, err := filepath.Glob("testdata/webhooks/*.json")
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed events in testdata/webhooks (%v)", err)
	}
	now := time.Now()
	for _, file := range files {
		body, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body, "", true)
		f.Add(body, Sign(body, fuzzSecret, now), false)
		f.Add(body, Sign(body, "another secret", now), false)
		f.Add(body, Sign(body, fuzzSecret, now.Add(-10*time.Minute)), false)
	}
	f.Add([]byte(`{"data":{}}`), "", true)
	f.Add([]byte(`{"id":"","type":"PAYMENT_AGREEMENT_ACTIVE"}`), "t=1,s=", false)
	f.Add([]byte(`[]`), "t=x,s=zz,extra", false)

	p := NewProvider(nil, payments.ModeSandbox, fuzzSecret)
	f.Fuzz(func(t *testing.T, body []byte, header string, signIt bool) {
		if signIt {
			header = Sign(body, fuzzSecret, time.Now())
		}
		r := httptest.NewRequest(http.MethodPost, "/webhooks/ppro", bytes.NewReader(body))
		r.Header.Set(SignatureHeader, header)
		ev, err := p.ParseWebhook(r)
		if err != nil {
			return
		}
		if !signIt && VerifySignature(header, body, fuzzSecret, time.Now()) != nil {
			t.Fatalf("accepted a delivery whose signature does not verify: %q", header)
		}
		if ev.ID == "" || len(ev.ID) > payments.MaxEventField || ev.Type == "" || len(ev.Type) > payments.MaxEventField {
			t.Fatalf("accepted event id %q type %q", ev.ID, ev.Type)
		}
	})
}

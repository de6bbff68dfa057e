package smtptest

import (
	"strings"
	"testing"
)

// A message as another mailer might write it: nested multiparts, base64 and
// quoted-printable parts, an encoded subject.
func TestParseDecodesNestedParts(t *testing.T) {
	raw := strings.ReplaceAll(`From: a@example.com
To: b@example.com
Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=outer

--outer
Content-Type: multipart/alternative; boundary=inner

--inner
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Gr=C3=BC=C3=9Fe
--inner
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: base64

PHA+R3LDvMOf
ZTwvcD4=
--inner--
--outer--
`, "\n", "\r\n")
	r := Received{Raw: []byte(raw)}
	if err := parse(&r); err != nil {
		t.Fatal(err)
	}
	if r.Subject != "Grüße" || r.Text != "Grüße" || r.HTML != "<p>Grüße</p>" {
		t.Errorf("subject %q text %q HTML %q, want Grüße, Grüße, <p>Grüße</p>", r.Subject, r.Text, r.HTML)
	}
}

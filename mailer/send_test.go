package mailer

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"example.com/storefront/internal/smtptest"
)

const testFrom = "Kaffeerösterei Nord <shop@roesterei.example>"

func testMessage(key string) Message {
	return Message{
		From:    testFrom,
		To:      "Jana Kühn <jana@kunde.example>",
		Subject: "Ihre Zahlung über 12,50 € – Quittung",
		Text:    "Hallo Jana,\nwir haben 12,50 € abgebucht.\nIhre Seite: https://shop.example/m/abc\n",
		HTML:    "<p>Hallo Jana,</p><p>wir haben <b>12,50 €</b> abgebucht.</p><p><a href=\"https://shop.example/m/abc\">Ihre Seite</a></p>",
		Key:     key,
		Headers: map[string]string{"Auto-Submitted": "auto-generated"},
	}
}

// configFor reads the server's URL the way the app will read SMTP_URL.
func configFor(t *testing.T, srv *smtptest.Server, user, password string) Config {
	t.Helper()
	cfg, err := ParseURL(srv.URL(), user, password)
	if err != nil {
		t.Fatalf("ParseURL(%q): %v", srv.URL(), err)
	}
	cfg.RootCAs = srv.RootCAs()
	cfg.Timeout = 20 * time.Second
	return cfg
}

func newSender(t *testing.T, cfg Config) *Sender {
	t.Helper()
	s, err := NewSender(cfg)
	if err != nil {
		t.Fatalf("NewSender: %v", err)
	}
	return s
}

func send(t *testing.T, s *Sender, m Message) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	return s.Send(ctx, m)
}

func TestSendDeliversTextAndHTMLWithStableMessageID(t *testing.T) {
	srv := smtptest.Start(t)
	s := newSender(t, configFor(t, srv, "", ""))

	m := testMessage("receipt:pay_123")
	for range 2 { // the same event sent twice, as after a crash
		if err := send(t, s, m); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	got := srv.WaitFor(t, 2)
	r := got[0]
	if r.From != "shop@roesterei.example" || len(r.To) != 1 || r.To[0] != "jana@kunde.example" {
		t.Errorf("envelope from %q to %q, want shop@roesterei.example to [jana@kunde.example]", r.From, r.To)
	}
	if r.Subject != m.Subject {
		t.Errorf("subject %q, want %q", r.Subject, m.Subject)
	}
	if r.Text != m.Text {
		t.Errorf("text part %q, want %q", r.Text, m.Text)
	}
	if r.HTML != m.HTML {
		t.Errorf("HTML part %q, want %q", r.HTML, m.HTML)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "multipart/alternative") {
		t.Errorf("Content-Type %q, want multipart/alternative", ct)
	}
	from, err := r.Header.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Name != "Kaffeerösterei Nord" || from[0].Address != "shop@roesterei.example" {
		t.Errorf("From header %v (%v), want Kaffeerösterei Nord <shop@roesterei.example>", from, err)
	}
	to, err := r.Header.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Address != "jana@kunde.example" {
		t.Errorf("To header %v (%v), want jana@kunde.example", to, err)
	}
	if r.Header.Get("Date") == "" {
		t.Error("no Date header")
	}
	if v := r.Header.Get("Auto-Submitted"); v != "auto-generated" {
		t.Errorf("Auto-Submitted %q, want auto-generated", v)
	}
	wantID, err := MessageID(m.Key, m.From)
	if err != nil {
		t.Fatal(err)
	}
	if id := r.Header.Get("Message-Id"); id != wantID || !strings.HasSuffix(id, "@roesterei.example>") {
		t.Errorf("Message-ID %q, want %q at the sender's domain", id, wantID)
	}
	if id2 := got[1].Header.Get("Message-Id"); id2 != wantID {
		t.Errorf("resent Message-ID %q, want the same %q", id2, wantID)
	}
	other, _ := MessageID("receipt:pay_124", m.From)
	if other == wantID {
		t.Errorf("two keys share Message-ID %q", other)
	}
	if r.TLS {
		t.Error("session encrypted although the server offers no TLS")
	}
}

func TestSendAuthenticates(t *testing.T) {
	const user, password = "shop@roesterei.example", "p@ss:w/rd%"
	srv := smtptest.Start(t, smtptest.WithAuth(user, password))

	withUserinfo := strings.Replace(srv.URL(), "smtp://",
		"smtp://"+url.UserPassword(user, password).String()+"@", 1)
	fromURL, err := ParseURL(withUserinfo, "", "")
	if err != nil {
		t.Fatalf("ParseURL with userinfo: %v", err)
	}
	cases := map[string]Config{
		"credentials in SMTP_URL":     fromURL,
		"SMTP_USER and SMTP_PASSWORD": configFor(t, srv, user, password),
	}
	n := 0
	for name, cfg := range cases {
		t.Run(name, func(t *testing.T) {
			if err := send(t, newSender(t, cfg), testMessage("auth:"+name)); err != nil {
				t.Fatalf("Send: %v", err)
			}
			n++
			if r := srv.WaitFor(t, n)[n-1]; r.User != user {
				t.Errorf("authenticated as %q, want %q", r.User, user)
			}
		})
	}

	t.Run("wrong password", func(t *testing.T) {
		err := send(t, newSender(t, configFor(t, srv, user, "wrong")), testMessage("auth:wrong"))
		if err == nil {
			t.Fatal("Send with a wrong password succeeded")
		}
		if Permanent(err) {
			t.Errorf("a failed login is Permanent (%v); it is the configuration's fault, and the message must wait for it to be fixed", err)
		}
		if got := len(srv.Messages()); got != n {
			t.Errorf("%d messages, want %d", got, n)
		}
	})

	t.Run("no credentials", func(t *testing.T) {
		// The server answers MAIL FROM with 530: every message would meet it.
		err := send(t, newSender(t, configFor(t, srv, "", "")), testMessage("auth:none"))
		if err == nil || !strings.Contains(err.Error(), "530") {
			t.Fatalf("Send without credentials: %v, want a 530 reply", err)
		}
		if Permanent(err) {
			t.Errorf("530 to MAIL FROM is Permanent (%v); it is the configuration's fault, and the message must wait for it to be fixed", err)
		}
	})
}

func TestSendUsesSTARTTLSAndVerifiesTheCertificate(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithSTARTTLS(), smtptest.WithAuth("u", "pw"))
	cfg := configFor(t, srv, "u", "pw")
	if err := send(t, newSender(t, cfg), testMessage("starttls")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if r := srv.WaitFor(t, 1)[0]; !r.TLS || r.User != "u" {
		t.Errorf("TLS %v user %q, want an encrypted, authenticated session", r.TLS, r.User)
	}

	// Without the test CA the self-signed certificate must be refused, even on loopback.
	cfg.RootCAs = nil
	err := send(t, newSender(t, cfg), testMessage("starttls:untrusted"))
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("Send to an untrusted certificate: %v, want a certificate error", err)
	}
	if got := len(srv.Messages()); got != 1 {
		t.Errorf("%d messages, want 1", got)
	}
}

// nonLoopbackIP is an address of this machine that is not loopback: a server
// listening there is, for the mailer, a remote host.
func nonLoopbackIP(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatalf("interface addresses: %v", err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			return n.IP.String()
		}
	}
	t.Skip("this machine has no non-loopback IPv4 address to stand for a remote mail server")
	return ""
}

func TestSendRefusesRemoteHostWithoutSTARTTLS(t *testing.T) {
	ip := nonLoopbackIP(t)
	plain := smtptest.Start(t, smtptest.WithHost(ip), smtptest.WithAuth("u", "secret"))
	err := send(t, newSender(t, configFor(t, plain, "u", "secret")), testMessage("remote:plain"))
	if err == nil {
		t.Fatal("Send to a remote host without STARTTLS succeeded")
	}
	if !strings.Contains(err.Error(), "STARTTLS") || !strings.Contains(err.Error(), "never sent in clear") {
		t.Errorf("error %q does not say that STARTTLS is required", err)
	}
	if plain.Sessions() != 1 {
		t.Errorf("%d sessions, want 1: the refusal must come from talking to the server", plain.Sessions())
	}
	if n := plain.AuthAttempts(); n != 0 {
		t.Errorf("%d AUTH attempts in clear to a remote host, want 0", n)
	}
	if n := len(plain.Messages()); n != 0 {
		t.Errorf("%d messages sent in clear to a remote host, want 0", n)
	}

	// The same kind of remote host with STARTTLS gets the mail, encrypted.
	secure := smtptest.Start(t, smtptest.WithHost(ip), smtptest.WithSTARTTLS(), smtptest.WithAuth("u", "secret"))
	if err := send(t, newSender(t, configFor(t, secure, "u", "secret")), testMessage("remote:tls")); err != nil {
		t.Fatalf("Send to a remote host with STARTTLS: %v", err)
	}
	if r := secure.WaitFor(t, 1)[0]; !r.TLS || r.User != "u" {
		t.Errorf("TLS %v user %q, want an encrypted, authenticated session", r.TLS, r.User)
	}
}

func TestSendImplicitTLS(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithImplicitTLS(), smtptest.WithAuth("u", "pw"))
	if !strings.HasPrefix(srv.URL(), "smtps://") {
		t.Fatalf("server URL %q, want smtps://", srv.URL())
	}
	cfg := configFor(t, srv, "u", "pw")
	if !cfg.ImplicitTLS {
		t.Fatal("smtps:// did not select implicit TLS")
	}
	if err := send(t, newSender(t, cfg), testMessage("smtps")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if r := srv.WaitFor(t, 1)[0]; !r.TLS || r.User != "u" {
		t.Errorf("TLS %v user %q, want an encrypted, authenticated session", r.TLS, r.User)
	}
}

func TestSendClassifiesRefusals(t *testing.T) {
	srv := smtptest.Start(t)
	s := newSender(t, configFor(t, srv, "", ""))

	srv.FailNext(1, 451)
	err := send(t, s, testMessage("fail:451"))
	if err == nil || Permanent(err) {
		t.Errorf("451 reply: error %v, Permanent %v; want a temporary error", err, Permanent(err))
	}
	srv.FailNext(1, 550)
	err = send(t, s, testMessage("fail:550"))
	if err == nil || !Permanent(err) {
		t.Errorf("550 reply: error %v, Permanent %v; want a permanent error", err, Permanent(err))
	}
	srv.FailNextData(1, 452)
	err = send(t, s, testMessage("fail:data452"))
	if err == nil || Permanent(err) {
		t.Errorf("452 reply to the content: error %v, Permanent %v; want a temporary error", err, Permanent(err))
	}
	srv.FailNextData(1, 554)
	err = send(t, s, testMessage("fail:data554"))
	if err == nil || !Permanent(err) {
		t.Errorf("554 reply to the content: error %v, Permanent %v; want a permanent error", err, Permanent(err))
	}
	if err := send(t, s, testMessage("fail:after")); err != nil {
		t.Fatalf("Send after the planned failures: %v", err)
	}
	if got := srv.WaitFor(t, 1); len(got) != 1 {
		t.Errorf("%d messages accepted, want 1", len(got))
	}
}

func TestSendServerDownIsTemporary(t *testing.T) {
	srv := smtptest.Start(t)
	s := newSender(t, configFor(t, srv, "", ""))
	srv.Stop()
	err := send(t, s, testMessage("down"))
	if err == nil || Permanent(err) {
		t.Fatalf("server down: error %v, Permanent %v; want a temporary error", err, Permanent(err))
	}
	srv.Restart(t)
	if err := send(t, s, testMessage("down")); err != nil {
		t.Fatalf("Send after restart: %v", err)
	}
	srv.WaitFor(t, 1)
}

func TestSendHonoursContext(t *testing.T) {
	// A server that accepts the connection and never greets: only the
	// context can end the wait, long before the 30-second command timeout.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	port := l.Addr().(*net.TCPAddr).Port
	cfg, err := ParseURL("smtp://127.0.0.1:"+strconv.Itoa(port), "", "")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Timeout = 30 * time.Second
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = newSender(t, cfg).Send(ctx, testMessage("ctx"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v, want context.DeadlineExceeded", err)
	}
	if Permanent(err) {
		t.Errorf("a timeout is Permanent: %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Send returned after %v, long after its context ended", d)
	}
}

func TestSendRefusesMalformedMessagesPermanently(t *testing.T) {
	srv := smtptest.Start(t)
	s := newSender(t, configFor(t, srv, "", ""))
	cases := map[string]func(*Message){
		"no HTML":           func(m *Message) { m.HTML = "" },
		"no text":           func(m *Message) { m.Text = "" },
		"no subject":        func(m *Message) { m.Subject = " " },
		"no key":            func(m *Message) { m.Key = "" },
		"bad recipient":     func(m *Message) { m.To = "jana at kunde" },
		"bare recipient":    func(m *Message) { m.To = "jana@kunde" },
		"bad sender":        func(m *Message) { m.From = "shop" },
		"reserved header":   func(m *Message) { m.Headers = map[string]string{"message-id": "<x@y.example>"} },
		"header injection":  func(m *Message) { m.Headers = map[string]string{"X-Note": "a\r\nBcc: eve@evil.example"} },
		"subject injection": func(m *Message) { m.Subject = "Hi\r\nBcc: eve@evil.example" },
	}
	for name, spoil := range cases {
		t.Run(name, func(t *testing.T) {
			m := testMessage("bad:" + name)
			spoil(&m)
			err := send(t, s, m)
			if err == nil || !Permanent(err) {
				t.Errorf("error %v, Permanent %v; want a permanent error", err, Permanent(err))
			}
		})
	}
	if n := srv.Sessions(); n != 0 {
		t.Errorf("%d SMTP sessions for malformed messages, want 0", n)
	}
}

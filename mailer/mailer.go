// Package mailer delivers one email message over SMTP through
// github.com/wneessen/go-mail, with the TLS policy the storefront promises:
// never credentials or mail in clear to a remote host.
//
// It knows nothing of the outbox that will call it: Send either delivers a
// message, fails in a way worth retrying, or fails Permanent-ly.
package mailer

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/textproto"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Message is one email: an HTML body with its plain-text alternative.
type Message struct {
	From    string // "Name <addr>" or "addr", as ParseFrom accepts
	To      string // one recipient
	Subject string
	Text    string // required: read by text-only clients and screen readers
	HTML    string // required
	// Key is unique per event the message tells of (e.g. "receipt:pay_123"):
	// the Message-ID is derived from it, so a message sent twice after a
	// crash is recognisable as the same one.
	Key string
	// Headers are extra header fields, e.g. Auto-Submitted; they may not
	// replace the ones Send sets.
	Headers map[string]string
}

// MessageID is the Message-ID (with its angle brackets) Send gives a message
// with this key from this sender: a hash of the key at the sender's domain.
func MessageID(key, from string) (string, error) {
	if key == "" {
		return "", errors.New("message has no key")
	}
	a, err := mail.ParseAddress(from)
	if err != nil {
		return "", fmt.Errorf("from %q: %w", from, err)
	}
	domain, err := domainOf(a.Address)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(key))
	return "<" + hex.EncodeToString(sum[:16]) + "@" + domain + ">", nil
}

// reserved are the header fields Send writes itself.
var reserved = map[string]bool{
	"From": true, "To": true, "Cc": true, "Bcc": true, "Subject": true, "Date": true,
	"Message-Id": true, "Mime-Version": true, "Content-Type": true,
	"Content-Transfer-Encoding": true, "Sender": true,
}

// Sender delivers messages to one SMTP server, a new connection per message
// (an outbox sends a few at a time; a pool would only hold stale connections).
type Sender struct {
	cfg Config
}

// NewSender checks cfg and returns a Sender for it.
func NewSender(cfg Config) (*Sender, error) {
	if cfg.Host == "" {
		return nil, errors.New("mailer: config has no host")
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return nil, fmt.Errorf("mailer: config port %d is not a port number", cfg.Port)
	}
	if (cfg.Username == "") != (cfg.Password == "") {
		return nil, errors.New("mailer: config has a user without a password or the reverse")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	return &Sender{cfg: cfg}, nil
}

// IsLoopback reports whether host is localhost or a loopback address: the
// only hosts to which mail may go without TLS.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// invalidError marks a message that no server will ever accept as it is.
type invalidError struct{ err error }

func (e *invalidError) Error() string { return "invalid message: " + e.err.Error() }
func (e *invalidError) Unwrap() error { return e.err }

// Permanent reports whether err means this message can never be delivered
// as it is, so retrying is pointless: a 5xx reply to its recipient or its
// content (no such mailbox, message refused), or a message Send refused to
// build. Anything else is temporary: the server down or unreachable, a
// timeout, a 4xx reply, and also what every message would meet alike (a
// failed login, a TLS failure, a 5xx reply to MAIL FROM such as "530
// authentication required" or "553 sender not allowed"): mistakes in the
// configuration, which an operator fixes, after which the message goes.
func Permanent(err error) bool {
	var inv *invalidError
	if errors.As(err, &inv) {
		return true
	}
	var se *gomail.SendError
	if !errors.As(err, &se) {
		return false
	}
	switch se.Reason {
	case gomail.ErrSMTPRcptTo, gomail.ErrSMTPData, gomail.ErrSMTPDataClose, gomail.ErrWriteContent:
		code := se.ErrorCode()
		return code >= 500 && code < 600
	}
	return false
}

// Send delivers m, or returns why not. ctx bounds the whole conversation:
// when it ends the connection is closed.
func (s *Sender) Send(ctx context.Context, m Message) error {
	msg, err := s.build(m)
	if err != nil {
		return &invalidError{err: err}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("send to %s: %w", s.cfg, err)
	}

	tlsConf := &tls.Config{ServerName: s.cfg.Host, RootCAs: s.cfg.RootCAs, MinVersion: tls.VersionTLS12}
	// go-mail honours ctx only while dialling; closing the connection when ctx
	// ends makes the command in flight fail at once.
	var stops []func() bool
	defer func() {
		for _, stop := range stops {
			stop()
		}
	}()
	dial := func(dctx context.Context, network, addr string) (net.Conn, error) {
		var (
			conn net.Conn
			err  error
		)
		d := &net.Dialer{}
		if s.cfg.ImplicitTLS {
			// A *tls.Conn, unwrapped: go-mail tells an encrypted session by its type.
			conn, err = (&tls.Dialer{NetDialer: d, Config: tlsConf}).DialContext(dctx, network, addr)
		} else {
			conn, err = d.DialContext(dctx, network, addr)
		}
		if err != nil {
			return nil, err
		}
		stops = append(stops, context.AfterFunc(ctx, func() { _ = conn.Close() }))
		return conn, nil
	}

	opts := []gomail.Option{
		gomail.WithPort(s.cfg.Port),
		gomail.WithTimeout(s.cfg.Timeout),
		gomail.WithTLSConfig(tlsConf),
		gomail.WithDialContextFunc(dial),
	}
	switch {
	case s.cfg.ImplicitTLS:
		opts = append(opts, gomail.WithSSL())
	case IsLoopback(s.cfg.Host):
		// A local relay (a sidecar, the developer's mailpit) often has no
		// certificate: use STARTTLS when offered, plain otherwise.
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	default:
		// go-mail checks this right after EHLO, before AUTH or MAIL FROM.
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if s.cfg.Username != "" {
		opts = append(opts,
			gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthPlain, gomail.SMTPAuthLogin),
			gomail.WithUsername(s.cfg.Username),
			gomail.WithPassword(s.cfg.Password))
	}
	client, err := gomail.NewClient(s.cfg.Host, opts...)
	if err != nil {
		return fmt.Errorf("send to %s: configure client: %w", s.cfg, err)
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		// go-mail has no error value for this; its words are pinned by a test.
		if !IsLoopback(s.cfg.Host) && !s.cfg.ImplicitTLS && strings.Contains(err.Error(), "does not support STARTTLS") {
			return fmt.Errorf("send to %s: the server does not offer STARTTLS, and mail to a remote host is never sent in clear (use smtps:// or a server with STARTTLS): %w", s.cfg, err)
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("send to %s: %w (%w)", s.cfg, ctxErr, err)
		}
		return fmt.Errorf("send to %s: %w", s.cfg, err)
	}
	return nil
}

// build turns m into a go-mail message, refusing what would be malformed.
func (s *Sender) build(m Message) (*gomail.Msg, error) {
	switch {
	case m.Text == "":
		return nil, errors.New("no text part")
	case m.HTML == "":
		return nil, errors.New("no HTML part")
	case strings.TrimSpace(m.Subject) == "":
		return nil, errors.New("no subject")
	case strings.ContainsAny(m.Subject, "\r\n"):
		return nil, errors.New("subject contains a line break")
	}
	from, err := mail.ParseAddress(m.From)
	if err != nil {
		return nil, fmt.Errorf("from %q: %w", m.From, err)
	}
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return nil, fmt.Errorf("to %q: %w", m.To, err)
	}
	if _, err := domainOf(to.Address); err != nil {
		return nil, fmt.Errorf("to: %w", err)
	}
	id, err := MessageID(m.Key, m.From)
	if err != nil {
		return nil, fmt.Errorf("message id: %w", err)
	}

	msg := gomail.NewMsg()
	msg.FromMailAddress(from)
	msg.ToMailAddress(to)
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(strings.Trim(id, "<>"))
	msg.SetDate()
	for name, value := range m.Headers {
		// Canonical ("message-id" → "Message-Id"), so case cannot dodge the check.
		canon := textproto.CanonicalMIMEHeaderKey(name)
		if reserved[canon] {
			return nil, fmt.Errorf("header %s is set by Send", name)
		}
		if name == "" || strings.ContainsAny(name, ": \t\r\n") || strings.ContainsAny(value, "\r\n") {
			return nil, fmt.Errorf("header %q: malformed name or value", name)
		}
		msg.SetGenHeader(gomail.Header(canon), value)
	}
	// The text part first, the HTML last: clients show the last part they can.
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	return msg, nil
}

// Package smtptest runs a real SMTP server on a local address for tests, built
// on github.com/emersion/go-smtp, so code that sends mail is tested against the
// protocol rather than a fake: AUTH, STARTTLS, implicit TLS, refusals and a
// server that is down for a while.
package smtptest

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Option configures a Server started by Start.
type Option func(*options)

type options struct {
	user, password string
	startTLS       bool
	implicitTLS    bool
	host           string
}

// WithAuth makes the server offer AUTH PLAIN and refuse mail from a session
// that has not authenticated with this user and password.
func WithAuth(user, password string) Option {
	return func(o *options) { o.user, o.password = user, password }
}

// WithSTARTTLS makes the server offer STARTTLS with a self-signed certificate;
// Server.RootCAs trusts it.
func WithSTARTTLS() Option { return func(o *options) { o.startTLS = true } }

// WithImplicitTLS makes the server speak TLS from the first byte (smtps).
func WithImplicitTLS() Option { return func(o *options) { o.implicitTLS = true } }

// WithHost makes the server listen on host (an IP address of this machine)
// instead of 127.0.0.1, to stand for a remote mail server.
func WithHost(host string) Option { return func(o *options) { o.host = host } }

// Received is one message the server accepted.
type Received struct {
	From    string   // envelope sender (MAIL FROM)
	To      []string // envelope recipients (RCPT TO)
	Raw     []byte   // the message as transmitted
	User    string   // the authenticated user, "" without AUTH
	TLS     bool     // whether the session was encrypted
	Subject string   // decoded Subject header
	Text    string   // decoded text/plain part
	HTML    string   // decoded text/html part
	// Header is the parsed header; read it with Header.Get.
	Header Header
}

// Server is a running SMTP server. Its methods are safe for concurrent use.
type Server struct {
	// Addr is host:port; it stays the same across Stop and Restart.
	Addr string

	opts    options
	tlsConf *tls.Config
	roots   *x509.CertPool

	mu  sync.Mutex
	srv *smtp.Server
	// l is closed by Stop too: go-smtp only learns of it once Serve runs.
	l                       net.Listener
	received                []Received
	failN, failCode         int // FailNext
	failDataN, failDataCode int // FailNextData
	authTries               int
	sessions                int
	arrived                 chan struct{}
}

// Start starts a server on a free port and stops it when the test ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{arrived: make(chan struct{}, 1)}
	for _, o := range opts {
		o(&s.opts)
	}
	if s.opts.host == "" {
		s.opts.host = "127.0.0.1"
	}
	if s.opts.startTLS || s.opts.implicitTLS {
		cert, roots, err := selfSigned(s.opts.host)
		if err != nil {
			t.Fatalf("smtptest: certificate: %v", err)
		}
		s.tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		s.roots = roots
	}
	if err := s.listen(net.JoinHostPort(s.opts.host, "0")); err != nil {
		t.Fatalf("smtptest: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

// listen starts serving on addr and records the address actually bound.
func (s *Server) listen(addr string) error {
	var (
		l   net.Listener
		err error
	)
	if s.opts.implicitTLS {
		l, err = tls.Listen("tcp", addr, s.tlsConf)
	} else {
		l, err = net.Listen("tcp", addr)
	}
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = "smtptest.local"
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	srv.MaxMessageBytes = 10 << 20
	srv.ErrorLog = discardLogger{}
	if s.opts.startTLS {
		srv.TLSConfig = s.tlsConf
	}
	// Tests decide per case whether AUTH without TLS may happen; the server
	// accepts it so the client's own policy is what is tested.
	srv.AllowInsecureAuth = true

	s.mu.Lock()
	s.srv, s.l = srv, l
	s.Addr = l.Addr().String()
	s.mu.Unlock()
	go func() { _ = srv.Serve(l) }()
	return nil
}

// URL is the server's address as SMTP_URL would name it, without credentials.
func (s *Server) URL() string {
	scheme := "smtp"
	if s.opts.implicitTLS {
		scheme = "smtps"
	}
	return (&url.URL{Scheme: scheme, Host: s.Addr}).String()
}

// Port is the server's TCP port.
func (s *Server) Port() int {
	_, p, _ := net.SplitHostPort(s.Addr)
	n, _ := strconv.Atoi(p)
	return n
}

// RootCAs trusts the server's self-signed certificate (nil without TLS).
func (s *Server) RootCAs() *x509.CertPool { return s.roots }

// Messages returns a copy of the messages accepted so far, in order.
func (s *Server) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.received...)
}

// AuthAttempts is how many AUTH commands the server has received: a test
// proves that no credential was sent by finding zero.
func (s *Server) AuthAttempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.authTries
}

// Sessions is how many SMTP sessions (connections greeted) the server has had.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions
}

// WaitFor waits until at least n messages have arrived and returns them; the
// test fails if they have not arrived within 30 seconds.
func (s *Server) WaitFor(t testing.TB, n int) []Received {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		if got := s.Messages(); len(got) >= n {
			return got
		}
		select {
		case <-s.arrived:
		case <-time.After(50 * time.Millisecond): // another waiter may have taken the signal
		case <-deadline:
			t.Fatalf("smtptest: waited 30s for %d messages, have %d", n, len(s.Messages()))
		}
	}
}

// FailNext makes the server answer code (4xx: try again later, 5xx: never)
// to the recipient (RCPT TO) of the next n messages, which are then not
// accepted.
func (s *Server) FailNext(n, code int) {
	checkCode(code)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failN, s.failCode = n, code
}

// FailNextData makes the server answer code to the content of the next n
// messages, after receiving it (as a spam filter would), and not accept them.
func (s *Server) FailNextData(n, code int) {
	checkCode(code)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failDataN, s.failDataCode = n, code
}

func checkCode(code int) {
	if code < 400 || code > 599 {
		panic(fmt.Sprintf("smtptest: code %d is not a 4xx or 5xx reply", code))
	}
}

// Stop closes the listener and every open session: the mail server is down.
// Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	srv, l := s.srv, s.l
	s.srv, s.l = nil, nil
	s.mu.Unlock()
	if srv != nil {
		_ = l.Close()
		_ = srv.Close()
	}
}

// Restart listens again on the same address after Stop.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop()
	// The port was just released; retry briefly in case the kernel lags.
	var err error
	for range 50 {
		if err = s.listen(s.Addr); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("smtptest: restart: %v", err)
}

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	s.mu.Lock()
	s.sessions++
	s.mu.Unlock()
	return &session{srv: s, conn: c}, nil
}

// plannedFailure consumes one failure planned by FailNext (data false) or
// FailNextData (data true), if any.
func (s *Server) plannedFailure(data bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, code, by := &s.failN, s.failCode, "FailNext"
	if data {
		n, code, by = &s.failDataN, s.failDataCode, "FailNextData"
	}
	if *n == 0 {
		return nil
	}
	*n--
	return &smtp.SMTPError{
		Code:         code,
		EnhancedCode: smtp.EnhancedCode{code / 100, 0, 0},
		Message:      "smtptest: failure planned by " + by,
	}
}

func (s *Server) accept(r Received) {
	s.mu.Lock()
	s.received = append(s.received, r)
	s.mu.Unlock()
	select {
	case s.arrived <- struct{}{}:
	default:
	}
}

type session struct {
	srv  *Server
	conn *smtp.Conn
	user string
	from string
	to   []string
}

var errAuthRequired = &smtp.SMTPError{
	Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required",
}

func (ss *session) AuthMechanisms() []string {
	if ss.srv.opts.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	ss.srv.mu.Lock()
	ss.srv.authTries++
	ss.srv.mu.Unlock()
	if mech != sasl.Plain || ss.srv.opts.user == "" {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, user, password string) error {
		if user != ss.srv.opts.user || password != ss.srv.opts.password {
			return smtp.ErrAuthFailed
		}
		ss.user = user
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.srv.opts.user != "" && ss.user == "" {
		return errAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := ss.srv.plannedFailure(false); err != nil {
		return err
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("read message: %w", err)
	}
	if err := ss.srv.plannedFailure(true); err != nil {
		return err
	}
	_, tlsOn := ss.conn.TLSConnectionState()
	rec := Received{From: ss.from, To: ss.to, Raw: raw, User: ss.user, TLS: tlsOn}
	if err := parse(&rec); err != nil {
		// Keep the raw message: the test sees what was wrong with it.
		rec.Subject = "smtptest: unparsable message: " + err.Error()
	}
	ss.srv.accept(rec)
	return nil
}

func (ss *session) Reset() { ss.from, ss.to = "", nil }

func (ss *session) Logout() error { return nil }

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}
func (discardLogger) Println(...any)        {}

var _ smtp.AuthSession = (*session)(nil)

package mailer

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Config says where and how to deliver mail. ParseURL makes one from
// SMTP_URL, SMTP_USER and SMTP_PASSWORD.
type Config struct {
	Host string
	Port int
	// ImplicitTLS is smtps://: TLS from the first byte. Otherwise the
	// connection is upgraded with STARTTLS, which is required unless Host is
	// a loopback address.
	ImplicitTLS bool
	// Username and Password, when set, are sent with AUTH, only ever over TLS
	// or to a loopback host.
	Username string
	Password string
	// RootCAs verifies the server's certificate; nil means the system's roots.
	// Tests set it to trust their server's self-signed certificate.
	RootCAs *x509.CertPool
	// Timeout bounds connecting and each SMTP command; 0 means 30 seconds.
	Timeout time.Duration
}

// String names the server as a URL without the password, for logs.
func (c Config) String() string {
	u := url.URL{Scheme: "smtp", Host: net.JoinHostPort(c.Host, strconv.Itoa(c.Port))}
	if c.ImplicitTLS {
		u.Scheme = "smtps"
	}
	if c.Username != "" {
		u.User = url.User(c.Username)
	}
	return u.String()
}

// Default ports: submission with STARTTLS (RFC 6409) and submissions with
// implicit TLS (RFC 8314).
const (
	defaultSMTPPort  = 587
	defaultSMTPSPort = 465
)

const urlForm = "expected smtp://[user:password@]host[:port] or smtps://[user:password@]host[:port]"

// ParseURL reads SMTP_URL together with SMTP_USER (user) and SMTP_PASSWORD
// (password). The credentials may be given in the URL's userinfo
// (percent-encoded) or in the two variables; when both name them they must
// agree, so a stale variable cannot silently override the URL or the reverse.
// A user needs a password and a password needs a user. Errors never repeat a
// password.
func ParseURL(raw, user, password string) (Config, error) {
	if strings.TrimSpace(raw) == "" {
		return Config{}, fmt.Errorf("SMTP_URL is empty (%s)", urlForm)
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the whole URL, password included: say less.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return Config{}, fmt.Errorf("SMTP_URL is not a valid URL (%s): %w", urlForm, err)
	}
	var c Config
	switch u.Scheme {
	case "smtp":
		c.Port = defaultSMTPPort
	case "smtps":
		c.ImplicitTLS = true
		c.Port = defaultSMTPSPort
	case "":
		return Config{}, fmt.Errorf("SMTP_URL has no scheme (%s)", urlForm)
	default:
		return Config{}, fmt.Errorf("SMTP_URL scheme %q is not supported (%s)", u.Scheme, urlForm)
	}
	if u.Opaque != "" {
		return Config{}, fmt.Errorf("SMTP_URL must start with %s:// (%s)", u.Scheme, urlForm)
	}
	c.Host = u.Hostname()
	if c.Host == "" {
		return Config{}, fmt.Errorf("SMTP_URL has no host (%s)", urlForm)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return Config{}, fmt.Errorf("SMTP_URL port %q is not a port number from 1 to 65535", p)
		}
		c.Port = n
	} else if strings.HasSuffix(u.Host, ":") {
		return Config{}, fmt.Errorf("SMTP_URL has an empty port (%s)", urlForm)
	}
	if u.Path != "" && u.Path != "/" {
		return Config{}, fmt.Errorf("SMTP_URL has a path %q; it names only a server (%s)", u.Path, urlForm)
	}
	if u.RawQuery != "" || u.ForceQuery {
		return Config{}, fmt.Errorf("SMTP_URL has a query; settings are not read from it (%s)", urlForm)
	}
	if u.Fragment != "" {
		return Config{}, fmt.Errorf("SMTP_URL has a fragment (%s)", urlForm)
	}

	var urlUser, urlPassword string
	if u.User != nil {
		urlUser = u.User.Username()
		urlPassword, _ = u.User.Password()
	}
	if c.Username, err = pick("user", urlUser, "SMTP_USER", user, true); err != nil {
		return Config{}, err
	}
	if c.Password, err = pick("password", urlPassword, "SMTP_PASSWORD", password, false); err != nil {
		return Config{}, err
	}
	switch {
	case c.Username != "" && c.Password == "":
		return Config{}, errors.New("SMTP_URL or SMTP_USER names a user but no password is set (in SMTP_URL or SMTP_PASSWORD)")
	case c.Username == "" && c.Password != "":
		return Config{}, errors.New("a password is set (in SMTP_URL or SMTP_PASSWORD) but no user (in SMTP_URL or SMTP_USER)")
	}
	return c, nil
}

// pick merges one credential given in the URL and in its own variable.
func pick(what, fromURL, name, fromVar string, show bool) (string, error) {
	if fromURL != "" && fromVar != "" && fromURL != fromVar {
		if show {
			return "", fmt.Errorf("SMTP_URL names %s %q but %s is %q: set it in one place", what, fromURL, name, fromVar)
		}
		return "", fmt.Errorf("SMTP_URL and %s give different passwords: set it in one place", name)
	}
	if fromURL != "" {
		return fromURL, nil
	}
	return fromVar, nil
}

// ParseFrom reads MAIL_FROM, the sender of every message: "Shop <shop@example.com>"
// or "shop@example.com".
func ParseFrom(raw string) (*mail.Address, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, errors.New(`MAIL_FROM is empty (expected "Name <address@domain>" or "address@domain")`)
	}
	a, err := mail.ParseAddress(raw)
	if err != nil {
		return nil, fmt.Errorf(`MAIL_FROM %q is not an address (expected "Name <address@domain>" or "address@domain"): %w`, raw, err)
	}
	if _, err := domainOf(a.Address); err != nil {
		return nil, fmt.Errorf("MAIL_FROM %q: %w", raw, err)
	}
	return a, nil
}

// domainOf is the part of an address after the last @.
func domainOf(addr string) (string, error) {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 || i == len(addr)-1 {
		return "", fmt.Errorf("address %q has no domain", addr)
	}
	d := addr[i+1:]
	if strings.HasPrefix(d, "[") || !strings.Contains(d, ".") && d != "localhost" {
		return "", fmt.Errorf("address %q: domain %q is not a fully qualified name", addr, d)
	}
	return d, nil
}

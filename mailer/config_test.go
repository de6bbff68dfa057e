package mailer

import (
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	good := []struct {
		raw, user, password string
		want                Config
	}{
		{"smtp://mail.example.com", "", "", Config{Host: "mail.example.com", Port: 587}},
		{"smtp://mail.example.com:25", "", "", Config{Host: "mail.example.com", Port: 25}},
		{"smtp://mail.example.com/", "", "", Config{Host: "mail.example.com", Port: 587}},
		{"smtps://mail.example.com", "", "", Config{Host: "mail.example.com", Port: 465, ImplicitTLS: true}},
		{"smtps://mail.example.com:2465", "", "", Config{Host: "mail.example.com", Port: 2465, ImplicitTLS: true}},
		{"smtp://[::1]:1025", "", "", Config{Host: "::1", Port: 1025}},
		{"smtp://127.0.0.1:1025", "", "", Config{Host: "127.0.0.1", Port: 1025}},
		{"smtp://apikey:s%40cr%2Ft%3A@mail.example.com", "", "", Config{Host: "mail.example.com", Port: 587, Username: "apikey", Password: "s@cr/t:"}},
		{"smtp://shop%40example.com:pw@mail.example.com", "", "", Config{Host: "mail.example.com", Port: 587, Username: "shop@example.com", Password: "pw"}},
		{"smtp://mail.example.com", "apikey", "pw", Config{Host: "mail.example.com", Port: 587, Username: "apikey", Password: "pw"}},
		{"smtp://apikey@mail.example.com", "", "pw", Config{Host: "mail.example.com", Port: 587, Username: "apikey", Password: "pw"}},
		{"smtp://apikey:pw@mail.example.com", "apikey", "pw", Config{Host: "mail.example.com", Port: 587, Username: "apikey", Password: "pw"}},
	}
	for _, tc := range good {
		got, err := ParseURL(tc.raw, tc.user, tc.password)
		if err != nil {
			t.Errorf("ParseURL(%q, %q, …): %v", tc.raw, tc.user, err)
			continue
		}
		if got != tc.want {
			t.Errorf("ParseURL(%q, %q, …) = %+v, want %+v", tc.raw, tc.user, got, tc.want)
		}
	}

	bad := []struct{ raw, user, password, want string }{
		{"", "", "", "SMTP_URL is empty"},
		{"mail.example.com:587", "", "", "SMTP_URL scheme \"mail.example.com\" is not supported"},
		{"mail.example.com", "", "", "SMTP_URL has no scheme"},
		{"http://mail.example.com", "", "", `SMTP_URL scheme "http" is not supported`},
		{"smtp+starttls://mail.example.com", "", "", `scheme "smtp+starttls" is not supported`},
		{"smtp:mail.example.com", "", "", "SMTP_URL must start with smtp://"},
		{"smtp://", "", "", "SMTP_URL has no host"},
		{"smtp://:587", "", "", "SMTP_URL has no host"},
		{"smtp://mail.example.com:", "", "", "SMTP_URL has an empty port"},
		{"smtp://mail.example.com:0", "", "", `SMTP_URL port "0" is not a port number`},
		{"smtp://mail.example.com:70000", "", "", `SMTP_URL port "70000" is not a port number`},
		{"smtp://mail.example.com:smtp", "", "", "SMTP_URL is not a valid URL"},
		{"smtp://mail.example.com/relay", "", "", `SMTP_URL has a path "/relay"`},
		{"smtp://mail.example.com?tls=off", "", "", "SMTP_URL has a query"},
		{"smtp://mail.example.com#x", "", "", "SMTP_URL has a fragment"},
		{"smtp://apikey@mail.example.com", "", "", "names a user but no password"},
		{"smtp://:pw@mail.example.com", "", "", "no user"},
		{"smtp://mail.example.com", "apikey", "", "names a user but no password"},
		{"smtp://mail.example.com", "", "pw", "no user"},
		{"smtp://apikey:pw@mail.example.com", "other", "", `SMTP_URL names user "apikey" but SMTP_USER is "other"`},
		{"smtp://apikey:hunter2@mail.example.com", "", "different", "SMTP_URL and SMTP_PASSWORD give different passwords"},
	}
	for _, tc := range bad {
		_, err := ParseURL(tc.raw, tc.user, tc.password)
		if err == nil {
			t.Errorf("ParseURL(%q, %q, …) accepted it, want an error containing %q", tc.raw, tc.user, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseURL(%q, %q, …) error %q, want it to contain %q", tc.raw, tc.user, err, tc.want)
		}
		if !strings.Contains(err.Error(), "SMTP_") {
			t.Errorf("ParseURL(%q) error %q does not name the variable", tc.raw, err)
		}
	}
}

func TestParseURLNeverRepeatsThePassword(t *testing.T) {
	for _, raw := range []string{
		"smtp://u:hunter2@mail.example.com:bad",
		"smtp://u:hunter2@mail.example.com/path",
		"smtp://u:hunter2@mail.example.com%zz",
		"smtp://u:hunter2@mail.example.com",
	} {
		cfg, err := ParseURL(raw, "", "other-secret")
		if err == nil {
			t.Errorf("ParseURL(%q) accepted conflicting passwords", raw)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "other-secret") {
			t.Errorf("ParseURL error repeats a password: %q", err)
		}
		if strings.Contains(cfg.String(), "hunter2") {
			t.Errorf("Config.String repeats the password: %q", cfg.String())
		}
	}
	cfg, err := ParseURL("smtps://u:hunter2@mail.example.com", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if s := cfg.String(); s != "smtps://u@mail.example.com:465" {
		t.Errorf("Config.String() = %q, want smtps://u@mail.example.com:465", s)
	}
}

func TestParseFrom(t *testing.T) {
	good := map[string][2]string{
		"shop@roesterei.example":                             {"", "shop@roesterei.example"},
		"Kaffeerösterei Nord <shop@roesterei.example>":       {"Kaffeerösterei Nord", "shop@roesterei.example"},
		`"Nord, Kaffee & Co." <shop@roesterei.example>`:      {"Nord, Kaffee & Co.", "shop@roesterei.example"},
		"=?utf-8?q?R=C3=B6sterei?= <shop@roesterei.example>": {"Rösterei", "shop@roesterei.example"},
		"dev@localhost": {"", "dev@localhost"},
	}
	for raw, want := range good {
		a, err := ParseFrom(raw)
		if err != nil {
			t.Errorf("ParseFrom(%q): %v", raw, err)
			continue
		}
		if a.Name != want[0] || a.Address != want[1] {
			t.Errorf("ParseFrom(%q) = %q <%s>, want %q <%s>", raw, a.Name, a.Address, want[0], want[1])
		}
	}

	bad := map[string]string{
		"":                                 "MAIL_FROM is empty",
		"  ":                               "MAIL_FROM is empty",
		"shop":                             `MAIL_FROM "shop" is not an address`,
		"Shop <shop>":                      `MAIL_FROM "Shop <shop>" is not an address`,
		"a@roesterei.example, b@x.example": "is not an address",
		"shop@roesterei":                   `domain "roesterei" is not a fully qualified name`,
		"Shop <shop@roesterei.example":     "is not an address",
		"shop@[192.0.2.1]":                 "is not a fully qualified name",
	}
	for raw, want := range bad {
		_, err := ParseFrom(raw)
		if err == nil {
			t.Errorf("ParseFrom(%q) accepted it, want an error containing %q", raw, want)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("ParseFrom(%q) error %q, want it to contain %q", raw, err, want)
		}
	}
}

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LOCALHOST": true, "127.0.0.1": true, "127.8.9.10": true, "::1": true,
		"192.0.2.2": false, "mail.example.com": false, "localhost.example.com": false,
		"::ffff:127.0.0.1": true, "0.0.0.0": false, "": false,
	} {
		if got := IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}

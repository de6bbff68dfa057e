package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"example.com/storefront/payments"
)

func envFrom(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestConfigDefaults(t *testing.T) {
	c, err := loadConfig(envFrom(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := payments.Plan{Name: "Coffee Club", Price: payments.Money{Amount: 1200, Currency: "USD"}, Interval: payments.Month}
	if c.Addr != "localhost:8080" || c.DataDir != "./data" || c.BaseURL != "" || c.SessionKeys != nil ||
		c.StripeSecretKey != "" || c.Plan != want || c.Merchant == "" || c.LogLevel != "info" || c.WorkerInFlight != 8 {
		t.Fatalf("defaults = %+v", c)
	}
}

func TestConfigValues(t *testing.T) {
	c, err := loadConfig(envFrom(map[string]string{
		"ADDR": ":9000", "BASE_URL": "https://shop.example.com/", "DATA_DIR": "/tmp/x",
		"SESSION_KEYS":      strings.Repeat("ab", 32) + ", " + strings.Repeat("cd", 40),
		"STRIPE_SECRET_KEY": "sk_test_123", "STRIPE_WEBHOOK_SECRET": "whsec_abc", "STRIPE_API_URL": "http://127.0.0.1:12111",
		"MERCHANT_NAME": "Acme", "PLAN_NAME": "Gold", "PLAN_AMOUNT": "999", "PLAN_CURRENCY": "eur", "PLAN_INTERVAL": "Year",
		"LOG_LEVEL": "DEBUG", "PPRO_API_TOKEN": "key_sandbox_1", "PPRO_MERCHANT_ID": "merch_1",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseURL != "https://shop.example.com" || len(c.SessionKeys) != 2 || len(c.SessionKeys[1]) != 40 ||
		c.Plan.Price != (payments.Money{Amount: 999, Currency: "EUR"}) || c.Plan.Interval != payments.Year || c.LogLevel != "debug" ||
		c.PPROAPIURL != "https://api.sandbox.eu.ppro.com" {
		t.Fatalf("config = %+v", c)
	}
	// Mail goes from the merchant by default.
	if c.MailFrom != `"Acme" <support@acme.example>` || c.SMTP != nil || c.MailDisputes {
		t.Fatalf("mail config = %q %v %v", c.MailFrom, c.SMTP, c.MailDisputes)
	}
	c, err = loadConfig(envFrom(map[string]string{"SMTP_URL": "smtps://shop:s3cret@mail.example", "MAIL_FROM": "Shop <shop@acme.example>",
		"MAIL_DISPUTES": "On"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.SMTP == nil || c.SMTP.String() != "smtps://shop@mail.example:465" || c.MailFrom != "Shop <shop@acme.example>" || !c.MailDisputes {
		t.Fatalf("mail config = %v %q %v", c.SMTP, c.MailFrom, c.MailDisputes)
	}
}

func TestConfigErrorsNameTheVariable(t *testing.T) {
	for _, tc := range []struct {
		env     map[string]string
		varName string
	}{
		{map[string]string{"ADDR": "8080"}, "ADDR"},
		{map[string]string{"BASE_URL": "localhost:8080"}, "BASE_URL"},
		{map[string]string{"BASE_URL": "ftp://x"}, "BASE_URL"},
		{map[string]string{"BASE_URL": "https://x.example/shop"}, "BASE_URL"},
		{map[string]string{"SESSION_KEYS": "short"}, "SESSION_KEYS"},
		{map[string]string{"SESSION_KEYS": strings.Repeat("ab", 32) + ",zz"}, "SESSION_KEYS"},
		{map[string]string{"STRIPE_SECRET_KEY": "pk_test_123"}, "STRIPE_SECRET_KEY"},
		{map[string]string{"STRIPE_SECRET_KEY": "sk_test_1", "STRIPE_WEBHOOK_SECRET": "secret"}, "STRIPE_WEBHOOK_SECRET"},
		{map[string]string{"STRIPE_WEBHOOK_SECRET": "whsec_1"}, "STRIPE_WEBHOOK_SECRET"},
		{map[string]string{"STRIPE_API_URL": "http://127.0.0.1:1"}, "STRIPE_API_URL"},
		{map[string]string{"STRIPE_SECRET_KEY": "sk_test_1", "STRIPE_API_URL": "not a url"}, "STRIPE_API_URL"},
		{map[string]string{"MERCHANT_NAME": strings.Repeat("m", 101)}, "MERCHANT_NAME"},
		{map[string]string{"PLAN_NAME": strings.Repeat("p", 101)}, "PLAN_NAME"},
		{map[string]string{"PLAN_AMOUNT": "12.00"}, "PLAN_AMOUNT"},
		{map[string]string{"PLAN_AMOUNT": "0"}, "PLAN_AMOUNT"},
		{map[string]string{"PLAN_AMOUNT": "-5"}, "PLAN_AMOUNT"},
		{map[string]string{"PLAN_CURRENCY": "XYZ"}, "PLAN_CURRENCY"},
		{map[string]string{"PLAN_INTERVAL": "fortnight"}, "PLAN_INTERVAL"},
		{map[string]string{"LOG_LEVEL": "loud"}, "LOG_LEVEL"},
		{map[string]string{"PPRO_API_TOKEN": "key_sandbox_1"}, "PPRO_MERCHANT_ID"},
		{map[string]string{"PPRO_MERCHANT_ID": "merch_1"}, "PPRO_API_TOKEN"},
		{map[string]string{"PPRO_API_URL": "https://api.sandbox.eu.ppro.com"}, "PPRO_API_URL"},
		{map[string]string{"PPRO_API_TOKEN": "k", "PPRO_MERCHANT_ID": "m", "PPRO_API_URL": "api.ppro.com"}, "PPRO_API_URL"},
		{map[string]string{"SMTP_URL": "http://mail.example"}, "SMTP_URL"},
		{map[string]string{"SMTP_URL": "smtp://shop@mail.example"}, "SMTP_URL"},
		{map[string]string{"SMTP_USER": "shop", "SMTP_PASSWORD": "secret"}, "SMTP_URL"},
		{map[string]string{"MAIL_FROM": "the shop"}, "MAIL_FROM"},
		{map[string]string{"MAIL_DISPUTES": "yes"}, "MAIL_DISPUTES"},
		{map[string]string{"WORKER_IN_FLIGHT": "0"}, "WORKER_IN_FLIGHT"},
		{map[string]string{"WORKER_IN_FLIGHT": "many"}, "WORKER_IN_FLIGHT"},
	} {
		_, err := loadConfig(envFrom(tc.env))
		if err == nil {
			t.Errorf("%v: accepted", tc.env)
			continue
		}
		if !strings.HasPrefix(err.Error(), tc.varName+": ") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: error %q does not start by naming %s on one line", tc.env, err, tc.varName)
		}
	}
}

func TestDotEnv(t *testing.T) {
	file := filepath.Join(t.TempDir(), ".env")
	os.WriteFile(file, []byte("# comment\nPLAN_NAME=\"Tea Club\"\nexport PLAN_AMOUNT=500 # five dollars\n\nMERCHANT_NAME='Acme Tea'\nADDR=:1\n"), 0o600)
	getenv, err := withDotEnv(envFrom(map[string]string{"ADDR": ":2"}), file)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"PLAN_NAME": "Tea Club", "PLAN_AMOUNT": "500", "MERCHANT_NAME": "Acme Tea", "ADDR": ":2", "OTHER": ""} {
		if got := getenv(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	os.WriteFile(file, []byte("JUST A LINE\n"), 0o600)
	if _, err := withDotEnv(envFrom(nil), file); err == nil || !strings.Contains(err.Error(), ":1:") {
		t.Errorf("bad line: err = %v, want one naming the line", err)
	}
	if _, err := withDotEnv(envFrom(nil), filepath.Join(t.TempDir(), "missing")); err != nil {
		t.Errorf("a missing .env is not an error: %v", err)
	}
}

// .env.example is what newcomers copy: it must load as it is.
func TestEnvExampleLoads(t *testing.T) {
	getenv, err := withDotEnv(envFrom(nil), ".env.example")
	if err != nil {
		t.Fatal(err)
	}
	c, err := loadConfig(getenv)
	if err != nil {
		t.Fatal(err)
	}
	if c.Plan.Price.Amount != 1200 || c.Plan.Interval != payments.Month || c.Merchant != "Northwind Coffee Roasters" {
		t.Errorf("config from .env.example = %+v", c)
	}
}

// Every variable config.go reads is in .env.example and in the README's table.
func TestEveryVariableIsDocumented(t *testing.T) {
	src, err := os.ReadFile("config.go")
	if err != nil {
		t.Fatal(err)
	}
	example, _ := os.ReadFile(".env.example")
	readme, _ := os.ReadFile("README.md")
	names := regexp.MustCompile(`(?:env|durationVar)\((?:env, )?"([A-Z_]+)"`).FindAllStringSubmatch(string(src), -1)
	if len(names) < 16 {
		t.Fatalf("found %d variables in config.go; has the way it reads them changed?", len(names))
	}
	for _, m := range names {
		if !strings.Contains(string(example), m[1]+"=") {
			t.Errorf(".env.example lacks %s", m[1])
		}
		if !strings.Contains(string(readme), "| `"+m[1]+"` |") {
			t.Errorf("the README's configuration table lacks %s", m[1])
		}
	}
}

package payments

import (
	"strings"
	"testing"
)

func TestMoneyString(t *testing.T) {
	for _, tc := range []struct {
		m    Money
		want string
	}{
		{Money{1200, "USD"}, "12.00 USD"},
		{Money{5, "USD"}, "0.05 USD"},
		{Money{50, "EUR"}, "0.50 EUR"},
		{Money{2000000, "USD"}, "20000.00 USD"},
		{Money{1200, "JPY"}, "1200 JPY"},
		{Money{-150, "GBP"}, "-1.50 GBP"},
		{Money{7, "XXX"}, "7 (minor units) XXX"},
	} {
		if got := tc.m.String(); got != tc.want {
			t.Errorf("%#v.String() = %q, want %q", tc.m, got, tc.want)
		}
	}
}

// Amazon Pay's presentment currencies through Stripe (stripe-api.md §1).
func TestCurrencies(t *testing.T) {
	if got, want := strings.Join(Currencies(), " "), "AUD CHF DKK EUR GBP HKD JPY NOK NZD SEK USD ZAR"; got != want {
		t.Errorf("Currencies() = %s, want %s", got, want)
	}
	if KnownCurrency("usd") {
		t.Error("lower-case codes must not be accepted")
	}
}

func TestParseAmount(t *testing.T) {
	for _, tc := range []struct {
		in, cur string
		want    int64
		ok      bool
	}{
		{"12", "USD", 1200, true},
		{"12.5", "USD", 1250, true},
		{" 0.07 ", "USD", 7, true},
		{"1500", "JPY", 1500, true},
		{"12.505", "USD", 0, false},
		{"12.", "USD", 0, false},
		{"-1", "USD", 0, false},
		{"1e3", "USD", 0, false},
		{"1,200", "USD", 0, false},
		{"", "USD", 0, false},
		{"15.5", "JPY", 0, false},
		{"12", "XXX", 0, false},
		{"9999999999999", "USD", 0, false},
	} {
		got, err := ParseAmount(tc.in, tc.cur)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseAmount(%q, %s) = %d, %v", tc.in, tc.cur, got, err)
		}
	}
	if got := (Money{Amount: 1250, Currency: "USD"}).Major(); got != "12.50" {
		t.Errorf("Major = %q", got)
	}
}

// Stripe's limits are its own per currency (docs.stripe.com/currencies):
// one minimum for all would let Stripe refuse 0.40 GBP's neighbours and
// 2.00 DKK, or refuse 0.30 GBP that Stripe takes.
func TestStripeLimits(t *testing.T) {
	for _, tc := range []struct {
		m    Money
		want string // "" when Stripe takes it; else a word of the reason
	}{
		{Money{50, "USD"}, ""},
		{Money{49, "USD"}, "at least 0.50 USD"},
		{Money{99_999_999, "USD"}, ""},
		{Money{100_000_000, "USD"}, "at most 999999.99 USD"},
		{Money{30, "GBP"}, ""},
		{Money{29, "GBP"}, "at least 0.30 GBP"},
		{Money{249, "DKK"}, "at least 2.50 DKK"},
		{Money{250, "DKK"}, ""},
		{Money{399, "HKD"}, "at least 4.00 HKD"},
		{Money{299, "NOK"}, "at least 3.00 NOK"},
		{Money{299, "SEK"}, "at least 3.00 SEK"},
		{Money{50, "JPY"}, ""},
		{Money{49, "JPY"}, "at least 50 JPY"},
		{Money{50, "EUR"}, ""},
	} {
		l, ok := StripeLimits(tc.m.Currency)
		if !ok {
			t.Fatalf("no Stripe limits for %s", tc.m.Currency)
		}
		err := l.Check("Stripe", tc.m)
		if (err == nil) != (tc.want == "") || err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.m, err, tc.want)
		}
	}
	for _, c := range Currencies() {
		if _, ok := StripeLimits(c); !ok {
			t.Errorf("no Stripe limits for %s, a currency Amazon Pay is taken in", c)
		}
	}
}

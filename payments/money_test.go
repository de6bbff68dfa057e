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

package payments

import "testing"

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

func TestCurrenciesAreKnown(t *testing.T) {
	for _, c := range Currencies() {
		if !KnownCurrency(c) {
			t.Errorf("Currencies() lists %s but KnownCurrency(%s) is false", c, c)
		}
	}
	if len(Currencies()) != len(currencyExponents) {
		t.Errorf("Currencies() has %d codes, the exponent table %d", len(Currencies()), len(currencyExponents))
	}
	if KnownCurrency("usd") {
		t.Error("lower-case codes must not be accepted")
	}
}

package payments

import "testing"

// FuzzParseAmount sends arbitrary text through the parsing of the amounts
// the merchant types into the dashboard's charge and refund forms. An
// accepted amount is never negative and reads back as itself.
func FuzzParseAmount(f *testing.F) {
	for _, seed := range []string{"12", "12.5", "12.50", " 0.07 ", "1500", "12.505", "-1", "1e3", "1,200", "", "٣", "0x10", "+1", "99999999999.99"} {
		f.Add(seed, "USD")
	}
	f.Add("1500", "JPY")
	f.Add("15.5", "JPY")
	f.Add("12", "XXX")
	f.Fuzz(func(t *testing.T, s, currency string) {
		n, err := ParseAmount(s, currency)
		if err != nil {
			return
		}
		if n < 0 {
			t.Fatalf("ParseAmount(%q, %s) = %d", s, currency, n)
		}
		back, err := ParseAmount(Money{Amount: n, Currency: currency}.Major(), currency)
		if err != nil || back != n {
			t.Fatalf("%q → %d → %q → %d, %v", s, n, Money{Amount: n, Currency: currency}.Major(), back, err)
		}
	})
}

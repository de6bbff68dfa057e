package payments

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Money is an amount in the currency's minor units (cents for USD).
type Money struct {
	Amount   int64
	Currency string // ISO 4217, upper case
}

// currencyExponents lists the currencies Amazon Pay accepts through Stripe
// (reference/stripe-api.md §1) with their ISO 4217 minor-unit exponent.
var currencyExponents = map[string]int{
	"AUD": 2, "CHF": 2, "DKK": 2, "EUR": 2, "GBP": 2, "HKD": 2,
	"JPY": 0, "NOK": 2, "NZD": 2, "SEK": 2, "USD": 2, "ZAR": 2,
}

// Currencies returns the supported currency codes, sorted.
func Currencies() []string {
	return slices.Sorted(maps.Keys(currencyExponents))
}

// KnownCurrency reports whether code is a supported currency.
func KnownCurrency(code string) bool {
	_, ok := currencyExponents[code]
	return ok
}

// String formats m as "12.00 USD".
func (m Money) String() string {
	exp, ok := currencyExponents[m.Currency]
	if !ok {
		return fmt.Sprintf("%d (minor units) %s", m.Amount, m.Currency)
	}
	neg := m.Amount < 0
	a := m.Amount
	if neg {
		a = -a
	}
	s := strconv.FormatInt(a, 10)
	if exp > 0 {
		if len(s) <= exp {
			s = strings.Repeat("0", exp-len(s)+1) + s
		}
		s = s[:len(s)-exp] + "." + s[len(s)-exp:]
	}
	if neg {
		s = "-" + s
	}
	return s + " " + m.Currency
}

// Plan is what the shopper subscribes to: a price charged once per interval.
type Plan struct {
	Name     string
	Price    Money
	Interval Interval
}

// Interval is how often a plan is charged.
type Interval string

const (
	Day   Interval = "day"
	Week  Interval = "week"
	Month Interval = "month"
	Year  Interval = "year"
)

// Valid reports whether i is a supported interval.
func (i Interval) Valid() bool {
	switch i {
	case Day, Week, Month, Year:
		return true
	}
	return false
}

// Adverb is "daily", "weekly", "monthly" or "yearly".
func (i Interval) Adverb() string {
	if i == Day {
		return "daily"
	}
	return string(i) + "ly"
}

// ParseAmount reads an amount typed in major units ("12", "12.5",
// "12.50") in currency's minor units (1250 for USD). More decimals than the
// currency has, signs, exponents and separators are refused.
func ParseAmount(s, currency string) (int64, error) {
	exp, ok := currencyExponents[currency]
	if !ok {
		return 0, fmt.Errorf("unknown currency %q", currency)
	}
	s = strings.TrimSpace(s)
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" || len(whole) > 12 || strings.Trim(whole, "0123456789") != "" ||
		strings.Trim(frac, "0123456789") != "" || (hasDot && (frac == "" || len(frac) > exp)) {
		if exp == 0 {
			return 0, fmt.Errorf("%q is not a whole amount of %s", s, currency)
		}
		return 0, fmt.Errorf("%q is not an amount such as 12.50", s)
	}
	frac += strings.Repeat("0", exp-len(frac))
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n, nil
}

// Major formats m's amount in major units without the currency ("12.50"),
// as a form field shows it.
func (m Money) Major() string {
	s := m.String()
	if i := strings.LastIndexByte(s, ' '); i > 0 {
		return s[:i]
	}
	return s
}

// Limits are the smallest and the largest amount, in minor units, that a
// provider takes in one payment.
type Limits struct{ Min, Max int64 }

// stripeLimits are Stripe's charge limits for the currencies it takes
// Amazon Pay in. Minimums: Stripe's table "Minimum and maximum charge
// amounts" (https://docs.stripe.com/currencies#minimum-and-maximum-charge-amounts);
// ZAR is not in it, and the API reference's rule ("$0.50 US or equivalent
// in charge currency") gives about R10.00. Maximum: "the amount value
// supports up to eight digits", 99999999 minor units (999,999.99 USD).
var stripeLimits = map[string]Limits{
	"AUD": {50, stripeMax}, "CHF": {50, stripeMax}, "DKK": {250, stripeMax}, "EUR": {50, stripeMax},
	"GBP": {30, stripeMax}, "HKD": {400, stripeMax}, "JPY": {50, stripeMax}, "NOK": {300, stripeMax},
	"NZD": {50, stripeMax}, "SEK": {300, stripeMax}, "USD": {50, stripeMax}, "ZAR": {1000, stripeMax},
}

const stripeMax = 99_999_999

// StripeLimits are Stripe's limits for one charge in currency; ok is false
// for a currency it does not take Amazon Pay in.
func StripeLimits(currency string) (l Limits, ok bool) {
	l, ok = stripeLimits[currency]
	return l, ok
}

// Check says, in words a merchant or a shopper can read, why m is outside
// the limits, or returns nil. who names the provider ("Stripe").
func (l Limits) Check(who string, m Money) error {
	switch {
	case m.Amount < l.Min:
		return &IneligibleError{Field: "price", Reason: fmt.Sprintf("%s takes at least %s in one payment, and this is %s.",
			who, Money{Amount: l.Min, Currency: m.Currency}, m)}
	case m.Amount > l.Max:
		return &IneligibleError{Field: "price", Reason: fmt.Sprintf("%s takes at most %s in one payment, and this is %s.",
			who, Money{Amount: l.Max, Currency: m.Currency}, m)}
	}
	return nil
}

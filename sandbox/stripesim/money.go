package stripesim

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Money rules of the sandbox account: which currencies it charges in,
// Stripe's minimum charge amounts, and the account's country and default
// currency.

// amazonPayCurrencies are Amazon Pay's presentment currencies on Stripe;
// with dynamic payment methods (no payment_method_types), Checkout and
// PaymentIntents offer Amazon Pay only for these.
var amazonPayCurrencies = []string{"usd", "aud", "gbp", "dkk", "eur", "hkd", "jpy", "nzd", "nok", "zar", "sek", "chf"}

// amazonPayCountries are the business locations where Stripe offers
// Amazon Pay; the sandbox account has Amazon Pay activated, so it must be
// in one of them.
var amazonPayCountries = []string{"AT", "BE", "CH", "CY", "DE", "DK", "ES", "FR", "GB", "HU", "IE", "IT", "LU", "NL", "PT", "SE", "US"}

// DefaultAccountCountry is the sandbox account's country when none is
// configured.
const DefaultAccountCountry = "US"

// accountCurrency is the default (settlement) currency of an account in
// country.
func accountCurrency(country string) string {
	switch country {
	case "US":
		return "usd"
	case "GB":
		return "gbp"
	case "CH":
		return "chf"
	case "DK":
		return "dkk"
	case "SE":
		return "sek"
	case "HU":
		return "huf"
	}
	return "eur" // the other Amazon Pay countries are in the euro area
}

// chargeMinimums are Stripe's minimum charge amounts, in minor units, for
// the currencies the sandbox charges in, from Stripe's table "Minimum and
// maximum charge amounts" (https://docs.stripe.com/currencies#minimum-and-maximum-charge-amounts,
// by settlement currency: USD 0.50, GBP 0.30, DKK 2.50, HKD 4.00, JPY 50,
// NOK 3.00, SEK 3.00, …). Stripe applies them after converting to the account's
// settlement currency; the sandbox has no exchange rates and applies each
// currency's own minimum. ZAR is not in Stripe's table: Stripe converts
// its settlement currency's minimum instead, and the sandbox uses
// 10.00 ZAR, about 0.50 USD.
var chargeMinimums = map[string]int64{
	"usd": 50, "aud": 50, "chf": 50, "dkk": 250, "eur": 50, "gbp": 30,
	"hkd": 400, "jpy": 50, "nok": 300, "nzd": 50, "sek": 300, "zar": 1000,
}

// chargeMaximum is Stripe's largest amount: "The amount value supports up
// to eight digits (e.g., a value of 99999999 for a USD charge of
// $999,999.99)", from the same page; Stripe refuses more with
// amount_too_large.
const chargeMaximum = 99999999

// zeroDecimal lists the zero-decimal currencies among those above.
var zeroDecimal = []string{"jpy"}

// formatAmount writes an amount as Stripe's error messages do: "$0.50"
// for usd, with the symbol where the currency has a well-known one and the
// code otherwise ("3.00 sek").
func formatAmount(amount int64, currency string) string {
	var digits string
	if slices.Contains(zeroDecimal, currency) {
		digits = strconv.FormatInt(amount, 10)
	} else {
		sign := ""
		if amount < 0 {
			sign, amount = "-", -amount
		}
		digits = fmt.Sprintf("%s%d.%02d", sign, amount/100, amount%100)
	}
	switch currency {
	case "usd", "aud", "hkd", "nzd":
		return "$" + digits
	case "eur":
		return "€" + digits
	case "gbp":
		return "£" + digits
	case "jpy":
		return "¥" + digits
	}
	return digits + " " + currency
}

// checkChargeCurrency refuses a currency the sandbox account cannot charge
// with a payment method of type pmType: Amazon Pay has its list of
// currencies, and a US account charges Amazon Pay in usd only (Stripe:
// payments may be in any supported currency "with the exception of the
// US"). Cards take far more currencies on Stripe than the sandbox knows
// minimums for, so the sandbox says so rather than guess.
func (s *Sim) checkChargeCurrency(currency, pmType string) *stripeError {
	if pmType == pmTypeAmazonPay {
		allowed := amazonPayCurrencies
		if s.cfg.AccountCountry == "US" {
			allowed = []string{"usd"}
		}
		if !slices.Contains(allowed, currency) {
			return errParamInvalid("currency", "The currency provided (%s) is invalid. Payments with amazon_pay support the following currencies "+
				"for an account in %s: %s.", currency, s.cfg.AccountCountry, strings.Join(allowed, ", "))
		}
		return nil
	}
	if _, ok := chargeMinimums[currency]; !ok {
		return errParamInvalid("currency", "The sandbox charges only in Amazon Pay's currencies (%s); %s is not simulated here.",
			strings.Join(amazonPayCurrencies, ", "), currency)
	}
	return nil
}

// checkChargeAmount applies Stripe's minimum and maximum for currency.
func checkChargeAmount(amount int64, currency string) *stripeError {
	if min, ok := chargeMinimums[currency]; ok && amount < min {
		return newStripeError(400, errTypeInvalidRequest, "amount_too_small", "amount",
			fmt.Sprintf("Amount must be at least %s %s", formatAmount(min, currency), currency))
	}
	if amount > chargeMaximum {
		return newStripeError(400, errTypeInvalidRequest, "amount_too_large", "amount",
			fmt.Sprintf("Amount must be no more than %s %s", formatAmount(chargeMaximum, currency), currency))
	}
	return nil
}

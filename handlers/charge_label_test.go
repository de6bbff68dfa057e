package handlers

import (
	"testing"

	"example.com/storefront/payments"
	"example.com/storefront/service"
	"example.com/storefront/store"
)

// A scheduled attempt is a retry only after a decline: one after a payment
// never made (service.NotMade) used no retry, and the dashboard says so.
func TestChargeLabelCountsOnlyDeclines(t *testing.T) {
	t.Parallel()
	attempt := func(n int, status payments.ChargeState, code string) store.Charge {
		return store.Charge{Kind: store.KindScheduled, Period: 3, Attempt: n, Status: status, FailureCode: code}
	}
	notMade := attempt(1, payments.ChargeFailed, service.NotMade)
	declined := attempt(1, payments.ChargeFailed, "insufficient_funds")
	for _, tc := range []struct {
		name string
		c    store.Charge
		all  []store.Charge
		want string
	}{
		{"first attempt", attempt(1, payments.ChargeSucceeded, ""), nil, "Period 3"},
		{"after a decline", attempt(2, payments.ChargeSucceeded, ""), []store.Charge{declined}, "Period 3, retry 1"},
		{"after a payment never made", attempt(2, payments.ChargeSucceeded, ""), []store.Charge{notMade}, "Period 3, attempt 2"},
		{"after one of each", attempt(3, payments.ChargeSucceeded, ""),
			[]store.Charge{notMade, {Kind: store.KindScheduled, Period: 3, Attempt: 2, Status: payments.ChargeFailed, FailureCode: "generic_decline"}},
			"Period 3, retry 1"},
		{"a decline of another period", attempt(2, payments.ChargeSucceeded, ""),
			[]store.Charge{{Kind: store.KindScheduled, Period: 2, Attempt: 1, Status: payments.ChargeFailed, FailureCode: "generic_decline"}},
			"Period 3, attempt 2"},
	} {
		if got := chargeLabel(tc.c, tc.all); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

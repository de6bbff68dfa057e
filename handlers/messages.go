package handlers

import (
	"strings"

	"example.com/storefront/mandate"
	"example.com/storefront/payments"
	"example.com/storefront/store"
)

// What a shopper reads about an outcome, in one place. Every setup and
// payment outcome of both providers is worded here, in plain words
// addressed to the shopper; the providers' own codes and messages stay in
// the mandate's history and the merchant's dashboard, never on the
// shopper's pages.

// setupText is what the outcome page says of a setup.
type setupText struct {
	Title  string // the page's heading
	Lead   string // what happened, in one sentence
	Reason string // why, when it did not go through ("" when there is nothing to add)
}

// setupWords words a mandate's status and its provider's code. provider is
// "Stripe" or "PPRO"; method what was approved ("Amazon Pay account").
func setupWords(m store.Mandate, provider, method, merchant string) setupText {
	code := strings.ToLower(m.FailureCode)
	switch m.Status {
	case mandate.Active:
		return setupText{Title: "Your subscription is set up",
			Lead: "You approved payments from your " + method + " through " + provider + ": " +
				m.Plan.Name + ", " + m.Plan.Price.String() + " every " + string(m.Plan.Interval) + "."}
	case mandate.Pending:
		t := setupText{Title: "Waiting for your approval to be confirmed",
			Lead: provider + " has not confirmed your approval yet. Nothing has been charged."}
		if m.LastError != "" {
			// A declined attempt the shopper may retry, or an outage while
			// checking: either way nothing is decided yet.
			t.Reason = "Your last attempt was declined or did not complete. You can try again on the payment page, or check again here in a moment."
		}
		return t
	case mandate.Canceled:
		t := setupText{Title: "Setup cancelled", Lead: "Nothing was saved and nothing will be charged."}
		switch code {
		case "checkout_session_expired", "payment_method_timeout", "abandoned":
			t.Title = "The setup timed out"
			t.Reason = "It was not approved in time, so it was closed."
		case "setup_intent_canceled":
			t.Reason = "The setup was cancelled at the payment page."
		default: // left_checkout, canceled_by_consumer
			t.Reason = "You left the payment page without approving."
		}
		return t
	case mandate.Failed:
		t := setupText{Title: "The setup did not go through", Lead: "Nothing was saved and nothing will be charged."}
		switch code {
		case "setup_not_started":
			t.Reason = "We could not reach " + provider + " to start it. Please try again in a moment."
		case "authentication_failed", "setup_intent_authentication_failure":
			t.Reason = "Amazon Pay did not confirm the approval: it was declined, or your sign-in could not be completed."
		case "payment_method_timeout":
			t.Reason = "It was not approved in time."
		default:
			t.Reason = "The payment provider declined it."
		}
		return t
	case mandate.Revoked:
		t := setupText{Title: "Your subscription is cancelled", Lead: "No further payments will be taken."}
		switch m.RevokedBy {
		case payments.RevokedByShopper:
			t.Reason = "You cancelled it."
			if code == "revoked_by_consumer" || code == "mandate_inactive" {
				t.Reason = "You withdrew the permission in your Amazon Pay account."
			}
		case payments.RevokedByMerchant:
			t.Reason = merchant + " cancelled it."
		default:
			t.Reason = "Amazon Pay withdrew the permission."
		}
		return t
	}
	return setupText{Title: "Your subscription", Lead: ""}
}

// paymentWords words one payment's outcome for the shopper: "paid", or why
// it was not taken.
func paymentWords(c store.Charge) string {
	switch {
	case c.Status == payments.ChargeRefunded:
		return "Paid, then refunded."
	case c.Status == payments.ChargePartiallyRefunded:
		return "Paid; " + payments.Money{Amount: c.Refunded, Currency: c.Amount.Currency}.String() + " refunded."
	case c.Status.Paid():
		return "Paid."
	case c.Status == payments.ChargePending:
		return "Being processed; this can take a moment."
	}
	if payments.NeedsShopper(c.FailureCode) {
		return "Not taken: Amazon Pay asked for your confirmation, which an automatic payment cannot give. Please check your Amazon Pay account."
	}
	switch strings.ToLower(c.FailureCode) {
	case "insufficient_funds":
		return "Declined: the account did not have enough funds."
	case "not_attempted":
		return "Not taken: the setup could not start."
	case "agreement_revoked", "agreement_inactive", "payment_intent_mandate_invalid":
		return "Not taken: the permission was no longer active."
	case "not_made":
		return "Not taken."
	}
	return "Declined by Amazon Pay."
}

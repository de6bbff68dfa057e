package loadtest

import (
	"fmt"
	"strings"
)

// The providers and decisions the driver knows how to drive.
const (
	ProviderStripe = "stripe"
	ProviderPPRO   = "ppro"

	DecisionApprove = "approve"
	DecisionDecline = "decline"
	DecisionCancel  = "cancel"
)

func knownProviders() []string { return []string{ProviderStripe, ProviderPPRO} }
func knownDecisions() []string { return []string{DecisionApprove, DecisionDecline, DecisionCancel} }

// Case is a provider and the decision the shopper takes on its approval
// page.
type Case struct {
	Provider string
	Decision string
}

func (c Case) String() string { return c.Provider + "/" + c.Decision }

// Expectation is what the storefront's outcome page must show after a
// case's flow.
type Expectation struct {
	// Status is the outcome element's data-status: active, failed,
	// canceled, pending or revoked.
	Status string
	// Reason, if set, must be part of the outcome-reason text: the words the
	// shopper reads for the provider's failure code.
	Reason string
}

// DefaultExpectations is what the flow tests in handlers/ establish:
//
//   - Stripe approve: back on /success, active.
//   - Stripe decline: Stripe sends the shopper back to its checkout page,
//     which says the attempt was declined; the flow then approves on the
//     retry, as TestDeclineReturnsToCheckoutThenApproveWorks does, and ends
//     active.
//   - Stripe cancel: back on /cancel, canceled.
//   - PPRO approve: back on /return, active.
//   - PPRO decline: failed, "did not confirm the approval" (the shopper's
//     words for PPRO's AUTHENTICATION_FAILED).
//   - PPRO cancel: canceled, "You left the payment page" (CANCELED_BY_CONSUMER; PPRO has no cancel URL;
//     every outcome comes back to /return).
func DefaultExpectations() map[Case]Expectation {
	return map[Case]Expectation{
		{ProviderStripe, DecisionApprove}: {Status: "active"},
		{ProviderStripe, DecisionDecline}: {Status: "active"},
		{ProviderStripe, DecisionCancel}:  {Status: "canceled"},
		{ProviderPPRO, DecisionApprove}:   {Status: "active"},
		{ProviderPPRO, DecisionDecline}:   {Status: "failed", Reason: "did not confirm the approval"},
		{ProviderPPRO, DecisionCancel}:    {Status: "canceled", Reason: "You left the payment page"},
	}
}

// checkOutcome compares the return page with what the flow's case should
// lead to, and, for a PPRO flow, the first payment with whether the shopper
// asked for one. A mismatch is an unexpected outcome; a page without an
// outcome element is a parse error.
func checkOutcome(p *page, spec flowSpec, want Expectation) error {
	outcome := p.byTestID("outcome")
	if outcome == nil {
		return &stepError{Kind: KindParse, Step: StepReturnPage,
			Err: fmt.Errorf("%s has no outcome element (data-testid=outcome)%s", p.url.Path, p.errorSummary())}
	}
	status, _ := attr(outcome, "data-status")
	reason := ""
	if n := p.byTestID("outcome-reason"); n != nil {
		reason = textOf(n)
	}
	if status != want.Status || (want.Reason != "" && !strings.Contains(reason, want.Reason)) {
		return &stepError{Kind: KindUnexpected, Step: StepReturnPage,
			Err: fmt.Errorf("%s shows %s, want %s", p.url.Path, describe(status, reason), describe(want.Status, want.Reason))}
	}
	if spec.Case.Provider == ProviderPPRO {
		return checkFirstPayment(p, spec)
	}
	return nil
}

func describe(status, reason string) string {
	if status == "" {
		status = `""`
	}
	if reason == "" {
		return status
	}
	return fmt.Sprintf("%s (%q)", status, reason)
}

// checkFirstPayment: a shopper who asked to pay now sees a first payment,
// paid on approval (or declined, with the plan at one of the sandbox's
// decline amounts, PLAN_AMOUNT=1201 or 1202) and failed otherwise. Without
// pay now, only an approved mandate may show one: the billing worker
// charges period 1 as soon as the mandate is active, sometimes before the
// page is drawn.
func checkFirstPayment(p *page, spec flowSpec) error {
	fp := p.byTestID("first-payment")
	approved := spec.Case.Decision == DecisionApprove
	if fp == nil {
		if spec.PayNow {
			return &stepError{Kind: KindUnexpected, Step: StepReturnPage, Err: fmt.Errorf("%s shows no first payment, but the shopper asked to pay now", p.url.Path)}
		}
		return nil
	}
	status, _ := attr(fp, "data-status")
	text := ""
	if n := p.byTestID("first-payment-text"); n != nil {
		text = textOf(n)
	}
	var ok bool
	switch {
	case !spec.PayNow:
		ok = approved
	case approved:
		ok = status == "succeeded" || (status == "failed" && strings.HasPrefix(text, "Declined"))
	default:
		ok = status == "failed"
	}
	if !ok {
		return &stepError{Kind: KindUnexpected, Step: StepReturnPage,
			Err: fmt.Errorf("%s shows the first payment %s (%q) after %s, pay now %t", p.url.Path, status, text, spec.Case.Decision, spec.PayNow)}
	}
	return nil
}

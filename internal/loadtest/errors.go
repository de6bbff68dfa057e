package loadtest

import (
	"fmt"
	"net/http"
)

// Kind groups errors in the report.
type Kind string

const (
	// KindHTTPStatus is an answer with a status the flow did not expect
	// (a 5xx, a 422 for a form the driver filled in, a 404…).
	KindHTTPStatus Kind = "http status"
	// KindRateLimited is a 429: the storefront (or the sandbox) limits the
	// client. Kept apart because it is a setting, not a fault.
	KindRateLimited Kind = "rate limited"
	// KindTransport is a request that got no answer: refused, reset,
	// timed out.
	KindTransport Kind = "transport error"
	// KindUnexpected is a flow that ran to the end but whose outcome does
	// not match its decision.
	KindUnexpected Kind = "unexpected outcome"
	// KindParse is an answer the driver could not go on from: not HTML, no
	// form or button it needs, a redirect without a Location or to a page
	// that is not the storefront's or its sandbox's.
	KindParse Kind = "parse error"
)

// stepError is why a flow stopped.
type stepError struct {
	Kind   Kind
	Step   string
	Status int // for KindHTTPStatus and KindRateLimited
	Err    error
}

func (e *stepError) Error() string { return e.Step + ": " + e.Err.Error() }
func (e *stepError) Unwrap() error { return e.Err }

// statusError classifies an answer with the wrong status.
func statusError(step string, p *page, req *http.Request, want []int) *stepError {
	kind := KindHTTPStatus
	detail := p.errorSummary()
	if p.status == http.StatusTooManyRequests {
		kind = KindRateLimited
		if ra := p.header.Get("Retry-After"); ra != "" {
			detail += "; Retry-After: " + ra
		}
	}
	wantText := fmt.Sprint(want[0])
	for _, w := range want[1:] {
		wantText += " or " + fmt.Sprint(w)
	}
	return &stepError{Kind: kind, Step: step, Status: p.status,
		Err: fmt.Errorf("%s %s: status %d, want %s%s", req.Method, req.URL.Path, p.status, wantText, detail)}
}

// flowError is a stepError placed in its flow, for the report's example.
type flowError struct {
	spec flowSpec
	err  *stepError
}

func (e *flowError) Error() string {
	payNow := ""
	if e.spec.PayNow {
		payNow = ", pay now"
	}
	return fmt.Sprintf("flow %d (%s%s): %v", e.spec.N, e.spec.Case, payNow, e.err)
}

package stripeprovider

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"example.com/storefront/payments"
)

// charge.dispute.* names the dispute and the disputed PaymentIntent (our
// charge's reference), which the app then lists the disputes of.
func TestParseWebhookReadsDisputes(t *testing.T) {
	body, err := os.ReadFile("testdata/webhooks/charge-dispute-created.json")
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(Config{SecretKey: "sk_test_x", WebhookSecret: fuzzSecret, APIURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, "/webhooks/stripe", bytes.NewReader(body))
	r.Header.Set("Stripe-Signature", sign(body, fuzzSecret, time.Now()))
	ev, err := p.ParseWebhook(r)
	if err != nil {
		t.Fatal(err)
	}
	if ev.DisputeRef != "dp_1Dispute0000000000000" || ev.ChargeRef != "pi_1Dispute0000000000000" || ev.Dispute != nil {
		t.Errorf("event = %+v", ev)
	}
}

// Stripe's dispute statuses, normalised; an inquiry (warning_…) counts as
// open until it closes, and an unknown status is never read as decided.
func TestDisputeResultNormalises(t *testing.T) {
	for status, want := range map[stripe.DisputeStatus]payments.DisputeState{
		"needs_response": payments.DisputeNeedsResponse, "warning_needs_response": payments.DisputeNeedsResponse,
		"under_review": payments.DisputeUnderReview, "warning_under_review": payments.DisputeUnderReview,
		"won": payments.DisputeWon, "lost": payments.DisputeLost, "warning_closed": payments.DisputeClosed,
		"something_new": payments.DisputeNeedsResponse,
	} {
		d := disputeResult(&stripe.Dispute{ID: "dp_1", Amount: 1204, Currency: "usd", Status: status, Reason: "fraudulent",
			EvidenceDetails: &stripe.DisputeEvidenceDetails{DueBy: 1796863999}}, "pi_1")
		if d.State != want || d.ProviderStatus != string(status) {
			t.Errorf("%s: %s, want %s", status, d.State, want)
		}
		if d.Amount != (payments.Money{Amount: 1204, Currency: "USD"}) || d.Reason != "fraudulent" || d.ChargeRef != "pi_1" ||
			!d.EvidenceDueBy.Equal(time.Unix(1796863999, 0)) {
			t.Errorf("%s: %+v", status, d)
		}
	}
	// due_by 0: the shopper's bank allows no response, so no deadline.
	if d := disputeResult(&stripe.Dispute{ID: "dp_2", Status: "lost", EvidenceDetails: &stripe.DisputeEvidenceDetails{}}, "pi_1"); !d.EvidenceDueBy.IsZero() {
		t.Errorf("a due_by of 0 reads as %v", d.EvidenceDueBy)
	}
}

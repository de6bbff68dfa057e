package handlers_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"example.com/storefront/mandate"
	"example.com/storefront/payments"
	"example.com/storefront/payments/stripeprovider"
)

// mandate.updated keeps its mandate id. A Stripe mandate of ours with no
// Stripe mandate id stored (its SetupIntent carried none, which Stripe
// allows and the sandbox's SetupWithoutMandate plays) is found through the
// event's payment method; when Amazon withdraws the mandate, the event's
// mandate is the one read, so the inactive mandate is not taken for an
// active one, and its id is kept from then on.
func TestMandateUpdatedFoundThroughThePaymentMethodKeepsItsMandate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withWebhooks)
	b, active, _ := e.webhookActivated() // the approval is never followed back
	mandateRef := active.ProviderMandateRef
	if !strings.HasPrefix(mandateRef, "mandate_") {
		t.Fatalf("the sandbox made no mandate: %+v", active)
	}
	if _, err := e.Worker.Pass(context.Background()); err != nil { // bills the first period now
		t.Fatal(err)
	}
	e.waitCharged(active.ID)
	// The mandate as it is stored when the SetupIntent named no mandate.
	e.exec(`UPDATE mandates SET provider_mandate_ref = NULL WHERE id = ?`, active.ID)

	index := b.Get(e.URL + "/sandbox/").Expect(http.StatusOK)
	b.Do(index.Submit("", "/stripe/payment-methods/"+active.PaymentMethodID+"/amazon-revoke", nil)).Expect(http.StatusSeeOther)

	got := e.waitStatus(active.ID, mandate.Revoked)
	if got.RevokedBy != payments.RevokedByProvider || got.FailureCode != stripeprovider.CodeMandateInactive {
		t.Errorf("revoked by %q (code %q), want by the provider (%s)", got.RevokedBy, got.FailureCode, stripeprovider.CodeMandateInactive)
	}
	if got.ProviderMandateRef != mandateRef {
		t.Errorf("the mandate id learned from the event is %q, want %q", got.ProviderMandateRef, mandateRef)
	}
}

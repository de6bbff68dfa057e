package stripesim_test

import (
	"testing"

	"github.com/stripe/stripe-go/v76"
)

// GET /v1/refunds lists a PaymentIntent's refunds, newest first, paged by
// limit and starting_after, with their metadata: what the app reads to
// find a refund whose answer was lost.
func TestRefundListByPaymentIntent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.saveAmazonPay()
	pi := e.charge(s, 1000)
	other := e.charge(s, 2000)
	var made []string
	for _, ref := range []string{"r1", "r2", "r3"} {
		p := &stripe.RefundParams{PaymentIntent: stripe.String(pi.ID), Amount: stripe.Int64(100)}
		p.AddMetadata("refund_ref", ref)
		re, err := e.api.Refunds.New(p)
		if err != nil {
			t.Fatalf("refund %s: %v", ref, err)
		}
		made = append(made, re.ID)
	}
	if _, err := e.api.Refunds.New(&stripe.RefundParams{PaymentIntent: stripe.String(other.ID), Amount: stripe.Int64(100)}); err != nil {
		t.Fatalf("refund of the other payment: %v", err)
	}

	params := &stripe.RefundListParams{PaymentIntent: stripe.String(pi.ID)}
	params.Limit = stripe.Int64(2) // two pages
	it := e.api.Refunds.List(params)
	var got, refs []string
	for it.Next() {
		got = append(got, it.Refund().ID)
		refs = append(refs, it.Refund().Metadata["refund_ref"])
	}
	if err := it.Err(); err != nil {
		t.Fatalf("list: %v", err)
	}
	want := []string{made[2], made[1], made[0]}
	if len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("listed %v, want %v (newest first, only this PaymentIntent's)", got, want)
	}
	if len(refs) != 3 || refs[0] != "r3" || refs[2] != "r1" {
		t.Errorf("metadata %v, want r3 r2 r1", refs)
	}
}

package ppro

import (
	"context"
	"net/http"
	"testing"

	"example.com/storefront/payments"
)

// FindCharge keeps only what is ours when PPRO's search answers more than
// its filter should: a charge on another agreement, or one echoing another
// reference, is dropped, and the one left (no echo: the reference is
// optional) is found, not taken for an ambiguous answer.
func TestFindChargeKeepsOnlyOurs(t *testing.T) {
	const search = `{"data":[
	 {"id":"charge_other_agreement","status":"CAPTURED","agreementId":"agr_someone_else","authorizations":[{"id":"auth_1","amount":1200,"status":"AUTHORIZED"}]},
	 {"id":"charge_other_reference","status":"CAPTURED","authorizations":[{"id":"auth_2","amount":1200,"status":"AUTHORIZED","merchantPaymentChargeReference":"mandate/md_1/period/1/attempt/2"}]},
	 {"id":"charge_ours","status":"CAPTURED","agreementId":"agr_ours","authorizations":[{"id":"auth_3","amount":1200,"status":"AUTHORIZED"}]}]}`
	f := &flaky{answers: []func(http.ResponseWriter){status(http.StatusOK, search)}}
	p := NewProvider(newTestClient(t, f), payments.ModeTest, "")
	const reference = "mandate/md_1/period/1/attempt/1"
	got, found, err := p.FindCharge(context.Background(), payments.MandateRef{Handle: "agr_ours"}, reference)
	if err != nil || !found || got.Ref != "charge_ours" || got.Reference != reference {
		t.Fatalf("FindCharge = %+v, %v, %v; want charge_ours found by %q", got, found, err, reference)
	}
	if q := f.requests[0].URL.Query(); q.Get("merchantPaymentChargeReference") != reference || q.Get("agreementId") != "agr_ours" {
		t.Errorf("searched with %v, want our reference and agreement", q)
	}
}

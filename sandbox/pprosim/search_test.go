package pprosim_test

import (
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// GET /v1/payment-charges finds a merchant's charges by its own reference
// and by agreement, newest first, as GET /v1/payment-charges/{id} shows
// them.
func TestPPROSearchCharges(t *testing.T) {
	t.Parallel()
	e := newPPROEnv(t)
	req := agreementRequest(1200)
	req["initialPaymentCharge"].(obj)["merchantPaymentChargeReference"] = "md_1-first"
	created := e.createAgreement(req)
	id, initial := str(t, created, "id"), str(t, created, "initialPaymentChargeId")
	e.decide(id, "approve")
	second := str(t, e.chargeWith(id, 1200, obj{"merchantPaymentChargeReference": "md_1/period/2"}), "id")
	third := str(t, e.chargeWith(id, 1202, obj{"merchantPaymentChargeReference": "md_1/period/3"}), "id")
	other := e.activeAgreement()
	elsewhere := str(t, e.chargeWith(other, 1200, obj{"merchantPaymentChargeReference": "md_2/period/2"}), "id")

	search := func(q url.Values) obj {
		t.Helper()
		r := e.pproGet("/v1/payment-charges?" + q.Encode())
		wantAPIStatus(t, r, http.StatusOK)
		wantNoNulls(t, r.Body, "search")
		return r.Body
	}

	byRef := search(url.Values{"merchantPaymentChargeReference": {"md_1/period/2"}})
	if got := statuses(t, byRef, "data", "id"); !slices.Equal(got, []string{second}) {
		t.Fatalf("by reference: %v, want [%s]", got, second)
	}
	if got, want := at(byRef, "data.0"), any(e.getCharge(second)); !reflect.DeepEqual(got, want) {
		t.Errorf("search shows\n%v\nGET shows\n%v", got, want)
	}
	wantAbsent(t, byRef, "nextPage")
	if self := str(t, byRef, "_links.self.href"); !strings.HasPrefix(self, e.Public+"/ppro/v1/payment-charges?") ||
		!strings.Contains(self, "merchantPaymentChargeReference=md_1%2Fperiod%2F2") {
		t.Errorf("_links.self.href %q", self)
	}

	byAgreement := search(url.Values{"agreementId": {id}})
	if got, want := statuses(t, byAgreement, "data", "id"), []string{third, second, initial}; !slices.Equal(got, want) {
		t.Errorf("by agreement: %v, want newest first %v", got, want)
	}
	both := search(url.Values{"agreementId": {other}, "merchantPaymentChargeReference": {"md_1/period/2"}})
	if n := len(list(t, both, "data")); n != 0 {
		t.Errorf("another agreement's reference matched %d charges", n)
	}
	everything := search(url.Values{})
	if got, want := statuses(t, everything, "data", "id"), []string{elsewhere, third, second, initial}; !slices.Equal(got, want) {
		t.Errorf("no filter: %v, want %v", got, want)
	}
	for _, ref := range []string{"", "md_9"} {
		if n := len(list(t, search(url.Values{"merchantPaymentChargeReference": {ref}}), "data")); n != 0 {
			t.Errorf("reference %q matched %d charges", ref, n)
		}
	}
	wantException(t, e.pproGet("/v1/payment-charges?page=not-a-cursor"), http.StatusBadRequest, "page", "not-a-cursor")
}

// More than a page: nextPage is a cursor for the rest, and _links.next
// says where.
func TestPPROSearchChargesPages(t *testing.T) {
	t.Parallel()
	e := newPPROEnv(t)
	id := e.activeAgreement()
	var want []string
	for range 23 {
		want = append(want, str(t, e.chargeAgreement(id, 1200), "id"))
	}
	slices.Reverse(want) // newest first

	first := e.pproGet("/v1/payment-charges?agreementId=" + id)
	wantAPIStatus(t, first, http.StatusOK)
	page1 := statuses(t, first.Body, "data", "id")
	next := str(t, first.Body, "nextPage")
	if len(page1) != 20 || next == "" {
		t.Fatalf("first page: %d charges, nextPage %q; want 20 and a cursor", len(page1), next)
	}
	nextHref := str(t, first.Body, "_links.next.href")
	if u, err := url.Parse(nextHref); err != nil || u.Query().Get("page") != next || u.Query().Get("agreementId") != id {
		t.Errorf("_links.next.href %q, want the same search with page=%s", nextHref, next)
	}
	second := e.pproGet("/v1/payment-charges?" + url.Values{"agreementId": {id}, "page": {next}}.Encode())
	wantAPIStatus(t, second, http.StatusOK)
	wantAbsent(t, second.Body, "nextPage", "_links.next")
	if got := append(page1, statuses(t, second.Body, "data", "id")...); !slices.Equal(got, want) {
		t.Errorf("pages %v, want %v", got, want)
	}
}

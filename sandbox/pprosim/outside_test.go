package pprosim_test

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"example.com/storefront/internal/pagetest"
)

func revocationPath(agreementID string) string {
	return "/sandbox/ppro/agreements/" + agreementID + "/revocations"
}

// The shopper revokes the permission in their Amazon account: from the
// index page's button, the agreement is REVOKED_BY_CONSUMER with a history
// entry and a revocation, the app gets the webhook, and charging it fails.
func TestPPRORevokeAsTheShopperFromTheIndex(t *testing.T) {
	t.Parallel()
	rcv := newPPROReceiver(t, 0)
	e := newPPROEnv(t, rcv.config)
	id := e.activeAgreement()
	rcv.expect(t, "PAYMENT_AGREEMENT_ACTIVE")

	b := pagetest.NewBrowser(t)
	index := b.Get(e.Public + "/").Expect(http.StatusOK)
	if got, _ := index.TestID("ppro-status-" + id); got != "ACTIVE" {
		t.Errorf("index shows %q for %s, want ACTIVE", got, id)
	}
	wantBody(t, index, "Revoke as the shopper (in their Amazon account)", "Revoke as Amazon Pay", "mandate-42", "Ada Lovelace")
	back := b.Do(index.Submit("", revocationPath(id), url.Values{"by": {"consumer"}})).Expect(http.StatusSeeOther)
	// Back at the agreements, where the button was, saying what it did.
	if loc := back.Location(); loc != e.Public+"/?by=consumer&ppro_revoked="+id+"#ppro-agreements" {
		t.Fatalf("answered %s, want back to the index's agreements %s/", loc, e.Public)
	}
	index = b.Follow(back).Expect(http.StatusOK)
	if notice, _ := index.TestID("ppro-notice"); !strings.Contains(notice, "Payment agreement "+id+" is revoked, as the shopper would") {
		t.Errorf("after the revocation the page says %q", notice)
	}
	if got, _ := index.TestID("ppro-status-" + id); got != "REVOKED_BY_CONSUMER" {
		t.Errorf("index shows %q, want REVOKED_BY_CONSUMER", got)
	}
	if strings.Contains(index.Body, revocationPath(id)) {
		t.Error("a revoked agreement still has revocation buttons")
	}

	a := e.getAgreement(id)
	wantFields(t, a, map[string]string{"status": "REVOKED_BY_CONSUMER", "revocations.0.revocationStatus": "REVOKED_BY_CONSUMER"})
	if s := str(t, a, "revocations.0.id"); !revocationPattern.MatchString(s) {
		t.Errorf("revocation id %q", s)
	}
	if got, want := statuses(t, a, "history", "status"), []string{"INITIALIZING", "AUTHENTICATION_PENDING", "ACTIVE", "REVOKED_BY_CONSUMER"}; !slices.Equal(got, want) {
		t.Errorf("history %v, want %v", got, want)
	}
	wantAbsent(t, a, "failure")
	ev := rcv.expect(t, "PAYMENT_AGREEMENT_REVOKED_BY_CONSUMER")[0]
	wantFields(t, ev, map[string]string{
		"subject":                                id,
		"data.paymentAgreementId":                id,
		"data.paymentAgreementStatus":            "REVOKED_BY_CONSUMER",
		"data.merchantPaymentAgreementReference": "mandate-42",
	})

	ch := e.chargeAgreement(id, 1200)
	wantFields(t, ch, map[string]string{"status": "FAILED", "failure.failureType": "INTERNAL_DECLINE", "failure.failureCode": "AGREEMENT_REVOKED"})
	rcv.expect(t, "PAYMENT_CHARGE_AUTHORIZATION_FAILED")

	// Pressing the button again (a stale *pagetest.Page) changes nothing.
	again := e.Post(revocationPath(id), url.Values{"by": {"provider"}})
	wantStatus(t, again, http.StatusConflict)
	wantBody(t, again, ribbon, "not active", "REVOKED_BY_CONSUMER", `href="/sandbox/"`)
	if got := e.getAgreement(id); len(list(t, got, "history")) != 4 || len(list(t, got, "revocations")) != 1 {
		t.Errorf("a second revocation changed the agreement: %v", got)
	}
	rcv.none(t, 100*time.Millisecond)
}

func TestPPRORevokeAsAmazonPay(t *testing.T) {
	t.Parallel()
	rcv := newPPROReceiver(t, 0)
	e := newPPROEnv(t, rcv.config)
	id := e.activeAgreement()
	rcv.expect(t, "PAYMENT_AGREEMENT_ACTIVE")

	res := e.Post(revocationPath(id), url.Values{"by": {"provider"}})
	wantStatus(t, res, http.StatusSeeOther)
	if loc := res.Header.Get("Location"); loc != "/sandbox/?by=provider&ppro_revoked="+id+"#ppro-agreements" {
		t.Errorf("Location %q, want the index's agreements, with the revocation's word", loc)
	}
	a := e.getAgreement(id)
	wantFields(t, a, map[string]string{"status": "REVOKED_BY_PROVIDER", "revocations.0.revocationStatus": "REVOKED_BY_PROVIDER"})
	if got := statuses(t, a, "history", "status"); got[len(got)-1] != "REVOKED_BY_PROVIDER" {
		t.Errorf("history %v", got)
	}
	rcv.expect(t, "PAYMENT_AGREEMENT_REVOKED_BY_PROVIDER")
	if ch := e.chargeAgreement(id, 1200); at(ch, "failure.failureCode") != "AGREEMENT_REVOKED" {
		t.Errorf("charge after the revocation: %v", at(ch, "failure"))
	}
	// The merchant's revocation is refused on it, as on any revoked one.
	r := e.pproPost("/v1/payment-agreements/"+id+"/revocations", obj{}, nil)
	wantFields(t, r.Body, map[string]string{"status": "FAILED", "failure.failureCode": "AGREEMENT_REVOKED"})
}

func TestPPRORevokeFromTheIndexRefusals(t *testing.T) {
	t.Parallel()
	e := newPPROEnv(t)
	active := e.activeAgreement()
	pending := str(t, e.createAgreement(agreementRequest(0)), "id")

	wantStatus(t, e.Post(revocationPath(active), url.Values{"by": {"merchant"}}), http.StatusBadRequest)
	wantStatus(t, e.Post(revocationPath(active), url.Values{}), http.StatusBadRequest)
	wantStatus(t, e.Post(revocationPath("agr_nope"), url.Values{"by": {"consumer"}}), http.StatusNotFound)
	wantStatus(t, e.Post(revocationPath(pending), url.Values{"by": {"consumer"}}), http.StatusConflict)
	crossSite := e.Do(http.MethodPost, revocationPath(active), url.Values{"by": {"consumer"}},
		http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.test"}})
	wantStatus(t, crossSite, http.StatusForbidden)
	wantStatus(t, e.Get(revocationPath(active)), http.StatusNotFound) // forms only: a GET is no revocation
	if at(e.getAgreement(active), "status") != "ACTIVE" || at(e.getAgreement(pending), "status") != "AUTHENTICATION_PENDING" {
		t.Error("a refused revocation changed an agreement")
	}
}

// The index lists the merchant's newest 50 agreements, newest first, with
// buttons only for active ones and a way to the approval page for pending
// ones; one past its timeout shows FAILED.
func TestPPROIndexListsAgreements(t *testing.T) {
	t.Parallel()
	e := newPPROEnv(t)
	b := pagetest.NewBrowser(t)
	if _, ok := b.Get(e.Public + "/").Expect(http.StatusOK).TestID("ppro-no-agreements"); !ok {
		t.Error("an empty sandbox does not say there are no agreements")
	}

	var ids []string
	for i := range 51 {
		req := agreementRequest(0)
		req["merchantPaymentAgreementReference"] = "mandate-" + strconv.Itoa(i)
		ids = append(ids, str(t, e.createAgreement(req), "id"))
		e.Clock.Advance(time.Second) // distinct creation times
	}
	e.decide(ids[50], "approve")

	index := b.Get(e.Public + "/").Expect(http.StatusOK)
	if n := index.Count("ppro-agreement-" + ids[0]); n != 0 {
		t.Error("the oldest of 51 agreements is listed; want the newest 50")
	}
	for _, id := range ids[1:] {
		if index.Count("ppro-agreement-"+id) != 1 {
			t.Fatalf("%s is not listed", id)
		}
	}
	if first := strings.Index(index.Body, ids[50]); first < 0 || first > strings.Index(index.Body, ids[1]) {
		t.Error("the newest agreement is not listed first")
	}
	if got, _ := index.TestID("ppro-status-" + ids[50]); got != "ACTIVE" {
		t.Errorf("approved agreement shows %q", got)
	}
	if !strings.Contains(index.Body, revocationPath(ids[50])) || strings.Contains(index.Body, revocationPath(ids[49])) {
		t.Error("revocation buttons should be on the active agreement only")
	}
	if !strings.Contains(index.Body, `href="`+authenticatePath(ids[49])+`"`) {
		t.Error("a pending agreement has no link to its approval page")
	}

	e.Clock.Advance(2 * time.Hour)
	index = b.Get(e.Public + "/").Expect(http.StatusOK)
	if got, _ := index.TestID("ppro-status-" + ids[49]); got != "FAILED" {
		t.Errorf("a timed-out agreement shows %q, want FAILED", got)
	}
}

package stripesim_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"example.com/storefront/sandbox/stripesim"
)

// The index page's part in the hard cases: the magic-amount table, the
// settings form and the disputes with their buttons.

func TestIndexListsEveryMagicAmount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	page := e.Get("/sandbox/").Expect(http.StatusOK)
	for _, want := range []string{"…01 cents", "…02 cents", "…03 cents", "…04 cents", "…05 cents (a refund)",
		"…06 cents (a refund)", "…07 cents", "requires_action", "authentication_required", "charge.dispute.created",
		"amount_too_small", "amount_too_large", "idempotency_key_in_use"} {
		if !strings.Contains(page.Body, want) {
			t.Errorf("index lacks %q", want)
		}
	}
}

func TestIndexSettingsForm(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	page := e.Get("/sandbox/").Expect(http.StatusOK)
	if got := page.InputValue("settle_after"); got != "3" {
		t.Errorf("settle_after shows %q, want the default 3", got)
	}
	res := e.Browser.Do(page.Submit("", "/stripe/settings", url.Values{
		"settle_after": {"1.5"}, "setup_without_mandate": {"on"}, "fail_next": {"2"}, "in_flight": {"0.25"}, "hold_before": {"0.5"},
	}))
	wantStatus(t, res, http.StatusSeeOther)
	got := e.Sandbox.StripeSim().Settings()
	want := stripesim.Settings{SettleAfter: 1500 * time.Millisecond, SetupWithoutMandate: true, FailNext: 2, InFlight: 250 * time.Millisecond,
		HoldBefore: 500 * time.Millisecond}
	if got != want {
		t.Errorf("settings %+v, want %+v", got, want)
	}
	page = e.Browser.Follow(res).Expect(http.StatusOK)
	if !strings.Contains(page.Body, "Settings saved.") || page.InputValue("fail_next") != "2" || page.InputValue("hold_before") != "0.5" || !page.Checked("setup_without_mandate") {
		t.Errorf("the page after saving does not show the settings; body:\n%s", page.Body)
	}

	res = e.Browser.Do(page.Submit("", "/stripe/settings", url.Values{"fail_next": {"-1"}}))
	wantStatus(t, res, http.StatusBadRequest)
	if got := e.Sandbox.StripeSim().Settings(); got != want {
		t.Errorf("a refused form changed the settings to %+v", got)
	}
}

// With SetupWithoutMandate the SetupIntent succeeds with mandate null, and
// its payment method can be charged.
func TestSetupWithoutMandate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.Sandbox.StripeSim().SetSettings(stripesim.Settings{SetupWithoutMandate: true})
	s := e.saveAmazonPay()
	si := s.session.SetupIntent
	if si.Status != stripe.SetupIntentStatusSucceeded || si.Mandate != nil {
		t.Errorf("setup intent %s mandate %v, want succeeded with none", si.Status, si.Mandate)
	}
	if pi := e.charge(s, 1000); pi.Status != stripe.PaymentIntentStatusSucceeded {
		t.Errorf("charge: %s", pi.Status)
	}
	e.Sandbox.StripeSim().SetSettings(stripesim.Settings{})
	if s := e.saveAmazonPay(); s.session.SetupIntent.Mandate == nil {
		t.Error("with the setting off, the setup intent has no mandate")
	}
}

func TestIndexDisputeButtons(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.settle(time.Hour)
	s := e.saveAmazonPay()
	won, lost := e.charge(s, 1204), e.charge(s, 2204)
	page := e.Get("/sandbox/").Expect(http.StatusOK)
	if page.Count("stripe-disputes") != 0 {
		t.Fatal("disputes listed before they are due")
	}
	e.Clock.Advance(time.Hour) // the page itself catches up
	page = e.Get("/sandbox/").Expect(http.StatusOK)
	disputeOf := func(pi *stripe.PaymentIntent) string {
		it := e.api.Disputes.List(&stripe.DisputeListParams{PaymentIntent: stripe.String(pi.ID)})
		if !it.Next() {
			t.Fatalf("no dispute of %s: %v", pi.ID, it.Err())
		}
		return it.Dispute().ID
	}
	wonID, lostID := disputeOf(won), disputeOf(lost)
	for _, id := range []string{wonID, lostID} {
		if !strings.Contains(page.Body, id) {
			t.Errorf("index lacks dispute %s", id)
		}
	}

	res := e.Browser.Do(page.Submit("", "/stripe/disputes/"+wonID+"/won", nil))
	wantStatus(t, res, http.StatusSeeOther)
	page = e.Browser.Follow(res).Expect(http.StatusOK)
	if !strings.Contains(page.Body, "The merchant won dispute "+wonID) {
		t.Errorf("no confirmation; body:\n%s", page.Body)
	}
	res = e.Browser.Do(page.Submit("", "/stripe/disputes/"+lostID+"/lost", nil))
	wantStatus(t, res, http.StatusSeeOther)
	for id, want := range map[string]stripe.DisputeStatus{wonID: stripe.DisputeStatusWon, lostID: stripe.DisputeStatusLost} {
		if d, err := e.api.Disputes.Get(id, nil); err != nil || d.Status != want {
			t.Errorf("dispute %s: %v %v, want %s", id, d, err, want)
		}
	}
	page = e.Browser.Follow(res).Expect(http.StatusOK)
	if strings.Contains(page.Body, "/stripe/disputes/"+wonID+"/") || strings.Contains(page.Body, "/stripe/disputes/"+lostID+"/") {
		t.Error("decided disputes still have buttons")
	}
	// A second press (a stale page) changes nothing.
	res = e.Post("/sandbox/stripe/disputes/"+wonID+"/lost", nil)
	wantStatus(t, res, http.StatusSeeOther)
	if d, _ := e.api.Disputes.Get(wonID, nil); d.Status != stripe.DisputeStatusWon {
		t.Errorf("a stale press changed %s to %s", wonID, d.Status)
	}
	wantStatus(t, e.Post("/sandbox/stripe/disputes/dp_unknown/won", nil), http.StatusNotFound)
}

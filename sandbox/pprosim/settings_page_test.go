package pprosim_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"example.com/storefront/internal/pagetest"
	"example.com/storefront/sandbox/pprosim"
)

// The index page lists every magic amount, and its settings form changes
// the stand-in's settings.
func TestPPROIndexSettingsForm(t *testing.T) {
	t.Parallel()
	e := newPPROEnv(t)
	b := pagetest.NewBrowser(t)
	index := b.Get(e.Public + "/").Expect(http.StatusOK)
	for _, amount := range []string{"(1201)", "(1202)", "(1203)", "(1204)", "(1207)", "(505)", "(506)"} {
		wantBody(t, index, amount)
	}
	wantBody(t, index, "AUTHENTICATION_PENDING", "AUTHORIZATION_ASYNC", "CHARGEBACK_SUCCEEDED", "EXACT")
	if got := index.InputValue("settle_after_s"); got != "3" {
		t.Errorf("settle delay shows %q, want the default 3", got)
	}

	back := b.Do(index.Submit("", "/ppro/settings", url.Values{
		"settle_after_s": {"7"}, "echo_charge_reference": {"on"}, "revocation_lag_s": {"30"}, "processing_s": {"2"},
	})).Expect(http.StatusSeeOther)
	want := pprosim.Settings{SettleAfter: 7 * time.Second, EchoChargeReference: true, RevocationLag: 30 * time.Second, Processing: 2 * time.Second}
	if got := e.Sandbox.PPROSim().Settings(); got != want {
		t.Errorf("settings %+v, want %+v", got, want)
	}
	index = b.Follow(back).Expect(http.StatusOK)
	if index.InputValue("settle_after_s") != "7" || index.InputValue("revocation_lag_s") != "30" || !index.Checked("echo_charge_reference") {
		t.Error("the form does not show the saved settings")
	}

	// A box left unticked and an empty delay go back to the defaults.
	b.Post(e.Public+"/ppro/settings", url.Values{"settle_after_s": {""}, "revocation_lag_s": {"0"}, "processing_s": {"0"}}).Expect(http.StatusSeeOther)
	if got := e.Sandbox.PPROSim().Settings(); got != (pprosim.Settings{SettleAfter: pprosim.DefaultSettleAfter}) {
		t.Errorf("settings %+v, want the defaults", got)
	}
	bad := b.Do(index.Submit("", "/ppro/settings", url.Values{"settle_after_s": {"soon"}}))
	wantStatus(t, bad, http.StatusBadRequest)
	wantBody(t, bad, "settle_after_s")
}

// An open chargeback has won and lost buttons on the index page; the
// outcome then shows instead.
func TestPPROIndexChargebackButtons(t *testing.T) {
	t.Parallel()
	e := newPPROEnv(t)
	b := pagetest.NewBrowser(t)
	if _, ok := b.Get(e.Public + "/").Expect(http.StatusOK).TestID("ppro-no-chargebacks"); !ok {
		t.Error("an empty sandbox does not say there are no chargebacks")
	}
	id := e.activeAgreement()
	won := str(t, e.chargeAgreement(id, 1204), "id")
	lost := str(t, e.chargeAgreement(id, 2204), "id")
	e.settle()
	cbs, err := e.Sandbox.PPROSim().Chargebacks(context.Background())
	if err != nil || len(cbs) != 2 {
		t.Fatalf("chargebacks %v, %v", cbs, err)
	}
	byCharge := map[string]string{cbs[0].ChargeID: cbs[0].ID, cbs[1].ChargeID: cbs[1].ID}

	index := b.Get(e.Public + "/").Expect(http.StatusOK)
	wantBody(t, index, won, lost, "12.04 USD", "22.04 USD", "Merchant won", "Merchant lost")
	b.Do(index.Submit("", "/ppro/chargebacks/"+byCharge[won], url.Values{"outcome": {"won"}})).Expect(http.StatusSeeOther)
	index = b.Get(e.Public + "/").Expect(http.StatusOK)
	b.Do(index.Submit("", "/ppro/chargebacks/"+byCharge[lost], url.Values{"outcome": {"lost"}})).Expect(http.StatusSeeOther)

	index = b.Get(e.Public + "/").Expect(http.StatusOK)
	for charge, outcome := range map[string]string{won: "WON", lost: "LOST"} {
		if got, _ := index.TestID("ppro-chargeback-outcome-" + byCharge[charge]); got != outcome {
			t.Errorf("chargeback of %s shows %q, want %s", charge, got, outcome)
		}
	}
	again := b.Post(e.Public+"/ppro/chargebacks/"+byCharge[won], url.Values{"outcome": {"lost"}})
	wantStatus(t, again, http.StatusConflict)
	wantStatus(t, b.Post(e.Public+"/ppro/chargebacks/chargeback_nope", url.Values{"outcome": {"won"}}), http.StatusNotFound)
}

package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"example.com/storefront/internal/pagetest"
	"example.com/storefront/mandate"
	"example.com/storefront/payments"
	"example.com/storefront/payments/ppro"
	"example.com/storefront/static"
	"example.com/storefront/store"
)

// pproForm is a valid form choosing PPRO.
func (e *env) pproForm(b *pagetest.Browser, payNow bool) url.Values {
	form := e.validForm(b)
	form.Set("provider", "ppro")
	if payNow {
		form.Set("pay_now", "yes")
	}
	return form
}

// pproApproval submits the form and returns PPRO's (sandbox's) approval page.
func (e *env) pproApproval(b *pagetest.Browser, form url.Values) *pagetest.Page {
	e.t.Helper()
	resp := b.Post(e.URL+"/create-checkout-session", form).Expect(http.StatusSeeOther)
	if loc := resp.Location(); !strings.HasPrefix(loc, e.URL+"/sandbox/ppro/authenticate/agr_") {
		e.t.Fatalf("redirected to %s, want PPRO's authentication page", loc)
	}
	return b.Follow(resp).Expect(http.StatusOK)
}

// pproMandate is the mandate behind an approval page.
func (e *env) pproMandate(approval *pagetest.Page) store.Mandate {
	e.t.Helper()
	parts := strings.Split(approval.URL.Path, "/")
	m, err := e.Store.MandateByProviderRef(context.Background(), "ppro", parts[len(parts)-1])
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

func TestPPROApproveWithFirstPayment(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := pagetest.NewBrowser(t)
	approval := e.pproApproval(b, e.pproForm(b, true))
	m := e.pproMandate(approval)
	if !strings.Contains(approval.Text(), "12.00 USD") {
		t.Errorf("the approval page does not show the first payment: %s", approval.Text())
	}
	agr, err := e.PPRO.GetAgreement(context.Background(), m.ProviderRef)
	if err != nil {
		t.Fatal(err)
	}
	if agr.MerchantPaymentAgreementReference != m.ID || agr.Consumer.Country != "US" || agr.Consumer.Name != "Ada Lovelace" ||
		agr.Description != "Coffee Club: 12.00 USD every month" ||
		agr.InitialPaymentChargeID == "" || agr.InitialPaymentChargeID != m.FirstPayment.ProviderRef {
		t.Fatalf("agreement = %+v, mandate first payment %+v", agr, m.FirstPayment)
	}

	back := e.decide(b, approval, "approve").Expect(http.StatusSeeOther)
	if got, want := back.Location(), e.URL+"/return?mandate="+m.ID; got != want {
		t.Fatalf("PPRO sent the shopper to %s, want %s", got, want)
	}
	page := b.Follow(back).Expect(http.StatusOK)
	if got := page.TestIDAttr("outcome", "data-status"); got != "active" {
		t.Fatalf("outcome %q: %s", got, page.Text())
	}
	if got := page.TestIDAttr("first-payment", "data-status"); got != "succeeded" {
		t.Errorf("first payment shown as %q", got)
	}
	if got, _ := page.TestID("mode-badge"); got != "Stripe: sandbox" || page.Count("mode-badge") != 2 {
		t.Errorf("badges: %q ×%d", got, page.Count("mode-badge"))
	}
	m, _ = e.Store.Mandate(context.Background(), m.ID)
	if m.Status != mandate.Active || m.PaymentMethodID != agr.ID || m.PaymentMethodType != "amazon_pay" ||
		m.FirstPayment.Status != payments.ChargeSucceeded || m.FirstPayment.ProviderStatus != "charge CAPTURED" {
		t.Fatalf("mandate = %+v, first payment %+v", m, m.FirstPayment)
	}
	// A refresh changes nothing and costs no call.
	b.Get(page.URL.String()).Expect(http.StatusOK)
	if h, _ := e.Store.History(context.Background(), m.ID); len(h) != 2 || h[1].Source != mandate.SourceReturnPage {
		t.Errorf("history = %+v", h)
	}
}

func TestPPROWithoutFirstPayment(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := pagetest.NewBrowser(t)
	approval := e.pproApproval(b, e.pproForm(b, false))
	page := b.Follow(e.decide(b, approval, "approve").Expect(http.StatusSeeOther)).Expect(http.StatusOK)
	if got := page.TestIDAttr("outcome", "data-status"); got != "active" {
		t.Fatalf("outcome %q", got)
	}
	// Period 1 is charged by the schedule as the subscription starts (the
	// worker is woken when the mandate becomes active, so it may already
	// be taken as the page renders): the page says so either way.
	if note, _ := page.TestID("first-payment-note"); !strings.Contains(note, "Your first payment of 12.00 USD") {
		t.Errorf("first payment note %q", note)
	}
	m := e.pproMandate(approval)
	if m.FirstPayment != nil {
		t.Errorf("first payment recorded: %+v", m.FirstPayment)
	}
	agr, _ := e.PPRO.GetAgreement(context.Background(), m.ProviderRef)
	if agr.InitialPaymentChargeID != "" {
		t.Errorf("PPRO was asked for a first payment: %s", agr.InitialPaymentChargeID)
	}
}

// An agreement can be ACTIVE while its first charge FAILED: the page says both.
func TestPPROActiveWhileFirstPaymentFailed(t *testing.T) {
	t.Parallel()
	// 12.02 USD: the sandbox's magic amount for INSUFFICIENT_FUNDS.
	e := newEnv(t, withPlan(payments.Plan{Name: "Coffee Club", Price: payments.Money{Amount: 1202, Currency: "USD"}, Interval: payments.Month}))
	b := pagetest.NewBrowser(t)
	approval := e.pproApproval(b, e.pproForm(b, true))
	page := b.Follow(e.decide(b, approval, "approve").Expect(http.StatusSeeOther)).Expect(http.StatusOK)
	if got := page.TestIDAttr("outcome", "data-status"); got != "active" {
		t.Fatalf("outcome %q", got)
	}
	if got := page.TestIDAttr("first-payment", "data-status"); got != "failed" {
		t.Fatalf("first payment %q", got)
	}
	if reason, _ := page.TestID("first-payment-text"); reason != "Declined: the account did not have enough funds." {
		t.Errorf("reason shown %q", reason)
	}
	noProviderWords(t, page)
	m := e.pproMandate(approval)
	if m.Status != mandate.Active || m.FirstPayment.Status != payments.ChargeFailed || !strings.Contains(m.FirstPayment.FailureReason, "INSUFFICIENT_FUNDS") {
		t.Errorf("mandate %s, first payment %+v", m.Status, m.FirstPayment)
	}
}

// A decline fails the setup; a cancel on Amazon Pay is a cancellation, as
// it is on Stripe, not a failure.
func TestPPRODeclineFailsAndCancelCancels(t *testing.T) {
	t.Parallel()
	for decision, want := range map[string]struct{ status, code, heading, reason string }{
		"decline": {"failed", "AUTHENTICATION_FAILED", "The setup did not go through", "Amazon Pay did not confirm the approval"},
		"cancel":  {"canceled", "CANCELED_BY_CONSUMER", "Setup cancelled", "You left the payment page without approving."},
	} {
		code := want.code
		t.Run(decision, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := pagetest.NewBrowser(t)
			approval := e.pproApproval(b, e.pproForm(b, true))
			m := e.pproMandate(approval)
			back := e.decide(b, approval, decision).Expect(http.StatusSeeOther)
			if back.Location() != e.URL+"/return?mandate="+m.ID {
				t.Fatalf("sent to %s", back.Location())
			}
			page := b.Follow(back).Expect(http.StatusOK)
			if got := page.TestIDAttr("outcome", "data-status"); got != want.status {
				t.Fatalf("outcome %q, want %s", got, want.status)
			}
			if got, _ := page.TestID("outcome-heading"); got != want.heading {
				t.Errorf("heading %q, want %q", got, want.heading)
			}
			if reason, _ := page.TestID("outcome-reason"); !strings.HasPrefix(reason, want.reason) {
				t.Errorf("reason shown %q, want %q", reason, want.reason)
			}
			noProviderWords(t, page)
			if got := page.TestIDAttr("first-payment", "data-status"); got != "failed" {
				t.Errorf("first payment %q", got)
			}
			m, _ = e.Store.Mandate(context.Background(), m.ID)
			if m.Status != mandate.Status(want.status) || !strings.Contains(m.FailureReason, code) {
				t.Errorf("mandate %s (%q)", m.Status, m.FailureReason)
			}
		})
	}
}

func TestPPROPendingUntilDecided(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := pagetest.NewBrowser(t)
	approval := e.pproApproval(b, e.pproForm(b, false))
	m := e.pproMandate(approval)
	// Back on the return page before approving (another tab, the back button).
	page := b.Get(e.URL + "/return?mandate=" + m.ID).Expect(http.StatusOK)
	if got := page.TestIDAttr("outcome", "data-status"); got != "pending" {
		t.Fatalf("outcome %q", got)
	}
	again := e.URL + page.TestIDAttr("check-again", "href")
	check := b.Get(again).Expect(http.StatusOK) // the "Check again" button
	if got := check.TestIDAttr("outcome", "data-status"); got != "pending" {
		t.Fatalf("after checking again: %q", got)
	}
	e.decide(b, approval, "approve").Expect(http.StatusSeeOther)
	if got := b.Get(again).Expect(http.StatusOK).TestIDAttr("outcome", "data-status"); got != "active" {
		t.Fatalf("after approving: %q", got)
	}
}

// Granted and then revoked before the shopper came back: the history shows
// both steps and the page says the permission was withdrawn.
func TestPPRORevokedBeforeReturn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := pagetest.NewBrowser(t)
	approval := e.pproApproval(b, e.pproForm(b, false))
	m := e.pproMandate(approval)
	back := e.decide(b, approval, "approve").Expect(http.StatusSeeOther)
	res, err := e.PPRO.RevokeAgreement(context.Background(), m.ProviderRef, "test/revoke/"+m.ID)
	if err != nil || res.Status != ppro.RevocationRevoked {
		t.Fatalf("revoke: %+v, %v", res, err)
	}
	page := b.Follow(back).Expect(http.StatusOK)
	if got := page.TestIDAttr("outcome", "data-status"); got != "revoked" {
		t.Fatalf("outcome %q", got)
	}
	h, _ := e.Store.History(context.Background(), m.ID)
	if len(h) != 3 || h[1].To != mandate.Active || h[2].To != mandate.Revoked {
		t.Fatalf("history = %+v", h)
	}
}

func TestPPROPostRedirect(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withPPROPost)
	b := pagetest.NewBrowser(t)
	page := b.Post(e.URL+"/create-checkout-session", e.pproForm(b, false)).Expect(http.StatusOK)
	if !strings.Contains(page.Body, `data-autosubmit`) || !strings.Contains(page.Body, `src="`+static.Path("autosubmit.js")+`"`) {
		t.Errorf("the redirect page has no auto-submitting form")
	}
	req := page.Submit("", "/sandbox/ppro/authenticate/agr_", nil) // the visible button, for when JavaScript is off
	if req.Method != http.MethodPost {
		t.Fatalf("the redirect form uses %s", req.Method)
	}
	approval := b.Do(req).Expect(http.StatusOK)
	back := e.decide(b, approval, "approve").Expect(http.StatusSeeOther)
	if got := b.Follow(back).Expect(http.StatusOK).TestIDAttr("outcome", "data-status"); got != "active" {
		t.Fatalf("outcome %q", got)
	}
}

func TestPPROEligibility(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := pagetest.NewBrowser(t)
	home := b.Get(e.URL + "/").Expect(http.StatusOK)
	if label, _ := home.TestID("pay-now-label"); !strings.Contains(label, "12.00 USD") || !strings.Contains(label, "PPRO") {
		t.Errorf("pay-now label %q", label)
	}
	if !strings.Contains(home.Text(), "United States") || !strings.Contains(home.Text(), "USD only") {
		t.Error("the page does not say PPRO is US and USD only")
	}

	form := e.pproForm(b, false)
	form.Set("country", "DE")
	page := b.Post(e.URL+"/create-checkout-session", form).Expect(http.StatusUnprocessableEntity)
	if msg, _ := page.TestID("error-country"); !strings.Contains(msg, "United States") {
		t.Errorf("country message %q", msg)
	}
	stripeNow := e.validForm(b)
	stripeNow.Set("pay_now", "yes")
	page = b.Post(e.URL+"/create-checkout-session", stripeNow).Expect(http.StatusUnprocessableEntity)
	if msg, _ := page.TestID("error-pay_now"); !strings.Contains(msg, "Stripe cannot take the first payment") {
		t.Errorf("pay-now message %q", msg)
	}
	if n := e.count(`SELECT count(*) FROM mandates`); n != 0 {
		t.Errorf("%d mandates recorded", n)
	}

	// A plan in euros: PPRO is shown unavailable, with the reason, and refused.
	eur := newEnv(t, withPlan(payments.Plan{Name: "Kaffee", Price: payments.Money{Amount: 1200, Currency: "EUR"}, Interval: payments.Month}))
	home = b.Get(eur.URL + "/").Expect(http.StatusOK)
	if msg, _ := home.TestID("unavailable-ppro"); !strings.Contains(msg, "USD only") {
		t.Errorf("unavailable note %q", msg)
	}
	form = eur.pproForm(b, false)
	page = b.Post(eur.URL+"/create-checkout-session", form).Expect(http.StatusUnprocessableEntity)
	if msg, _ := page.TestID("error-provider"); !strings.Contains(msg, "priced in EUR") {
		t.Errorf("provider message %q", msg)
	}
	if n := eur.count(`SELECT count(*) FROM mandates`); n != 0 {
		t.Errorf("%d mandates recorded", n)
	}
}

func TestPPROReturnIsOnlyForItsBrowser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner, other := pagetest.NewBrowser(t), pagetest.NewBrowser(t)
	approval := e.pproApproval(owner, e.pproForm(owner, false))
	m := e.pproMandate(approval)
	e.decide(owner, approval, "approve").Expect(http.StatusSeeOther)
	other.Get(e.URL + "/return?mandate=" + m.ID).Expect(http.StatusNotFound)
	if got, _ := e.Store.Mandate(context.Background(), m.ID); got.Status != mandate.Pending {
		t.Errorf("another browser moved the mandate to %s", got.Status)
	}
	// and a Stripe mandate is not served on /return
	checkout := e.checkout(owner, e.validForm(owner))
	sm, _ := e.Store.MandateByProviderRef(context.Background(), "stripe", sessionID(checkout))
	owner.Get(e.URL + "/return?mandate=" + sm.ID).Expect(http.StatusNotFound)
}

func TestPPROFailures(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		outage int32
		says   string
	}{
		{"4xx", upstream400, "PPRO refused to start the setup"},
		{"5xx", upstream500, "could not reach PPRO"},
		{"504", upstream504, "could not reach PPRO"},
		{"network", upstreamDown, "could not reach PPRO"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := pagetest.NewBrowser(t)
			form := e.pproForm(b, true)
			e.outage.Store(tc.outage)
			page := b.Post(e.URL+"/create-checkout-session", form).Expect(http.StatusBadGateway)
			if msg, _ := page.TestID("error-message"); !strings.Contains(msg, tc.says) {
				t.Errorf("error page says %q", msg)
			}
			if n := e.count(`SELECT count(*) FROM mandates WHERE status = 'failed' AND provider = 'ppro' AND failure_reason != ''`); n != 1 {
				t.Errorf("%d failed PPRO mandates with a reason, want 1", n)
			}
			if n := e.count(`SELECT count(*) FROM charges WHERE status = 'failed' AND failure_reason LIKE 'Not attempted%'`); n != 1 {
				t.Errorf("%d first payments recorded as not attempted, want 1", n)
			}

			e.outage.Store(upstreamUp)
			approval := e.pproApproval(b, form)
			back := e.decide(b, approval, "approve").Expect(http.StatusSeeOther)
			e.outage.Store(tc.outage)
			page = b.Follow(back).Expect(http.StatusBadGateway)
			if msg, _ := page.TestID("error-message"); !strings.Contains(msg, "confirm your setup") {
				t.Errorf("error page says %q", msg)
			}
			m := e.pproMandate(approval)
			if m.Status != mandate.Pending || !strings.Contains(m.LastError, "could not verify") {
				t.Errorf("mandate %s, last error %q", m.Status, m.LastError)
			}
			e.outage.Store(upstreamUp)
			if got := b.Follow(back).Expect(http.StatusOK).TestIDAttr("outcome", "data-status"); got != "active" {
				t.Errorf("after recovery: %q", got)
			}
		})
	}
}

func TestPPROWebhookActivatesWhenTheShopperNeverReturns(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withWebhooks)
	b := pagetest.NewBrowser(t)
	approval := e.pproApproval(b, e.pproForm(b, true))
	m := e.pproMandate(approval)
	e.decide(b, approval, "approve").Expect(http.StatusSeeOther) // and the tab is closed
	active := e.waitStatus(m.ID, mandate.Active)
	if active.FirstPayment == nil || active.FirstPayment.Status != payments.ChargeSucceeded {
		t.Errorf("first payment after the webhooks: %+v", active.FirstPayment)
	}
	h, _ := e.Store.History(context.Background(), m.ID)
	if len(h) != 2 || h[1].Source != mandate.SourceWebhook {
		t.Errorf("history = %+v", h)
	}
}

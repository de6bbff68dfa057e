package stripesim_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
)

func TestMandateOfAnAmazonPaySetup(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.saveAmazonPay()

	p := &stripe.CheckoutSessionParams{}
	p.AddExpand("setup_intent.mandate")
	cs, err := e.api.CheckoutSessions.Get(s.session.ID, p)
	if err != nil {
		t.Fatal(err)
	}
	m := cs.SetupIntent.Mandate
	if m == nil || !strings.HasPrefix(m.ID, "mandate_") || m.Status != stripe.MandateStatusActive || m.Type != stripe.MandateTypeMultiUse ||
		m.MultiUse == nil || m.PaymentMethod == nil || m.PaymentMethod.ID != s.pmID || m.PaymentMethodDetails == nil ||
		m.PaymentMethodDetails.Type != "amazon_pay" {
		t.Fatalf("setup_intent.mandate = %+v", m)
	}
	acc := m.CustomerAcceptance
	if acc == nil || acc.Type != stripe.MandateCustomerAcceptanceTypeOnline || acc.AcceptedAt != e.Clock.Now().Unix() ||
		acc.Online == nil || acc.Online.IPAddress != "127.0.0.1" || acc.Online.UserAgent != testUserAgent {
		t.Errorf("customer_acceptance = %+v online %+v, want online from 127.0.0.1 with %q", acc, acc.Online, testUserAgent)
	}

	mp := &stripe.MandateParams{}
	mp.AddExpand("payment_method")
	direct, err := e.api.Mandates.Get(m.ID, mp)
	if err != nil || direct.ID != m.ID || direct.PaymentMethod.Type != "amazon_pay" || direct.PaymentMethod.Customer.ID != s.customer.ID {
		t.Errorf("mandate get = %+v, %v", direct, err)
	}
	if !strings.Contains(string(direct.LastResponse.RawJSON), `"amazon_pay": {}`) {
		t.Errorf("mandate JSON lacks payment_method_details.amazon_pay:\n%s", direct.LastResponse.RawJSON)
	}

	// A card saved by Checkout gets one too.
	card := e.saveCard()
	si, err := e.api.SetupIntents.Get(card.session.SetupIntent.ID, nil)
	if err != nil || si.Mandate == nil {
		t.Fatalf("card setup intent mandate: %+v, %v", si, err)
	}
	cm, err := e.api.Mandates.Get(si.Mandate.ID, nil)
	if err != nil || cm.PaymentMethodDetails.Type != "card" || cm.Status != stripe.MandateStatusActive || cm.PaymentMethod.ID != card.pmID {
		t.Errorf("card mandate = %+v, %v", cm, err)
	}
}

func mandateOf(t *testing.T, e *env, s saved) *stripe.Mandate {
	t.Helper()
	si, err := e.api.SetupIntents.Get(s.session.SetupIntent.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := e.api.Mandates.Get(si.Mandate.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDetach(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, 0)
	e := newEnv(t, rcv.config)
	s := e.saveAmazonPay()
	rcv.collect(t, 2)

	pm, err := e.api.PaymentMethods.Detach(s.pmID, nil)
	if err != nil {
		t.Fatalf("detach: %v", err)
	}
	if pm.ID != s.pmID || pm.Customer != nil {
		t.Errorf("detached payment method %s customer %+v, want null", pm.ID, pm.Customer)
	}
	if m := mandateOf(t, e, s); m.Status != stripe.MandateStatusInactive {
		t.Errorf("mandate %s after detach, want inactive", m.Status)
	}

	events := rcv.collect(t, 2) // verified against the signature by the receiver
	detached, ok := events["payment_method.detached"]
	if !ok {
		t.Fatalf("events %v lack payment_method.detached", events)
	}
	if obj, raw := decode[stripe.PaymentMethod](t, detached); obj.ID != s.pmID || raw["customer"] != nil {
		t.Errorf("payment_method.detached carries %s customer %v", obj.ID, raw["customer"])
	}
	if got := detached.Data.PreviousAttributes["customer"]; got != s.customer.ID {
		t.Errorf("previous customer %v, want %s", got, s.customer.ID)
	}
	if detached.Request == nil || detached.Request.ID != pm.LastResponse.RequestID {
		t.Errorf("request = %+v, want %s", detached.Request, pm.LastResponse.RequestID)
	}
	updated, ok := events["mandate.updated"]
	if !ok {
		t.Fatalf("events %v lack mandate.updated", events)
	}
	if m, _ := decode[stripe.Mandate](t, updated); m.Status != stripe.MandateStatusInactive || m.PaymentMethod.ID != s.pmID ||
		updated.Data.PreviousAttributes["status"] != "active" {
		t.Errorf("mandate.updated carries %s for %+v, previous %v", m.Status, m.PaymentMethod, updated.Data.PreviousAttributes)
	}

	// Detaching again is refused, as Stripe refuses it; nothing is sent.
	_, err = e.api.PaymentMethods.Detach(s.pmID, nil)
	se := wantStripeError(t, err, http.StatusBadRequest, stripe.ErrorTypeInvalidRequest, "", "")
	if !strings.Contains(se.Msg, "not attached to a customer") {
		t.Errorf("message %q", se.Msg)
	}
	rcv.none(t, 200*time.Millisecond)

	// A detached payment method cannot be charged.
	_, err = e.api.PaymentIntents.New(chargeParams(s, 1000))
	if se := wantStripeError(t, err, http.StatusBadRequest, stripe.ErrorTypeInvalidRequest, "", "payment_method"); !strings.Contains(se.Msg, "detached") {
		t.Errorf("charge after detach: %q", se.Msg)
	}
}

func TestIndexAmazonRevokesTheMandate(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, 0)
	e := newEnv(t, rcv.config)
	s := e.saveAmazonPay()
	card := e.saveCard()
	rcv.collect(t, 4)
	m := mandateOf(t, e, s)

	index := e.Get("/sandbox/")
	wantStatus(t, index, http.StatusOK)
	revoke := "/sandbox/stripe/payment-methods/" + s.pmID + "/amazon-revoke"
	wantBody(t, index, `data-testid="stripe-saved"`, s.pmID, card.pmID, s.customer.ID, "Ada Lovelace", m.ID, "active",
		"Visa •••• 4242", `action="`+revoke+`"`, `action="/sandbox/stripe/payment-methods/`+card.pmID+`/detach"`)
	if strings.Contains(index.Body, card.pmID+"/amazon-revoke") {
		t.Errorf("a card offers \"Amazon revokes the mandate\"")
	}
	if i, j := strings.Index(index.Body, card.pmID), strings.Index(index.Body, s.pmID); i > j {
		t.Errorf("the newest payment method (%s) is not listed first", card.pmID)
	}

	// Another site's form post is refused, like every sandbox form.
	wantStatus(t, e.Do(http.MethodPost, revoke, url.Values{}, http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"http://evil.test"}}),
		http.StatusForbidden)

	res := e.Post(revoke, url.Values{})
	wantStatus(t, res, http.StatusSeeOther)
	if !strings.HasPrefix(res.Header.Get("Location"), "/sandbox/?") || !strings.Contains(res.Header.Get("Location"), "stripe=revoked") {
		t.Fatalf("Location = %q, want the index with a confirmation", res.Header.Get("Location"))
	}
	back := e.Get(res.Header.Get("Location"))
	wantStatus(t, back, http.StatusOK)
	wantBody(t, back, `data-testid="stripe-notice"`, "Amazon revoked the mandate of "+s.pmID, "mandate.updated was sent")
	if strings.Contains(back.Body, `action="`+revoke+`"`) {
		t.Errorf("the index still offers to revoke an inactive mandate")
	}

	ev := rcv.next(t)
	updated, _ := decode[stripe.Mandate](t, ev)
	if ev.Type != "mandate.updated" || updated.ID != m.ID || updated.Status != stripe.MandateStatusInactive || ev.Request.ID != "" {
		t.Errorf("event %s for %s (%s), request %+v; want mandate.updated, inactive, no request", ev.Type, updated.ID, updated.Status, ev.Request)
	}
	rcv.none(t, 200*time.Millisecond) // the payment method stays attached: no payment_method.detached

	pm, err := e.api.PaymentMethods.Get(s.pmID, nil)
	if err != nil || pm.Customer == nil || pm.Customer.ID != s.customer.ID {
		t.Errorf("payment method after revocation: %+v, %v; want still attached", pm, err)
	}
	_, err = e.api.PaymentIntents.New(chargeParams(s, 1000))
	se := wantStripeError(t, err, http.StatusBadRequest, stripe.ErrorTypeInvalidRequest, stripe.ErrorCodePaymentIntentMandateInvalid, "payment_method")
	if !strings.Contains(se.Msg, "no longer active") {
		t.Errorf("message %q", se.Msg)
	}

	// A second click changes nothing, and says so.
	again := e.Post(revoke, url.Values{})
	wantStatus(t, again, http.StatusSeeOther)
	wantBody(t, e.Get(again.Header.Get("Location")), "Nothing changed for "+s.pmID)
	rcv.none(t, 200*time.Millisecond)
}

func TestIndexDetach(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, 0)
	e := newEnv(t, rcv.config)
	s := e.saveAmazonPay()
	rcv.collect(t, 2)

	res := e.Post("/sandbox/stripe/payment-methods/"+s.pmID+"/detach", url.Values{})
	wantStatus(t, res, http.StatusSeeOther)
	back := e.Get(res.Header.Get("Location"))
	wantBody(t, back, "Detached "+s.pmID)
	if strings.Contains(back.Body, "/payment-methods/"+s.pmID+"/detach") {
		t.Errorf("the index still lists the detached payment method")
	}
	events := rcv.collect(t, 2)
	for _, typ := range []stripe.EventType{"payment_method.detached", "mandate.updated"} {
		if ev, ok := events[typ]; !ok || ev.Request == nil || ev.Request.ID != "" {
			t.Errorf("%s: %+v, want it sent with no request id (the Dashboard did it)", typ, ev.Request)
		}
	}
	if pm, err := e.api.PaymentMethods.Get(s.pmID, nil); err != nil || pm.Customer != nil {
		t.Errorf("payment method after the Dashboard's detach: %+v, %v", pm, err)
	}

	wantStatus(t, e.Post("/sandbox/stripe/payment-methods/pm_nope/detach", url.Values{}), http.StatusNotFound)
	empty := e.Get("/sandbox/")
	wantBody(t, empty, "No payment method is saved yet")
}

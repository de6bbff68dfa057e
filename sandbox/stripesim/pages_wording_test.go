package stripesim_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"example.com/storefront/internal/pagetest"
)

func TestCheckoutCardFieldStartsEmpty(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, cs := e.newFlow()
	page := e.Get(checkoutPath(cs))
	wantStatus(t, page, http.StatusOK)
	field := page.Body[strings.Index(page.Body, `id="card_number"`):]
	field = field[:strings.Index(field, ">")]
	if !strings.Contains(field, `value=""`) {
		t.Errorf("card number field is not empty: %s", field)
	}
	// The test cards are listed beside it, and the field points at them.
	wantBody(t, page, `data-testid="test-cards"`, "4242 4242 4242 4242</code> is saved", "4000 0000 0000 0002</code> is declined")
	if !strings.Contains(field, `aria-describedby="card-hint"`) {
		t.Errorf("card number field does not point at the test cards: %s", field)
	}

	// What the shopper typed comes back when the form does.
	again := e.Post(checkoutPath(cs), url.Values{"method": {"card"}, "card_number": {"4000 0000 0000 0002"}})
	wantStatus(t, again, http.StatusPaymentRequired)
	wantBody(t, again, `value="4000 0000 0000 0002"`)
}

func TestPagesSaySandbox(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, cs := e.newFlow()
	approval := e.chooseAmazonPay(cs)
	pages := map[string]*pagetest.Page{
		"checkout":  e.Get(checkoutPath(cs)),
		"approval":  e.Get(approval),
		"index":     e.Get("/sandbox/"),
		"not found": e.Get("/sandbox/stripe/checkout/cs_test_nope"),
	}
	for name, res := range pages {
		t.Run(name, func(t *testing.T) {
			if strings.Contains(strings.ToLower(res.Body), "test mode") {
				t.Errorf("page says \"test mode\":\n%s", res.Body)
			}
			// Every page links its icon, so browsers do not ask the app
			// for /favicon.ico.
			wantBody(t, res, `<link rel="icon" type="image/svg+xml" href="/sandbox/static/favicon.svg">`)
		})
	}
	wantBody(t, pages["checkout"], `<span class="badge">Sandbox</span>`)
	wantBody(t, pages["not found"], `<span class="badge">Sandbox</span>`)

	icon := e.Get("/sandbox/static/favicon.svg")
	wantStatus(t, icon, http.StatusOK)
	if ct := icon.Header.Get("Content-Type"); ct != "image/svg+xml" {
		t.Errorf("favicon Content-Type = %q", ct)
	}
	wantBody(t, icon, "<svg")
}

func TestAmazonPayPageSummary(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, cs := e.newFlow()
	page := e.Get(e.chooseAmazonPay(cs))
	wantStatus(t, page, http.StatusOK)
	wantBody(t, page, `data-testid="summary"`, testMerchant+" sent this request through its payment provider Stripe",
		"<dt>You approve</dt>", `<span data-testid="mandate-text">`+html.EscapeString(testMandate)+"</span>",
		`<dd data-testid="merchant">`+testMerchant+"</dd>", cs.SetupIntent.ID)

	// Without custom text, a sentence written for this page.
	p := sessionParams(e.createCustomer("Ada", "ada@example.com").ID)
	p.CustomText = nil
	plain := e.Get(e.chooseAmazonPay(e.createSession(p)))
	wantBody(t, plain, "Future payments to "+testMerchant+" from your Amazon Pay account, without being asked each time")
	if strings.Contains(plain.Body, `data-testid="mandate-text"`) {
		t.Errorf("a session without custom text shows a mandate text")
	}
}

func TestUsedPagesLeadBackToTheShop(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	t.Run("complete", func(t *testing.T) {
		s := e.saveAmazonPay()
		for _, res := range []*pagetest.Page{
			e.Get(checkoutPath(s.session)),
			e.Get(approvalPath(s.session.SetupIntent.ID)),
			e.Post(approvalPath(s.session.SetupIntent.ID), url.Values{"decision": {"approve"}}),
		} {
			wantStatus(t, res, http.StatusGone)
			wantBody(t, res, "no longer available", "already complete",
				`href="http://shop.test/success?session_id=`+s.session.ID+`"`, "Return to "+testMerchant)
		}
	})
	t.Run("expired", func(t *testing.T) {
		_, cs := e.newFlow()
		approval := e.chooseAmazonPay(cs)
		if _, err := e.api.CheckoutSessions.Expire(cs.ID, nil); err != nil {
			t.Fatal(err)
		}
		for _, res := range []*pagetest.Page{e.Get(checkoutPath(cs)), e.Get(approval)} {
			wantStatus(t, res, http.StatusGone)
			wantBody(t, res, "expired", `href="http://shop.test/cancel"`, "Return to "+testMerchant)
		}
	})
	t.Run("expired without cancel_url", func(t *testing.T) {
		p := sessionParams(e.createCustomer("Ada", "ada@example.com").ID)
		p.CancelURL = nil
		cs := e.createSession(p)
		if _, err := e.api.CheckoutSessions.Expire(cs.ID, nil); err != nil {
			t.Fatal(err)
		}
		res := e.Get(checkoutPath(cs))
		wantStatus(t, res, http.StatusGone)
		wantBody(t, res, `href="http://shop.test/"`)
	})
}

func TestCheckoutSessionExpiresAt(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, 0)
	e := newEnv(t, rcv.config)
	c := e.createCustomer("Ada", "ada@example.com")
	now := e.Clock.Now()

	// Stripe's bounds, 30 minutes to 24 hours after creation, both kept.
	for _, d := range []time.Duration{30 * time.Minute, 24 * time.Hour} {
		p := sessionParams(c.ID)
		p.ExpiresAt = stripe.Int64(now.Add(d).Unix())
		if cs := e.createSession(p); cs.ExpiresAt != *p.ExpiresAt {
			t.Errorf("%v: expires_at = %d, want %d", d, cs.ExpiresAt, *p.ExpiresAt)
		}
	}
	for _, d := range []time.Duration{30*time.Minute - time.Second, 24*time.Hour + time.Second} {
		p := sessionParams(c.ID)
		p.ExpiresAt = stripe.Int64(now.Add(d).Unix())
		_, err := e.api.CheckoutSessions.New(p)
		if se := wantStripeError(t, err, 400, stripe.ErrorTypeInvalidRequest, "", "expires_at"); !strings.Contains(se.Msg, "expires_at") {
			t.Errorf("%v: message %q", d, se.Msg)
		}
	}
	p := sessionParams(c.ID)
	p.AddExtra("expires_at", "soon")
	_, err := e.api.CheckoutSessions.New(p)
	wantStripeError(t, err, 400, stripe.ErrorTypeInvalidRequest, "parameter_invalid_integer", "expires_at")

	// A session expires at its expires_at on the sandbox's clock: its
	// pages, its API and its event all agree.
	p = sessionParams(c.ID)
	p.ExpiresAt = stripe.Int64(now.Add(45 * time.Minute).Unix())
	cs := e.createSession(p)
	e.Clock.Advance(45*time.Minute - time.Second)
	wantStatus(t, e.Get(checkoutPath(cs)), http.StatusOK)
	e.Clock.Advance(time.Second)
	page := e.Get(checkoutPath(cs))
	wantStatus(t, page, http.StatusGone)
	wantBody(t, page, "expired", `href="http://shop.test/cancel"`)
	if got := e.getSession(cs.ID); got.Status != stripe.CheckoutSessionStatusExpired || got.URL != "" {
		t.Errorf("at expires_at: status %s url %q", got.Status, got.URL)
	}
	ev := rcv.next(t)
	if expired, _ := decode[stripe.CheckoutSession](t, ev); ev.Type != "checkout.session.expired" || expired.ID != cs.ID {
		t.Errorf("event %s for %s, want checkout.session.expired for %s", ev.Type, expired.ID, cs.ID)
	}
	rcv.none(t, 200*time.Millisecond)
}

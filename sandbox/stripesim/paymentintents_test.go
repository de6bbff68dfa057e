package stripesim_test

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"example.com/storefront/sandbox"
)

func TestPaymentIntentSucceeds(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, 0)
	e := newEnv(t, rcv.config)
	s := e.saveAmazonPay()
	rcv.collect(t, 2) // the setup's events

	p := chargeParams(s, 1200)
	p.SetIdempotencyKey("charge-17")
	pi, err := e.api.PaymentIntents.New(p)
	if err != nil {
		t.Fatalf("charge: %v", err)
	}
	if !strings.HasPrefix(pi.ID, "pi_") || pi.Status != stripe.PaymentIntentStatusSucceeded || pi.Amount != 1200 ||
		pi.AmountReceived != 1200 || pi.Currency != "usd" {
		t.Errorf("payment intent %s status %s amount %d received %d currency %s", pi.ID, pi.Status, pi.Amount, pi.AmountReceived, pi.Currency)
	}
	if pi.Customer == nil || pi.Customer.ID != s.customer.ID || pi.PaymentMethod == nil || pi.PaymentMethod.ID != s.pmID {
		t.Errorf("customer %+v payment method %+v", pi.Customer, pi.PaymentMethod)
	}
	if pi.Metadata["charge_id"] != "17" || pi.Description != "Acme Coffee Club, May" || pi.CaptureMethod != "automatic" ||
		strings.Join(pi.PaymentMethodTypes, ",") != "amazon_pay" || pi.LastPaymentError != nil || pi.Livemode {
		t.Errorf("metadata %v description %q capture %s types %v last_payment_error %+v", pi.Metadata, pi.Description,
			pi.CaptureMethod, pi.PaymentMethodTypes, pi.LastPaymentError)
	}
	if pi.LatestCharge == nil || !strings.HasPrefix(pi.LatestCharge.ID, "ch_") {
		t.Fatalf("latest_charge = %+v, want a ch_ id", pi.LatestCharge)
	}

	got := e.getPaymentIntent(pi.ID)
	ch := got.LatestCharge
	if got.Status != stripe.PaymentIntentStatusSucceeded || ch.Amount != 1200 || ch.AmountRefunded != 0 || ch.Refunded ||
		ch.Status != stripe.ChargeStatusSucceeded || !ch.Paid || !ch.Captured || ch.PaymentIntent == nil || ch.PaymentIntent.ID != pi.ID {
		t.Errorf("expanded latest charge = %+v", ch)
	}
	if ch.PaymentMethodDetails == nil || ch.PaymentMethodDetails.Type != "amazon_pay" || ch.PaymentMethod != s.pmID {
		t.Errorf("charge payment method %s details %+v", ch.PaymentMethod, ch.PaymentMethodDetails)
	}
	direct, err := e.api.Charges.Get(ch.ID, nil)
	if err != nil || direct.ID != ch.ID || direct.Customer.ID != s.customer.ID || direct.Metadata["charge_id"] != "17" {
		t.Errorf("charge get = %+v, %v", direct, err)
	}

	events := rcv.collect(t, 3)
	for _, typ := range []stripe.EventType{"payment_intent.created", "charge.succeeded", "payment_intent.succeeded"} {
		ev, ok := events[typ]
		if !ok {
			t.Errorf("no %s event", typ)
			continue
		}
		if ev.Request == nil || ev.Request.ID != pi.LastResponse.RequestID || ev.Request.IdempotencyKey != "charge-17" {
			t.Errorf("%s request = %+v, want %s / charge-17", typ, ev.Request, pi.LastResponse.RequestID)
		}
	}
	succeeded, _ := decode[stripe.PaymentIntent](t, events["payment_intent.succeeded"])
	if succeeded.ID != pi.ID || succeeded.Status != stripe.PaymentIntentStatusSucceeded || succeeded.LatestCharge.ID != ch.ID {
		t.Errorf("payment_intent.succeeded carries %s %s %+v", succeeded.ID, succeeded.Status, succeeded.LatestCharge)
	}

	// A card saved by Checkout is charged the same way.
	card := e.saveCard()
	cp := chargeParams(card, 1500)
	cp.PaymentMethodTypes = nil // automatic payment methods
	cardPI, err := e.api.PaymentIntents.New(cp)
	if err != nil {
		t.Fatalf("charge card: %v", err)
	}
	if cardPI.Status != stripe.PaymentIntentStatusSucceeded || cardPI.AutomaticPaymentMethods == nil ||
		!cardPI.AutomaticPaymentMethods.Enabled || strings.Join(cardPI.PaymentMethodTypes, ",") != "card,amazon_pay" {
		t.Errorf("card payment intent %s automatic %+v types %v", cardPI.Status, cardPI.AutomaticPaymentMethods, cardPI.PaymentMethodTypes)
	}
	if c := e.getPaymentIntent(cardPI.ID).LatestCharge; c.PaymentMethodDetails.Card == nil || c.PaymentMethodDetails.Card.Last4 != "4242" {
		t.Errorf("card charge details = %+v", c.PaymentMethodDetails)
	}
}

func TestPaymentIntentMagicDeclines(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, 0)
	e := newEnv(t, rcv.config)
	s := e.saveAmazonPay()
	rcv.collect(t, 2)

	for _, tc := range []struct {
		amount      int64
		declineCode stripe.DeclineCode
	}{{1201, "generic_decline"}, {1202, "insufficient_funds"}} {
		_, err := e.api.PaymentIntents.New(chargeParams(s, tc.amount))
		se := wantStripeError(t, err, http.StatusPaymentRequired, stripe.ErrorTypeCard, "payment_method_provider_decline", "")
		if se.DeclineCode != tc.declineCode || se.Msg == "" || !strings.HasPrefix(se.ChargeID, "ch_") {
			t.Errorf("%d: decline_code %q message %q charge %q, want %s", tc.amount, se.DeclineCode, se.Msg, se.ChargeID, tc.declineCode)
		}
		if ce, ok := se.Err.(*stripe.CardError); !ok || ce.DeclineCode != tc.declineCode {
			t.Errorf("%d: typed error %T, want a *stripe.CardError with %s", tc.amount, se.Err, tc.declineCode)
		}
		pi := se.PaymentIntent
		if pi == nil || !strings.HasPrefix(pi.ID, "pi_") || pi.Status != stripe.PaymentIntentStatusRequiresPaymentMethod ||
			pi.AmountReceived != 0 || pi.LastPaymentError == nil || pi.LastPaymentError.DeclineCode != tc.declineCode {
			t.Fatalf("%d: payment intent in the error = %+v", tc.amount, pi)
		}
		if pi.LastPaymentError.PaymentMethod == nil || pi.LastPaymentError.PaymentMethod.ID != s.pmID || pi.PaymentMethod != nil {
			t.Errorf("%d: last_payment_error.payment_method %+v, payment_method %+v (want the failed one, and unset)",
				tc.amount, pi.LastPaymentError.PaymentMethod, pi.PaymentMethod)
		}

		// The PaymentIntent is stored, with its failed charge.
		got := e.getPaymentIntent(pi.ID)
		if got.Status != stripe.PaymentIntentStatusRequiresPaymentMethod || got.LatestCharge == nil ||
			got.LatestCharge.Status != stripe.ChargeStatusFailed || got.LatestCharge.ID != se.ChargeID ||
			got.LatestCharge.FailureCode != "payment_method_provider_decline" || got.LatestCharge.Outcome.Reason != string(tc.declineCode) {
			t.Errorf("%d: retrieved %s, charge %+v", tc.amount, got.Status, got.LatestCharge)
		}

		events := rcv.collect(t, 3)
		failed, ok := events["payment_intent.payment_failed"]
		if !ok {
			t.Fatalf("%d: events %v lack payment_intent.payment_failed", tc.amount, events)
		}
		if _, ok := events["charge.failed"]; !ok {
			t.Errorf("%d: no charge.failed event", tc.amount)
		}
		obj, _ := decode[stripe.PaymentIntent](t, failed)
		if obj.ID != pi.ID || obj.LastPaymentError == nil || obj.LastPaymentError.DeclineCode != tc.declineCode {
			t.Errorf("%d: payment_failed carries %s %+v", tc.amount, obj.ID, obj.LastPaymentError)
		}
	}

	// A saved card declines with the card's code.
	card := e.saveCard()
	rcv.collect(t, 2)
	_, err := e.api.PaymentIntents.New(func() *stripe.PaymentIntentParams {
		p := chargeParams(card, 501)
		p.PaymentMethodTypes = stripe.StringSlice([]string{"card"})
		return p
	}())
	if se := wantStripeError(t, err, http.StatusPaymentRequired, stripe.ErrorTypeCard, stripe.ErrorCodeCardDeclined, ""); se.DeclineCode != "generic_decline" {
		t.Errorf("card decline_code %q, want generic_decline", se.DeclineCode)
	}
}

func TestPaymentIntentDeclineReplaysIdempotently(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.saveAmazonPay()

	p := chargeParams(s, 2002)
	p.SetIdempotencyKey("charge-2002")
	_, err := e.api.PaymentIntents.New(p)
	first := wantStripeError(t, err, http.StatusPaymentRequired, stripe.ErrorTypeCard, "payment_method_provider_decline", "")
	_, err = e.api.PaymentIntents.New(p)
	again := wantStripeError(t, err, http.StatusPaymentRequired, stripe.ErrorTypeCard, "payment_method_provider_decline", "")
	if first.PaymentIntent == nil || again.PaymentIntent == nil || again.PaymentIntent.ID != first.PaymentIntent.ID {
		t.Fatalf("replay answered with another PaymentIntent: %+v then %+v", first.PaymentIntent, again.PaymentIntent)
	}
	if got := again.LastResponse.Header.Get("Idempotent-Replayed"); got != "true" {
		t.Errorf("Idempotent-Replayed = %q, want true", got)
	}
	if got, want := again.LastResponse.Header.Get("Original-Request"), first.RequestID; got != want {
		t.Errorf("Original-Request = %q, want %q", got, want)
	}
	it := e.api.PaymentIntents.List(&stripe.PaymentIntentListParams{Customer: stripe.String(s.customer.ID)})
	n := 0
	for it.Next() {
		n++
	}
	if it.Err() != nil || n != 1 {
		t.Errorf("%d PaymentIntents (%v), want 1: the replay must not charge again", n, it.Err())
	}

	// The same key with other parameters is refused.
	p.Amount = stripe.Int64(2003)
	_, err = e.api.PaymentIntents.New(p)
	if se := stripeErr(t, err); se.Type != stripe.ErrorTypeIdempotency {
		t.Errorf("reuse with another amount: %s, want idempotency_error", se.Type)
	}
}

func TestPaymentIntentRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.saveAmazonPay()
	other := e.saveAmazonPay()

	for _, tc := range []struct {
		name       string
		change     func(p *stripe.PaymentIntentParams)
		code       stripe.ErrorCode
		param      string
		msgContain string
	}{
		{"another customer's payment method", func(p *stripe.PaymentIntentParams) { p.PaymentMethod = stripe.String(other.pmID) },
			"", "payment_method", "does not belong to the Customer"},
		{"no customer", func(p *stripe.PaymentIntentParams) { p.Customer = nil }, "", "customer", "attached to a Customer"},
		{"unknown payment method", func(p *stripe.PaymentIntentParams) { p.PaymentMethod = stripe.String("pm_nope") },
			"resource_missing", "payment_method", "No such PaymentMethod: 'pm_nope'"},
		{"no payment method", func(p *stripe.PaymentIntentParams) { p.PaymentMethod = nil }, "parameter_missing", "payment_method", "payment_method"},
		{"unknown customer", func(p *stripe.PaymentIntentParams) { p.Customer = stripe.String("cus_nope") },
			"resource_missing", "customer", "No such customer: 'cus_nope'"},
		{"no amount", func(p *stripe.PaymentIntentParams) { p.Amount = nil }, "parameter_missing", "amount", "Missing required param: amount."},
		{"no currency", func(p *stripe.PaymentIntentParams) { p.Currency = nil }, "parameter_missing", "currency", "Missing required param: currency."},
		{"below the minimum", func(p *stripe.PaymentIntentParams) { p.Amount = stripe.Int64(49) },
			"amount_too_small", "amount", "Amount must be at least $0.50 usd"},
		{"above the maximum", func(p *stripe.PaymentIntentParams) { p.Amount = stripe.Int64(100000000) }, "amount_too_large", "amount", "no more than"},
		{"not an Amazon Pay currency", func(p *stripe.PaymentIntentParams) { p.Currency = stripe.String("cad") }, "", "currency", "(cad) is invalid"},
		{"not usd on a US account", func(p *stripe.PaymentIntentParams) { p.Currency = stripe.String("eur") }, "", "currency", "for an account in US: usd"},
		{"unknown parameter", func(p *stripe.PaymentIntentParams) { p.AddExtra("colour", "blue") },
			"parameter_unknown", "colour", "Received unknown parameter: colour"},
		{"on session", func(p *stripe.PaymentIntentParams) { p.OffSession = nil }, "", "confirm", "off_session=true"},
		{"not confirmed", func(p *stripe.PaymentIntentParams) { p.Confirm = stripe.Bool(false) }, "", "confirm", "confirm=true"},
		{"manual capture", func(p *stripe.PaymentIntentParams) { p.CaptureMethod = stripe.String("manual") }, "", "capture_method", "manual capture"},
		{"type not allowed", func(p *stripe.PaymentIntentParams) { p.PaymentMethodTypes = stripe.StringSlice([]string{"card"}) },
			"", "payment_method", "not among this PaymentIntent's payment_method_types"},
		{"type not activated", func(p *stripe.PaymentIntentParams) { p.PaymentMethodTypes = stripe.StringSlice([]string{"klarna"}) },
			"", "payment_method_types[0]", `"klarna" is invalid`},
		{"bad boolean", func(p *stripe.PaymentIntentParams) { p.Confirm = nil; p.AddExtra("confirm", "yes") }, "", "confirm", "Invalid boolean: yes"},
		{"unknown expand", func(p *stripe.PaymentIntentParams) { p.AddExpand("latest_charge.refunds") }, "", "expand[0]", "cannot be expanded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := chargeParams(s, 1200)
			tc.change(p)
			_, err := e.api.PaymentIntents.New(p)
			se := wantStripeError(t, err, http.StatusBadRequest, stripe.ErrorTypeInvalidRequest, tc.code, tc.param)
			if !strings.Contains(se.Msg, tc.msgContain) {
				t.Errorf("message %q lacks %q", se.Msg, tc.msgContain)
			}
		})
	}
	// Nothing was created by a refused request.
	it := e.api.PaymentIntents.List(&stripe.PaymentIntentListParams{Customer: stripe.String(s.customer.ID)})
	if it.Next() {
		t.Errorf("a refused request created %s", it.PaymentIntent().ID)
	}
}

func TestPaymentIntentCurrenciesFollowTheAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *sandbox.Config) { c.Stripe.AccountCountry = "DE" })
	s := e.saveAmazonPay()

	p := chargeParams(s, 1000)
	p.Currency = stripe.String("EUR")
	pi, err := e.api.PaymentIntents.New(p)
	if err != nil || pi.Currency != "eur" || pi.Status != stripe.PaymentIntentStatusSucceeded {
		t.Fatalf("eur on a DE account: %+v, %v", pi, err)
	}
	p = chargeParams(s, 250)
	p.Currency = stripe.String("gbp") // above Stripe's 0.30 GBP minimum
	if _, err := e.api.PaymentIntents.New(p); err != nil {
		t.Errorf("gbp on a DE account: %v", err)
	}
	p = chargeParams(s, 49)
	p.Currency = stripe.String("jpy")
	_, err = e.api.PaymentIntents.New(p)
	if se := wantStripeError(t, err, 400, stripe.ErrorTypeInvalidRequest, "amount_too_small", "amount"); !strings.Contains(se.Msg, "¥50 jpy") {
		t.Errorf("jpy minimum message %q", se.Msg)
	}
}

func TestPaymentIntentRetrieveAndUnknownIDs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, tc := range []struct {
		name, want string
		call       func() error
	}{
		{"payment intent", "No such payment_intent: 'pi_nope'", func() error { _, err := e.api.PaymentIntents.Get("pi_nope", nil); return err }},
		{"charge", "No such charge: 'ch_nope'", func() error { _, err := e.api.Charges.Get("ch_nope", nil); return err }},
		{"refund", "No such refund: 're_nope'", func() error { _, err := e.api.Refunds.Get("re_nope", nil); return err }},
		{"mandate", "No such mandate: 'mandate_nope'", func() error { _, err := e.api.Mandates.Get("mandate_nope", nil); return err }},
		{"detach", "No such PaymentMethod: 'pm_nope'", func() error { _, err := e.api.PaymentMethods.Detach("pm_nope", nil); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			se := stripeErr(t, tc.call())
			if se.HTTPStatusCode != http.StatusNotFound || se.Code != stripe.ErrorCodeResourceMissing || se.Msg != tc.want {
				t.Errorf("got %d %s %q, want 404 resource_missing %q", se.HTTPStatusCode, se.Code, se.Msg, tc.want)
			}
		})
	}
}

func TestPaymentIntentListByCustomer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.saveAmazonPay()
	other := e.saveAmazonPay()

	var ids []string // oldest first
	for i, amount := range []int64{1000, 1100, 1201, 1300} {
		p := chargeParams(s, amount)
		p.Metadata = map[string]string{"charge_id": string(rune('a' + i))}
		pi, err := e.api.PaymentIntents.New(p)
		if err != nil {
			pi = stripeErr(t, err).PaymentIntent // the 1201 decline is listed too
		}
		ids = append(ids, pi.ID)
		if i == 1 {
			e.Clock.Advance(time.Minute) // two in one second, two later: the order holds both ways
		}
	}
	e.charge(other, 1000)

	// One page: the newest first, has_more set.
	it := e.api.PaymentIntents.List(&stripe.PaymentIntentListParams{
		Customer:   stripe.String(s.customer.ID),
		ListParams: stripe.ListParams{Limit: stripe.Int64(2), Single: true},
	})
	var page []string
	for it.Next() {
		page = append(page, it.PaymentIntent().ID)
	}
	if it.Err() != nil || strings.Join(page, ",") != ids[3]+","+ids[2] || !it.Meta().HasMore || it.Meta().URL != "/v1/payment_intents" {
		t.Errorf("first page %v (%v), has_more %v url %q; want %v", page, it.Err(), it.Meta().HasMore, it.Meta().URL, []string{ids[3], ids[2]})
	}

	// All pages through stripe-go's iterator (starting_after), with the
	// latest charge expanded, and the lookup by metadata the app makes.
	lp := &stripe.PaymentIntentListParams{Customer: stripe.String(s.customer.ID), ListParams: stripe.ListParams{Limit: stripe.Int64(2)}}
	lp.AddExpand("data.latest_charge")
	it = e.api.PaymentIntents.List(lp)
	var all []string
	var found *stripe.PaymentIntent
	for it.Next() {
		pi := it.PaymentIntent()
		all = append(all, pi.ID)
		if pi.LatestCharge == nil || pi.LatestCharge.Amount != pi.Amount {
			t.Errorf("%s latest_charge not expanded: %+v", pi.ID, pi.LatestCharge)
		}
		if pi.Metadata["charge_id"] == "b" {
			found = pi
		}
	}
	if it.Err() != nil || strings.Join(all, ",") != strings.Join([]string{ids[3], ids[2], ids[1], ids[0]}, ",") {
		t.Errorf("all pages %v (%v), want newest first %v", all, it.Err(), ids)
	}
	if found == nil || found.ID != ids[1] {
		t.Errorf("lookup by metadata found %+v, want %s", found, ids[1])
	}

	// ending_before pages back towards the newest.
	it = e.api.PaymentIntents.List(&stripe.PaymentIntentListParams{
		Customer:   stripe.String(s.customer.ID),
		ListParams: stripe.ListParams{Limit: stripe.Int64(1), EndingBefore: stripe.String(ids[1]), Single: true},
	})
	if !it.Next() || it.PaymentIntent().ID != ids[2] || !it.Meta().HasMore {
		t.Errorf("ending_before %s: %v, want %s with has_more", ids[1], it.Err(), ids[2])
	}

	for name, lp := range map[string]*stripe.PaymentIntentListParams{
		"limit 0":           {ListParams: stripe.ListParams{Limit: stripe.Int64(0)}},
		"limit 101":         {ListParams: stripe.ListParams{Limit: stripe.Int64(101)}},
		"unknown cursor":    {ListParams: stripe.ListParams{StartingAfter: stripe.String("pi_nope")}},
		"unprefixed expand": {Expand: []*string{stripe.String("latest_charge")}},
	} {
		it := e.api.PaymentIntents.List(lp)
		if it.Next() || it.Err() == nil {
			t.Errorf("%s: no error", name)
		} else if se := stripeErr(t, it.Err()); se.HTTPStatusCode != 400 {
			t.Errorf("%s: %d %q, want 400", name, se.HTTPStatusCode, se.Msg)
		}
	}
}

func TestAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, err := e.api.Accounts.Get()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(a.ID, "acct_") || a.Object != "account" || a.Country != "US" || a.DefaultCurrency != "usd" ||
		a.BusinessProfile == nil || a.BusinessProfile.Name != testMerchant || !a.ChargesEnabled {
		t.Errorf("account = %+v, business profile %+v", a, a.BusinessProfile)
	}
	e.Reopen()
	again, err := e.api.Accounts.Get()
	if err != nil || again.ID != a.ID || again.Created != a.Created {
		t.Errorf("after reopen: %s (%d), %v; want the same account %s (%d)", again.ID, again.Created, err, a.ID, a.Created)
	}

	gb := newEnv(t, func(c *sandbox.Config) { c.Stripe.AccountCountry = "GB" })
	if a, err := gb.api.Accounts.Get(); err != nil || a.Country != "GB" || a.DefaultCurrency != "gbp" {
		t.Errorf("GB account: %+v, %v", a, err)
	}
}

func TestAccountCountryIsValidated(t *testing.T) {
	t.Parallel()
	cfg := sandbox.Config{
		DBPath:       filepath.Join(t.TempDir(), "sandbox.db"),
		PublicURL:    "http://localhost/sandbox",
		MerchantName: testMerchant,
		Stripe:       sandbox.StripeConfig{SecretKey: testKey, AccountCountry: "CA"},
	}
	if _, err := sandbox.New(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "AccountCountry") {
		t.Errorf("New with a country without Amazon Pay: %v", err)
	}
}

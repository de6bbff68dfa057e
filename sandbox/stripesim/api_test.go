package stripesim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
)

func TestCustomerCreateAndGet(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	p := &stripe.CustomerParams{
		Email:       stripe.String("ada@example.com"),
		Name:        stripe.String("Ada Lovelace"),
		Description: stripe.String("first customer"),
		Phone:       stripe.String("+15555550100"),
		Address:     &stripe.AddressParams{Country: stripe.String("US")},
	}
	p.AddMetadata("user_id", "7")
	c, err := e.api.Customers.New(p)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if !strings.HasPrefix(c.ID, "cus_") {
		t.Errorf("id %q lacks cus_", c.ID)
	}
	if got := c.LastResponse.RequestID; !strings.HasPrefix(got, "req_") {
		t.Errorf("Request-Id %q lacks req_", got)
	}

	got, err := e.api.Customers.Get(c.ID, nil)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if got.ID != c.ID || got.Email != "ada@example.com" || got.Name != "Ada Lovelace" ||
		got.Description != "first customer" || got.Phone != "+15555550100" {
		t.Errorf("customer = %+v", got)
	}
	if got.Address == nil || got.Address.Country != "US" {
		t.Errorf("address = %+v, want country US", got.Address)
	}
	if got, want := got.Metadata["user_id"], "7"; got != want {
		t.Errorf("metadata user_id = %q, want %q", got, want)
	}
	if got.Livemode || got.Created == 0 {
		t.Errorf("livemode %v created %d", got.Livemode, got.Created)
	}

	// The raw JSON has Stripe's object name.
	var raw struct {
		Object string `json:"object"`
	}
	if err := json.Unmarshal(got.LastResponse.RawJSON, &raw); err != nil || raw.Object != "customer" {
		t.Errorf("object = %q (%v), want customer", raw.Object, err)
	}
}

func TestCustomerInvalidEmail(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, err := e.api.Customers.New(&stripe.CustomerParams{Email: stripe.String("not an email")})
	se := stripeErr(t, err)
	if se.HTTPStatusCode != 400 || se.Code != "email_invalid" || se.Param != "email" {
		t.Errorf("error = %d %s %s, want 400 email_invalid email", se.HTTPStatusCode, se.Code, se.Param)
	}
}

func TestCheckoutSessionCreateAndRetrieve(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.createCustomer("Ada Lovelace", "ada@example.com")

	cs := e.createSession(sessionParams(c.ID))
	if !strings.HasPrefix(cs.ID, "cs_test_") {
		t.Errorf("id %q lacks cs_test_", cs.ID)
	}
	if cs.Mode != stripe.CheckoutSessionModeSetup || cs.Status != stripe.CheckoutSessionStatusOpen ||
		cs.PaymentStatus != stripe.CheckoutSessionPaymentStatusNoPaymentRequired {
		t.Errorf("mode %s status %s payment_status %s", cs.Mode, cs.Status, cs.PaymentStatus)
	}
	if got, want := cs.URL, e.Public+"/stripe/checkout/"+cs.ID; got != want {
		t.Errorf("url = %q, want %q", got, want)
	}
	if got, want := cs.SuccessURL, "http://shop.test/success?session_id={CHECKOUT_SESSION_ID}"; got != want {
		t.Errorf("success_url = %q, want the literal template %q", got, want)
	}
	if cs.CustomText == nil || cs.CustomText.Submit == nil || cs.CustomText.Submit.Message != testMandate {
		t.Errorf("custom_text = %+v", cs.CustomText)
	}
	if cs.Customer == nil || cs.Customer.ID != c.ID {
		t.Errorf("customer = %+v, want %s", cs.Customer, c.ID)
	}
	if cs.ClientReferenceID != "mandate-42" || cs.Metadata["mandate_id"] != "42" || cs.CancelURL != "http://shop.test/cancel" {
		t.Errorf("client_reference_id %q metadata %v cancel_url %q", cs.ClientReferenceID, cs.Metadata, cs.CancelURL)
	}
	if got, want := cs.ExpiresAt, cs.Created+24*3600; got != want {
		t.Errorf("expires_at = %d, want created + 24 h = %d", got, want)
	}
	if cs.SetupIntent == nil || !strings.HasPrefix(cs.SetupIntent.ID, "seti_") {
		t.Fatalf("setup_intent = %+v, want a seti_ id", cs.SetupIntent)
	}
	if cs.SetupIntent.Status != "" {
		t.Errorf("setup_intent was expanded without asking: %+v", cs.SetupIntent)
	}
	if got, want := strings.Join(cs.PaymentMethodTypes, ","), "card,amazon_pay"; got != want {
		t.Errorf("payment_method_types = %s, want %s", got, want)
	}

	got := e.getSession(cs.ID)
	si := got.SetupIntent
	if si.Status != stripe.SetupIntentStatusRequiresPaymentMethod || si.Usage != stripe.SetupIntentUsageOffSession {
		t.Errorf("setup intent status %s usage %s", si.Status, si.Usage)
	}
	if si.Metadata["mandate_id"] != "42" || si.Customer == nil || si.Customer.ID != c.ID {
		t.Errorf("setup intent metadata %v customer %+v", si.Metadata, si.Customer)
	}
	if si.PaymentMethod != nil {
		t.Errorf("payment_method = %+v before any approval", si.PaymentMethod)
	}
	if !strings.HasPrefix(si.ClientSecret, si.ID+"_secret_") {
		t.Errorf("client_secret %q", si.ClientSecret)
	}

	// customer expands too; the SetupIntent is also retrievable on its own.
	p := &stripe.CheckoutSessionParams{}
	p.AddExpand("customer")
	withCustomer, err := e.api.CheckoutSessions.Get(cs.ID, p)
	if err != nil {
		t.Fatalf("get with customer: %v", err)
	}
	if withCustomer.Customer.Email != "ada@example.com" {
		t.Errorf("expanded customer = %+v", withCustomer.Customer)
	}
	direct, err := e.api.SetupIntents.Get(si.ID, nil)
	if err != nil || direct.ID != si.ID || direct.Status != si.Status {
		t.Errorf("setup intent get = %+v, %v", direct, err)
	}
}

func TestCheckoutSessionDynamicPaymentMethods(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := sessionParams(e.createCustomer("A", "a@example.com").ID)
	p.PaymentMethodTypes = nil
	p.Currency = stripe.String("USD")
	cs := e.createSession(p)
	if got, want := strings.Join(cs.PaymentMethodTypes, ","), "card,amazon_pay"; got != want {
		t.Errorf("usd: payment_method_types = %s, want %s", got, want)
	}
	if got, want := string(cs.Currency), "usd"; got != want {
		t.Errorf("currency = %s, want %s", got, want)
	}

	p.Currency = stripe.String("cad") // not an Amazon Pay currency
	cs = e.createSession(p)
	if got, want := strings.Join(cs.PaymentMethodTypes, ","), "card"; got != want {
		t.Errorf("cad: payment_method_types = %s, want %s", got, want)
	}
}

func TestCheckoutSessionExpire(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, cs := e.newFlow()

	expired, err := e.api.CheckoutSessions.Expire(cs.ID, nil)
	if err != nil {
		t.Fatalf("expire: %v", err)
	}
	if expired.Status != stripe.CheckoutSessionStatusExpired || expired.URL != "" {
		t.Errorf("after expire: status %s url %q, want expired and null", expired.Status, expired.URL)
	}
	if got := e.getSession(cs.ID); got.Status != stripe.CheckoutSessionStatusExpired {
		t.Errorf("retrieved status %s, want expired", got.Status)
	}

	_, err = e.api.CheckoutSessions.Expire(cs.ID, nil)
	se := stripeErr(t, err)
	if se.HTTPStatusCode != 400 || se.Type != stripe.ErrorTypeInvalidRequest || !strings.Contains(se.Msg, "open") {
		t.Errorf("second expire: %d %s %q, want 400 invalid_request_error about open sessions", se.HTTPStatusCode, se.Type, se.Msg)
	}
}

func TestCheckoutSessionExpiresLazily(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, cs := e.newFlow()

	e.Clock.Advance(24*time.Hour - time.Second)
	if got := e.getSession(cs.ID); got.Status != stripe.CheckoutSessionStatusOpen {
		t.Fatalf("status %s just before expires_at, want open", got.Status)
	}
	e.Clock.Advance(time.Second)
	got := e.getSession(cs.ID)
	if got.Status != stripe.CheckoutSessionStatusExpired || got.URL != "" {
		t.Errorf("at expires_at: status %s url %q, want expired and null", got.Status, got.URL)
	}
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	for _, tc := range []struct {
		name, key, wantMsg string
	}{
		{"no key", "", "You did not provide an API key"},
		{"wrong key", "sk_test_wrong_key_0000000000001234", "Invalid API Key provided: sk_test_"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := stripeClient(e.BaseURL, tc.key).Customers.New(&stripe.CustomerParams{Email: stripe.String("a@example.com")})
			se := stripeErr(t, err)
			if se.HTTPStatusCode != http.StatusUnauthorized || se.Type != stripe.ErrorTypeInvalidRequest {
				t.Errorf("got %d %s, want 401 invalid_request_error", se.HTTPStatusCode, se.Type)
			}
			if !strings.Contains(se.Msg, tc.wantMsg) {
				t.Errorf("message %q lacks %q", se.Msg, tc.wantMsg)
			}
			if tc.key != "" && strings.Contains(se.Msg, tc.key) {
				t.Errorf("message %q repeats the whole key", se.Msg)
			}
		})
	}

	// Basic auth with the key as user name works, as with Stripe.
	req, _ := http.NewRequest(http.MethodGet, e.BaseURL+"/sandbox/stripe/v1/customers/cus_missing", nil)
	req.SetBasicAuth(testKey, "")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if got, want := res.StatusCode, http.StatusNotFound; got != want {
		t.Errorf("basic auth: status %d, want %d (authenticated, unknown id)", got, want)
	}
}

func TestUnknownIDs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, tc := range []struct {
		name    string
		call    func() error
		wantMsg string
	}{
		{"customer", func() error { _, err := e.api.Customers.Get("cus_nope", nil); return err }, "No such customer: 'cus_nope'"},
		{"session", func() error { _, err := e.api.CheckoutSessions.Get("cs_test_nope", nil); return err }, "No such checkout.session: 'cs_test_nope'"},
		{"expire", func() error { _, err := e.api.CheckoutSessions.Expire("cs_test_nope", nil); return err }, "No such checkout.session: 'cs_test_nope'"},
		{"setup intent", func() error { _, err := e.api.SetupIntents.Get("seti_nope", nil); return err }, "No such setupintent: 'seti_nope'"},
		{"payment method", func() error { _, err := e.api.PaymentMethods.Get("pm_nope", nil); return err }, "No such PaymentMethod: 'pm_nope'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			se := stripeErr(t, tc.call())
			if se.HTTPStatusCode != http.StatusNotFound || se.Code != stripe.ErrorCodeResourceMissing || se.Msg != tc.wantMsg {
				t.Errorf("got %d %s %q, want 404 resource_missing %q", se.HTTPStatusCode, se.Code, se.Msg, tc.wantMsg)
			}
			if !strings.HasPrefix(se.RequestID, "req_") {
				t.Errorf("request id %q", se.RequestID)
			}
		})
	}

	// A path the sandbox does not implement.
	req, _ := http.NewRequest(http.MethodPost, e.BaseURL+"/sandbox/stripe/v1/invoices", nil)
	req.Header.Set("Authorization", "Bearer "+testKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound || !strings.Contains(string(body), "Unrecognized request URL (POST: /v1/invoices)") {
		t.Errorf("unknown path: %d %s", res.StatusCode, body)
	}
	if !strings.HasPrefix(res.Header.Get("Request-Id"), "req_") {
		t.Errorf("unknown path: Request-Id %q", res.Header.Get("Request-Id"))
	}
}

func TestCheckoutSessionValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.createCustomer("Ada", "ada@example.com")
	now := e.Clock.Now()

	manyKeys := map[string]string{}
	for i := range 51 {
		manyKeys["k"+strconv.Itoa(i)] = "v"
	}
	for _, tc := range []struct {
		name       string
		change     func(p *stripe.CheckoutSessionParams)
		status     int
		code       stripe.ErrorCode
		param      string
		msgContain string
	}{
		{"unknown parameter", func(p *stripe.CheckoutSessionParams) { p.AddExtra("colour", "blue") },
			400, "parameter_unknown", "colour", "Received unknown parameter: colour"},
		{"unknown nested parameter", func(p *stripe.CheckoutSessionParams) { p.AddExtra("setup_intent_data[colour]", "blue") },
			400, "parameter_unknown", "setup_intent_data[colour]", "Received unknown parameter: setup_intent_data[colour]"},
		{"missing mode", func(p *stripe.CheckoutSessionParams) { p.Mode = nil },
			400, "parameter_missing", "mode", "Missing required param: mode."},
		{"payment mode", func(p *stripe.CheckoutSessionParams) { p.Mode = stripe.String("payment") },
			400, "", "mode", "only in setup mode"},
		{"bogus mode", func(p *stripe.CheckoutSessionParams) { p.Mode = stripe.String("bogus") },
			400, "", "mode", "Invalid mode"},
		{"unknown payment method type", func(p *stripe.CheckoutSessionParams) {
			p.PaymentMethodTypes = stripe.StringSlice([]string{"card", "bogus_pay"})
		}, 400, "", "payment_method_types[1]", `"bogus_pay" is invalid`},
		{"no success url", func(p *stripe.CheckoutSessionParams) { p.SuccessURL = nil },
			400, "parameter_missing", "success_url", "Missing required param: success_url."},
		{"neither types nor currency", func(p *stripe.CheckoutSessionParams) { p.PaymentMethodTypes = nil },
			400, "parameter_missing", "currency", "payment_method_types is not set"},
		{"unknown customer", func(p *stripe.CheckoutSessionParams) { p.Customer = stripe.String("cus_nope") },
			400, "resource_missing", "customer", "No such customer: 'cus_nope'"},
		{"customer and customer_email", func(p *stripe.CheckoutSessionParams) { p.CustomerEmail = stripe.String("a@example.com") },
			400, "", "customer_email", "only specify one"},
		{"malformed success url", func(p *stripe.CheckoutSessionParams) { p.SuccessURL = stripe.String("not a url") },
			400, "url_invalid", "success_url", "Not a valid URL"},
		{"javascript cancel url", func(p *stripe.CheckoutSessionParams) { p.CancelURL = stripe.String("javascript:alert(1)") },
			400, "url_invalid", "cancel_url", "Not a valid URL"},
		{"too many metadata keys", func(p *stripe.CheckoutSessionParams) { p.Metadata = manyKeys },
			400, "", "metadata", "up to 50 keys"},
		{"metadata key too long", func(p *stripe.CheckoutSessionParams) { p.AddMetadata(strings.Repeat("k", 41), "v") },
			400, "", "metadata[" + strings.Repeat("k", 41) + "]", "40 characters"},
		{"metadata value too long", func(p *stripe.CheckoutSessionParams) {
			p.SetupIntentData.Metadata["note"] = strings.Repeat("v", 501)
		}, 400, "", "setup_intent_data[metadata][note]", "500 characters"},
		{"custom text too long", func(p *stripe.CheckoutSessionParams) {
			p.CustomText.Submit.Message = stripe.String(strings.Repeat("x", 1201))
		}, 400, "", "custom_text[submit][message]", "1200 characters"},
		{"expires too soon", func(p *stripe.CheckoutSessionParams) { p.ExpiresAt = stripe.Int64(now.Add(29 * time.Minute).Unix()) },
			400, "", "expires_at", "at least 30 minutes"},
		{"expires too late", func(p *stripe.CheckoutSessionParams) { p.ExpiresAt = stripe.Int64(now.Add(25 * time.Hour).Unix()) },
			400, "", "expires_at", "less than 24 hours"},
		{"unknown locale", func(p *stripe.CheckoutSessionParams) { p.Locale = stripe.String("xx") },
			400, "", "locale", "Invalid locale"},
		{"unknown expand", func(p *stripe.CheckoutSessionParams) { p.AddExpand("line_items") },
			400, "", "expand[0]", "cannot be expanded (line_items)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := sessionParams(c.ID)
			tc.change(p)
			_, err := e.api.CheckoutSessions.New(p)
			se := stripeErr(t, err)
			if se.HTTPStatusCode != tc.status || se.Code != tc.code || se.Param != tc.param ||
				se.Type != stripe.ErrorTypeInvalidRequest || !strings.Contains(se.Msg, tc.msgContain) {
				t.Errorf("got %d %s code=%q param=%q %q;\nwant %d invalid_request_error code=%q param=%q containing %q",
					se.HTTPStatusCode, se.Type, se.Code, se.Param, se.Msg, tc.status, tc.code, tc.param, tc.msgContain)
			}
		})
	}

	// A valid expires_at inside the window is kept.
	p := sessionParams(c.ID)
	p.ExpiresAt = stripe.Int64(now.Add(time.Hour).Unix())
	if cs := e.createSession(p); cs.ExpiresAt != *p.ExpiresAt {
		t.Errorf("expires_at = %d, want %d", cs.ExpiresAt, *p.ExpiresAt)
	}
}

func TestRetrieveUnknownExpand(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, cs := e.newFlow()
	p := &stripe.CheckoutSessionParams{}
	p.AddExpand("setup_intent")
	p.AddExpand("setup_intent.metadata")
	_, err := e.api.CheckoutSessions.Get(cs.ID, p)
	se := stripeErr(t, err)
	if se.HTTPStatusCode != 400 || se.Param != "expand[1]" || !strings.Contains(se.Msg, "setup_intent.metadata") {
		t.Errorf("got %d param=%q %q, want 400 expand[1] naming setup_intent.metadata", se.HTTPStatusCode, se.Param, se.Msg)
	}
}

func TestIdempotency(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	newCustomer := func(key, email string) (*stripe.Customer, error) {
		p := &stripe.CustomerParams{Email: stripe.String(email)}
		p.SetIdempotencyKey(key)
		return e.api.Customers.New(p)
	}
	first, err := newCustomer("key-1", "a@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if got := first.LastResponse.Header.Get("Idempotent-Replayed"); got != "" {
		t.Errorf("first response Idempotent-Replayed = %q", got)
	}
	again, err := newCustomer("key-1", "a@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != first.ID {
		t.Errorf("replay created %s, want the first customer %s", again.ID, first.ID)
	}
	if got, want := again.LastResponse.Header.Get("Idempotent-Replayed"), "true"; got != want {
		t.Errorf("Idempotent-Replayed = %q, want %q", got, want)
	}
	if got, want := again.LastResponse.Header.Get("Original-Request"), first.LastResponse.RequestID; got != want {
		t.Errorf("Original-Request = %q, want %q", got, want)
	}

	_, err = newCustomer("key-1", "b@example.com")
	se := stripeErr(t, err)
	if se.HTTPStatusCode != 400 || se.Type != stripe.ErrorTypeIdempotency || !strings.Contains(se.Msg, "key-1") {
		t.Errorf("reuse with other params: %d %s %q, want 400 idempotency_error", se.HTTPStatusCode, se.Type, se.Msg)
	}

	// A request refused by validation is not stored: the key stays free.
	_, err = newCustomer("key-2", "not an email")
	if se := stripeErr(t, err); se.Code != "email_invalid" {
		t.Fatalf("invalid request: %v", err)
	}
	if _, err := newCustomer("key-2", "c@example.com"); err != nil {
		t.Errorf("key of a refused request could not be reused: %v", err)
	}

	// Sessions replay too.
	c := e.createCustomer("Ada", "ada@example.com")
	p := sessionParams(c.ID)
	p.SetIdempotencyKey("session-1")
	s1 := e.createSession(p)
	s2 := e.createSession(p)
	if s1.ID != s2.ID || s2.LastResponse.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("session replay: %s then %s (replayed %q)", s1.ID, s2.ID, s2.LastResponse.Header.Get("Idempotent-Replayed"))
	}
}

func TestStatePersistsAcrossReopen(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c, cs := e.newFlow()
	e.chooseAmazonPay(cs)
	p := &stripe.CustomerParams{Email: stripe.String("b@example.com")}
	p.SetIdempotencyKey("persisted-key")
	keyed, err := e.api.Customers.New(p)
	if err != nil {
		t.Fatal(err)
	}

	e.Reopen()

	if got, err := e.api.Customers.Get(c.ID, nil); err != nil || got.Email != "ada@example.com" {
		t.Errorf("customer after reopen: %+v, %v", got, err)
	}
	got := e.getSession(cs.ID)
	if got.Status != stripe.CheckoutSessionStatusOpen || got.SetupIntent.Status != stripe.SetupIntentStatusRequiresAction {
		t.Errorf("after reopen: session %s, setup intent %s; want open, requires_action", got.Status, got.SetupIntent.Status)
	}
	replayed, err := e.api.Customers.New(p)
	if err != nil || replayed.ID != keyed.ID {
		t.Errorf("idempotent replay after reopen: %v, %v; want %s", replayed, err, keyed.ID)
	}
}

func TestRefusesWhatItCannotHonour(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	// Unknown parameters on a retrieve, like on a create.
	p := &stripe.CustomerParams{}
	p.AddExtra("colour", "blue")
	_, err := e.api.Customers.Get("cus_any", p)
	if se := stripeErr(t, err); se.HTTPStatusCode != 400 || se.Code != "parameter_unknown" || se.Param != "colour" {
		t.Errorf("unknown query parameter: %d %s %s", se.HTTPStatusCode, se.Code, se.Param)
	}

	for name, header := range map[string][2]string{
		"another API version": {"Stripe-Version", "2024-04-10"},
		"Connect":             {"Stripe-Account", "acct_123"},
	} {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, e.BaseURL+"/sandbox/stripe/v1/customers/cus_any", nil)
			req.Header.Set("Authorization", "Bearer "+testKey)
			req.Header.Set(header[0], header[1])
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var body struct {
				Error struct {
					Type    string `json:"type"`
					Message string `json:"message"`
				} `json:"error"`
			}
			err = json.NewDecoder(res.Body).Decode(&body)
			res.Body.Close()
			if err != nil || res.StatusCode != 400 || body.Error.Type != "invalid_request_error" || body.Error.Message == "" {
				t.Errorf("%s: %d %+v (%v), want 400 invalid_request_error", header[0], res.StatusCode, body, err)
			}
		})
	}
}

package stripesim

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"example.com/storefront/sandbox/simkit"
)

// The Stripe API subset, under /sandbox/stripe/v1/ (stripe-go's base URL is
// PublicURL + "/stripe"): what the storefront calls, nothing more.

const stripeAPIPrefix = "/sandbox/stripe"

func (s *Sim) stripeAPIRoutes(mux *http.ServeMux) {
	const v1 = stripeAPIPrefix + "/v1"
	mux.Handle("POST "+v1+"/customers", s.stripeAPI(customerCreateSpec, s.stripeCreateCustomer))
	mux.Handle("GET "+v1+"/customers/{id}", s.stripeAPI(retrieveSpec, s.stripeGetCustomer))
	mux.Handle("POST "+v1+"/checkout/sessions", s.stripeAPI(sessionCreateSpec, s.stripeCreateCheckoutSession))
	mux.Handle("GET "+v1+"/checkout/sessions/{id}", s.stripeAPI(retrieveSpec, s.stripeGetCheckoutSession))
	mux.Handle("POST "+v1+"/checkout/sessions/{id}/expire", s.stripeAPI(retrieveSpec, s.stripeExpireCheckoutSession))
	mux.Handle("GET "+v1+"/setup_intents/{id}", s.stripeAPI(retrieveSpec, s.stripeGetSetupIntent))
	mux.Handle("GET "+v1+"/payment_methods/{id}", s.stripeAPI(retrieveSpec, s.stripeGetPaymentMethod))
	mux.Handle("POST "+v1+"/payment_methods/{id}/detach", s.stripeAPI(retrieveSpec, s.stripeDetachPaymentMethodAPI))
	mux.Handle("GET "+v1+"/mandates/{id}", s.stripeAPI(retrieveSpec, s.stripeGetMandate))
	mux.Handle("GET "+v1+"/account", s.stripeAPI(retrieveSpec, s.stripeGetAccount))
	mux.Handle("POST "+v1+"/payment_intents", s.stripeAPI(paymentIntentCreateSpec, s.stripeCreatePaymentIntent))
	mux.Handle("GET "+v1+"/payment_intents", s.stripeAPI(paymentIntentListSpec, s.stripeListPaymentIntents))
	mux.Handle("GET "+v1+"/payment_intents/{id}", s.stripeAPI(retrieveSpec, s.stripeGetPaymentIntent))
	mux.Handle("GET "+v1+"/charges/{id}", s.stripeAPI(retrieveSpec, s.stripeGetCharge))
	mux.Handle("POST "+v1+"/refunds", s.stripeAPI(refundCreateSpec, s.stripeCreateRefund))
	mux.Handle("GET "+v1+"/refunds", s.stripeAPI(refundListSpec, s.stripeListRefunds))
	mux.Handle("GET "+v1+"/refunds/{id}", s.stripeAPI(retrieveSpec, s.stripeGetRefund))
	mux.Handle("GET "+v1+"/disputes", s.stripeAPI(disputeListSpec, s.stripeListDisputes))
	mux.Handle("GET "+v1+"/disputes/{id}", s.stripeAPI(retrieveSpec, s.stripeGetDispute))
	mux.Handle(v1+"/", s.stripeAPI(retrieveSpec, nil))
}

// stripeRequest is what an endpoint gets: validated parameters and the
// request's identity (events name the request that caused them).
type stripeRequest struct {
	id             string // req_…
	pathID         string // the {id} in the path, if any
	params         *paramNode
	idempotencyKey string
}

// stripeHandler runs inside one transaction and returns the object to
// answer with (or a *stripeError).
type stripeHandler func(ctx context.Context, tx *simkit.WriteTx, req *stripeRequest) (any, error)

// stripeAPI wraps an endpoint with what every Stripe request goes through:
// Request-Id, authentication, parameter parsing and validation against
// spec, idempotency for POSTs, and Stripe's error format. A nil h answers
// "Unrecognized request URL", after authentication, as Stripe does.
func (s *Sim) stripeAPI(spec paramSpec, h stripeHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := &stripeRequest{id: simkit.NewID("req_", 14), pathID: r.PathValue("id")}
		w.Header().Set("Request-Id", req.id)
		w.Header().Set("Stripe-Version", stripeAPIVersion)

		if e := s.stripeCheckHeaders(r); e != nil {
			writeStripeError(w, e)
			return
		}
		if h == nil {
			writeStripeError(w, errUnrecognizedURL(r.Method, strings.TrimPrefix(r.URL.Path, stripeAPIPrefix)))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		if err := r.ParseForm(); err != nil {
			writeStripeError(w, errParamInvalid("", "The request could not be parsed as application/x-www-form-urlencoded parameters: %v", err))
			return
		}
		params, e := parseStripeParams(r.Form)
		if e == nil {
			e = params.validate(spec, "")
		}
		if e != nil {
			writeStripeError(w, e)
			return
		}
		req.params = params

		var fingerprint string
		if r.Method == http.MethodPost {
			req.idempotencyKey = strings.TrimSpace(r.Header.Get("Idempotency-Key"))
		}
		if req.idempotencyKey != "" {
			if len(req.idempotencyKey) > 255 {
				writeStripeError(w, errParamInvalid("", "Idempotency-Key must be at most 255 characters long."))
				return
			}
			w.Header().Set("Idempotency-Key", req.idempotencyKey)
			fingerprint = requestFingerprint(r.Method, r.URL.Path, r.Form)
		}

		s.serveStripe(w, r, req, fingerprint, h)
	})
}

// serveStripe runs an authenticated, validated request in one
// transaction: it reserves its idempotency key (or answers with the key's
// stored answer, or 409 while the key's first request runs), catches up
// with what is due (due.go), runs h, and stores the answer under the key.
// Reads run in a write transaction too: reading a session can expire it.
// Only Settings.HoldBefore commits the reservation on its own first, so
// that others see the key in use while the request waits to start.
func (s *Sim) serveStripe(w http.ResponseWriter, r *http.Request, req *stripeRequest, fingerprint string, h stripeHandler) {
	ctx := r.Context()
	key := req.idempotencyKey
	s.host.Lock()
	defer s.host.Unlock()

	// reserved: the key's reservation is committed already, so a refusal
	// must release it.
	reserved := false
	if d := s.Settings().HoldBefore; key != "" && d > 0 {
		var answer func(http.ResponseWriter)
		err := s.host.Write(ctx, func(tx *simkit.WriteTx) error {
			var err error
			answer, err = s.reserveKey(ctx, tx, req, fingerprint, true)
			return err
		})
		if err != nil {
			s.writeStripeFailure(w, r, req, err)
			return
		}
		if answer != nil {
			answer(w)
			return
		}
		reserved = true
		// Reserved but not yet running (Settings.HoldBefore), without
		// holding up other requests.
		s.host.WaitUnlocked(ctx, d)
		if ctx.Err() != nil {
			// The caller gave up before the work began: nothing was done,
			// so nothing is stored and the key may be used again.
			s.releaseKey(ctx, req)
			return
		}
	}

	// Once it has begun, the work runs to its end and its answer is kept
	// under the key even if the caller gives up, as at Stripe: a resend
	// with the key gets that answer. Cut short by the caller's context, it
	// stored a 500 that every resend then got.
	ctx = context.WithoutCancel(ctx)
	hold := s.Settings().InFlight
	var body []byte
	status := http.StatusOK
	var answer func(http.ResponseWriter) // by the key's record: a replay, or a refusal
	ran := false                         // the key is reserved and the work began
	err := s.host.Write(ctx, func(tx *simkit.WriteTx) error {
		if key != "" && !reserved {
			var err error
			// The answer goes under the key in this transaction, unless
			// the request is held in flight (Settings.InFlight): only then
			// must others see the key reserved before it is done.
			if answer, err = s.reserveKey(ctx, tx, req, fingerprint, hold > 0); err != nil || answer != nil {
				return err
			}
		}
		ran = true
		// What Stripe would have done in the meantime (settling
		// refunds) happens before the request sees anything.
		if err := s.stripeCatchUp(ctx, tx); err != nil {
			return err
		}
		obj, err := h(ctx, tx, req)
		var declined *stripeError
		switch {
		case errors.As(err, &declined) && declined.committed:
			status, obj = declined.status, stripeErrorBody(declined)
		case err != nil:
			return err
		}
		// The request ran: FailNext fails it now, undoing its work.
		if s.takeFailure() {
			return errFailNext()
		}
		if body, err = stripeJSON(obj); err != nil {
			return err
		}
		switch {
		case key == "" || hold > 0:
			return nil
		case reserved:
			return s.storeAnswer(ctx, tx, req, fingerprint, status, body)
		}
		return simkit.CompleteIdempotency(ctx, tx, Provider, s.scope, key,
			simkit.IdempotencyRecord{Fingerprint: fingerprint, StatusCode: status, Body: body, RequestID: req.id}, s.host.Now())
	})
	var se *stripeError
	switch {
	case answer != nil && err == nil:
		answer(w)
		return
	case !ran:
		// Failed before the work began (reading the key's record):
		// nothing to store.
		s.writeStripeFailure(w, r, req, err)
		return
	case errors.As(err, &se) && se.status < http.StatusInternalServerError:
		// Refused before it ran: Stripe saves no result for a request that
		// failed validation, and its key may be used again (a reservation
		// made in the transaction was rolled back with it).
		if reserved {
			s.releaseKey(ctx, req)
		}
		writeStripeError(w, se)
		return
	case err != nil:
		// It failed while it ran: Stripe stores that 500 under the key
		// and replays it.
		if !errors.As(err, &se) {
			s.host.Logger().Error("sandbox stripe API", "method", r.Method, "path", r.URL.Path, "request", req.id, "err", err)
			se = errInternal()
		}
		if key != "" {
			failed, jerr := stripeJSON(stripeErrorBody(se))
			if jerr == nil {
				// context.WithoutCancel, in the transaction too: a caller
				// that gave up must not leave its key reserved.
				sctx := context.WithoutCancel(ctx)
				jerr = s.host.Write(sctx, func(tx *simkit.WriteTx) error {
					return s.storeAnswer(sctx, tx, req, fingerprint, se.status, failed)
				})
			}
			if jerr != nil {
				s.host.Logger().Error("sandbox stripe API: store failed request", "request", req.id, "err", jerr)
			}
		}
		writeStripeError(w, se)
		return
	}

	if key != "" && hold > 0 {
		// Still running, its key in use (Settings.InFlight), without
		// holding up other requests; its work is done and stays done even
		// if the caller gives up.
		s.host.WaitUnlocked(ctx, hold)
		ctx := context.WithoutCancel(ctx)
		if err := s.host.Write(ctx, func(tx *simkit.WriteTx) error {
			return s.storeAnswer(ctx, tx, req, fingerprint, status, body)
		}); err != nil {
			s.writeStripeFailure(w, r, req, err)
			return
		}
	}
	writeStripeBody(w, status, body)
}

// reserveKey reserves the request's idempotency key in tx (or, without
// reserve, only looks it up, for a request whose answer goes under the key
// in tx: simkit.LookupIdempotency), or returns how to answer the request
// from the key's record once tx is committed: with its stored answer, a
// 409 while its first request runs, or a 400 for another request's key.
func (s *Sim) reserveKey(ctx context.Context, tx *simkit.WriteTx, req *stripeRequest, fingerprint string, reserve bool) (answer func(http.ResponseWriter), err error) {
	key := req.idempotencyKey
	rec, busy, err := simkit.ClaimIdempotency(ctx, tx, Provider, s.scope, key, fingerprint, s.host.Now(), reserve)
	switch {
	case err != nil:
		return nil, err
	case rec != nil && rec.Fingerprint != fingerprint:
		return func(w http.ResponseWriter) { writeStripeError(w, errIdempotencyMismatch(key)) }, nil
	case busy:
		return func(w http.ResponseWriter) { writeStripeError(w, errIdempotencyInUse(key)) }, nil
	case rec != nil:
		return func(w http.ResponseWriter) {
			w.Header().Set("Idempotent-Replayed", "true")
			w.Header().Set("Original-Request", rec.RequestID)
			writeStripeBody(w, rec.StatusCode, rec.Body)
		}, nil
	}
	return nil, nil
}

// releaseKey drops the request's committed reservation of its key: it
// stored no answer, and the key may be used again. context.WithoutCancel:
// a caller that gave up must not leave its key reserved.
func (s *Sim) releaseKey(ctx context.Context, req *stripeRequest) {
	rctx := context.WithoutCancel(ctx)
	if err := s.host.Write(rctx, func(tx *simkit.WriteTx) error {
		return simkit.ReleaseIdempotency(rctx, tx, Provider, s.scope, req.idempotencyKey)
	}); err != nil {
		s.host.Logger().Error("sandbox stripe API: release idempotency key", "request", req.id, "err", err)
	}
}

// storeAnswer completes the request's idempotency key with its answer.
func (s *Sim) storeAnswer(ctx context.Context, tx *simkit.WriteTx, req *stripeRequest, fingerprint string, status int, body []byte) error {
	return simkit.StoreIdempotency(ctx, tx, Provider, s.scope, req.idempotencyKey,
		simkit.IdempotencyRecord{Fingerprint: fingerprint, StatusCode: status, Body: body, RequestID: req.id}, s.host.Now())
}

// writeStripeFailure answers err: Stripe's error, or a logged 500.
func (s *Sim) writeStripeFailure(w http.ResponseWriter, r *http.Request, req *stripeRequest, err error) {
	var se *stripeError
	if errors.As(err, &se) {
		writeStripeError(w, se)
		return
	}
	s.host.Logger().Error("sandbox stripe API", "method", r.Method, "path", r.URL.Path, "request", req.id, "err", err)
	writeStripeError(w, errInternal())
}

// requestFingerprint identifies what makes two requests "the same" for one
// idempotency key: method, path and parameters (url.Values.Encode sorts
// them, so their order on the wire does not matter).
func requestFingerprint(method, path string, params url.Values) string {
	sum := sha256.Sum256([]byte(method + " " + path + "\n" + params.Encode()))
	return hex.EncodeToString(sum[:])
}

// stripeCheckHeaders authenticates the request (Bearer, or Basic with the
// key as user name, as Stripe accepts) and refuses what the sandbox cannot
// honour rather than silently ignoring it.
func (s *Sim) stripeCheckHeaders(r *http.Request) *stripeError {
	var key string
	auth := strings.TrimSpace(r.Header.Get("Authorization"))
	scheme, token, _ := strings.Cut(auth, " ")
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		key = strings.TrimSpace(token)
	case strings.EqualFold(scheme, "Basic"):
		key, _, _ = r.BasicAuth()
	default:
		key = auth // not a scheme Stripe knows: report it as an invalid key
	}
	if key == "" {
		return errNoAPIKey()
	}
	if subtle.ConstantTimeCompare([]byte(key), []byte(s.cfg.SecretKey)) != 1 {
		return errInvalidAPIKey(key)
	}
	if v := r.Header.Get("Stripe-Version"); v != "" && v != stripeAPIVersion {
		return errParamInvalid("", "The sandbox answers only in Stripe API version %s (the version stripe-go v76 pins), not %s.", stripeAPIVersion, v)
	}
	if r.Header.Get("Stripe-Account") != "" {
		return errParamInvalid("", "The sandbox does not simulate Connect: requests on behalf of another account (Stripe-Account) are not supported.")
	}
	return nil
}

// retrieveSpec is what retrieve (and expire) calls accept.
var retrieveSpec = specHash(map[string]paramSpec{"expand": specList})

var customerCreateSpec = specHash(map[string]paramSpec{
	"address": specHash(map[string]paramSpec{
		"city": specString, "country": specString, "line1": specString,
		"line2": specString, "postal_code": specString, "state": specString,
	}),
	"description": specString,
	"email":       specString,
	"expand":      specList,
	"metadata":    specStringMap,
	"name":        specString,
	"phone":       specString,
})

func (s *Sim) stripeCreateCustomer(ctx context.Context, tx *simkit.WriteTx, req *stripeRequest) (any, error) {
	p := req.params
	exp, e := parseExpand("customer", p)
	if e != nil {
		return nil, e
	}
	c := newStripeCustomer()
	c.ID = simkit.NewID("cus_", 14)
	c.Created = s.host.Now().Unix()
	c.InvoicePrefix = strings.ToUpper(simkit.RandomAlnum(8))
	c.Email, c.Name, c.Description, c.Phone = p.optional("email"), p.optional("name"), p.optional("description"), p.optional("phone")
	c.Metadata = p.stringMap("metadata")
	for _, check := range []*stripeError{
		validateMaxLen(c.Email, "email", 512),
		validateEmail(c.Email, "email"),
		validateMaxLen(c.Name, "name", 256),
		validateMaxLen(c.Description, "description", 5000),
		validateMaxLen(c.Phone, "phone", 20),
		validateMetadata(c.Metadata, "metadata"),
	} {
		if check != nil {
			return nil, check
		}
	}
	if a := p.lookup("address"); a != nil && !a.isLeaf() {
		c.Address = &stripeAddress{
			City:       p.optional("address", "city"),
			Country:    p.optional("address", "country"),
			Line1:      p.optional("address", "line1"),
			Line2:      p.optional("address", "line2"),
			PostalCode: p.optional("address", "postal_code"),
			State:      p.optional("address", "state"),
		}
	}
	if err := insertStripeCustomer(ctx, tx, c); err != nil {
		return nil, err
	}
	return c, s.stripeExpand(ctx, tx, c, exp)
}

func (s *Sim) stripeGetCustomer(ctx context.Context, tx *simkit.WriteTx, req *stripeRequest) (any, error) {
	return stripeGet(ctx, s, tx, req, "customer", "customer", "id", loadStripeCustomer)
}

var sessionCreateSpec = specHash(map[string]paramSpec{
	"cancel_url":          specString,
	"client_reference_id": specString,
	"currency":            specString,
	"custom_text": specHash(map[string]paramSpec{
		"submit": specHash(map[string]paramSpec{"message": specString}),
	}),
	"customer":             specString,
	"customer_email":       specString,
	"expand":               specList,
	"expires_at":           specString,
	"locale":               specString,
	"metadata":             specStringMap,
	"mode":                 specString,
	"payment_method_types": specList,
	"setup_intent_data": specHash(map[string]paramSpec{
		"description": specString,
		"metadata":    specStringMap,
	}),
	"success_url": specString,
})

// The sandbox account has these payment method types activated.
var stripeActivatedTypes = []string{pmTypeCard, pmTypeAmazonPay}

// checkoutLocales are the locales Checkout accepts.
var checkoutLocales = []string{
	"auto", "bg", "cs", "da", "de", "el", "en", "en-GB", "es", "es-419", "et", "fi", "fil", "fr", "fr-CA",
	"hr", "hu", "id", "it", "ja", "ko", "lt", "lv", "ms", "mt", "nb", "nl", "pl", "pt", "pt-BR", "ro", "ru",
	"sk", "sl", "sv", "th", "tr", "vi", "zh", "zh-HK", "zh-TW",
}

// Checkout Session lifetimes Stripe allows (expires_at), and its default.
const (
	sessionMinLifetime     = 30 * time.Minute
	sessionMaxLifetime     = 24 * time.Hour
	sessionDefaultLifetime = 24 * time.Hour
	customTextMaxLen       = 1200
)

var currencyCode = regexp.MustCompile(`^[A-Za-z]{3}$`)

func (s *Sim) stripeCreateCheckoutSession(ctx context.Context, tx *simkit.WriteTx, req *stripeRequest) (any, error) {
	p := req.params
	now := s.host.Now()

	mode, ok := p.str("mode")
	switch {
	case !ok:
		return nil, errParamMissing("mode")
	case mode == "":
		return nil, errParamEmpty("mode")
	case mode == "payment" || mode == "subscription":
		return nil, errParamInvalid("mode", "The sandbox simulates Checkout only in setup mode; mode=%s is not supported here.", mode)
	case mode != "setup":
		return nil, errParamInvalid("mode", "Invalid mode: must be one of payment, setup, or subscription")
	}

	types, typesSent := p.list("payment_method_types")
	for i, t := range types {
		name := listParamName("payment_method_types", i)
		if t == "" {
			return nil, errParamEmpty(name)
		}
		if !slices.Contains(stripeActivatedTypes, t) {
			return nil, errParamInvalid(name, "The payment method type %q is invalid. Please ensure the provided type is activated in your dashboard "+
				"(the sandbox account has card and amazon_pay activated).", t)
		}
	}
	if typesSent && len(types) == 0 {
		return nil, errParamEmpty("payment_method_types")
	}

	currency := p.optional("currency")
	if currency != nil {
		if !currencyCode.MatchString(*currency) {
			return nil, errParamInvalid("currency", "Invalid currency: %s. Use a three-letter ISO 4217 currency code.", *currency)
		}
		lower := strings.ToLower(*currency)
		currency = &lower
	}
	if len(types) == 0 {
		if currency == nil {
			return nil, newStripeError(http.StatusBadRequest, errTypeInvalidRequest, "parameter_missing", "currency",
				"Missing required param: currency. In setup mode it is required when payment_method_types is not set.")
		}
		// Dynamic payment methods: what the account has activated and
		// supports in this currency.
		types = []string{pmTypeCard}
		if slices.Contains(amazonPayCurrencies, *currency) {
			types = append(types, pmTypeAmazonPay)
		}
	}

	successURL, ok := p.str("success_url")
	switch {
	case !ok:
		return nil, errParamMissing("success_url")
	case successURL == "":
		return nil, errParamEmpty("success_url")
	}
	if e := validateURL(successURL, "success_url"); e != nil {
		return nil, e
	}
	cancelURL := p.optional("cancel_url")
	if cancelURL != nil {
		if e := validateURL(*cancelURL, "cancel_url"); e != nil {
			return nil, e
		}
	}

	customerID, email := p.optional("customer"), p.optional("customer_email")
	if customerID != nil && email != nil {
		return nil, errParamInvalid("customer_email", "You may only specify one of these parameters: customer, customer_email.")
	}
	if e := validateEmail(email, "customer_email"); e != nil {
		return nil, e
	}
	if customerID != nil {
		if _, err := loadStripeCustomer(ctx, tx, *customerID); errors.Is(err, simkit.ErrNotFound) {
			return nil, errNoSuch(http.StatusBadRequest, "customer", *customerID, "customer")
		} else if err != nil {
			return nil, err
		}
	}

	ref := p.optional("client_reference_id")
	metadata := p.stringMap("metadata")
	siMetadata := p.stringMap("setup_intent_data", "metadata")
	siDescription := p.optional("setup_intent_data", "description")
	message := p.optional("custom_text", "submit", "message")
	for _, check := range []*stripeError{
		validateMaxLen(ref, "client_reference_id", 200),
		validateMetadata(metadata, "metadata"),
		validateMetadata(siMetadata, "setup_intent_data[metadata]"),
		validateMaxLen(siDescription, "setup_intent_data[description]", 1000),
		validateMaxLen(message, "custom_text[submit][message]", customTextMaxLen),
	} {
		if check != nil {
			return nil, check
		}
	}

	expiresAt := now.Add(sessionDefaultLifetime).Unix()
	if v := p.optional("expires_at"); v != nil {
		t, err := strconv.ParseInt(*v, 10, 64)
		if err != nil {
			return nil, newStripeError(http.StatusBadRequest, errTypeInvalidRequest, "parameter_invalid_integer", "expires_at", "Invalid integer: "+*v)
		}
		switch {
		case t < now.Add(sessionMinLifetime).Unix():
			return nil, errParamInvalid("expires_at", "The `expires_at` timestamp must be at least 30 minutes from Checkout Session creation.")
		case t > now.Add(sessionMaxLifetime).Unix():
			return nil, errParamInvalid("expires_at", "The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.")
		}
		expiresAt = t
	}

	locale := p.optional("locale")
	if locale != nil && !slices.Contains(checkoutLocales, *locale) {
		return nil, errParamInvalid("locale", "Invalid locale: must be one of %s", strings.Join(checkoutLocales, ", "))
	}
	exp, e := parseExpand("checkout.session", p)
	if e != nil {
		return nil, e
	}

	// Checkout in setup mode creates its SetupIntent with the session.
	si := &stripeSetupIntent{
		ID:                 simkit.NewID("seti_", 24),
		Object:             "setup_intent",
		Created:            now.Unix(),
		Description:        siDescription,
		Metadata:           siMetadata,
		PaymentMethodTypes: types,
		Status:             setupRequiresPaymentMethod,
		Usage:              "off_session",
		customerID:         customerID,
	}
	si.ClientSecret = si.ID + "_secret_" + simkit.RandomAlnum(25)
	if err := insertStripeSetupIntent(ctx, tx, si); err != nil {
		return nil, err
	}
	cs := &stripeCheckoutSession{
		ID:                 simkit.NewID("cs_test_", 58),
		Created:            now.Unix(),
		ExpiresAt:          expiresAt,
		Status:             sessionOpen,
		Mode:               mode,
		CustomerEmail:      email,
		ClientReferenceID:  ref,
		Currency:           currency,
		Locale:             locale,
		SuccessURL:         successURL,
		CancelURL:          cancelURL,
		PaymentMethodTypes: types,
		Metadata:           metadata,
		customerID:         customerID,
		setupIntentID:      si.ID,
	}
	if message != nil {
		cs.CustomText.Submit = &stripeTextMessage{Message: *message}
	}
	if err := insertStripeCheckoutSession(ctx, tx, cs); err != nil {
		return nil, err
	}
	created, err := s.stripeSession(ctx, tx, cs.ID)
	if err != nil {
		return nil, err
	}
	return created, s.stripeExpand(ctx, tx, created, exp)
}

func (s *Sim) stripeGetCheckoutSession(ctx context.Context, tx *simkit.WriteTx, req *stripeRequest) (any, error) {
	exp, e := parseExpand("checkout.session", req.params)
	if e != nil {
		return nil, e
	}
	// Not stripeGet: reading a session may expire it, so it needs the write transaction.
	cs, err := s.stripeSession(ctx, tx, req.pathID)
	if errors.Is(err, simkit.ErrNotFound) {
		return nil, errNoSuch(http.StatusNotFound, "checkout.session", req.pathID, "session")
	}
	if err != nil {
		return nil, err
	}
	return cs, s.stripeExpand(ctx, tx, cs, exp)
}

func (s *Sim) stripeExpireCheckoutSession(ctx context.Context, tx *simkit.WriteTx, req *stripeRequest) (any, error) {
	exp, e := parseExpand("checkout.session", req.params)
	if e != nil {
		return nil, e
	}
	cs, err := s.stripeSession(ctx, tx, req.pathID)
	if errors.Is(err, simkit.ErrNotFound) {
		return nil, errNoSuch(http.StatusNotFound, "checkout.session", req.pathID, "session")
	}
	if err != nil {
		return nil, err
	}
	if cs.Status != sessionOpen {
		return nil, errParamInvalid("", "This Checkout Session is %s. Only a Checkout Session with status open can be expired.", cs.Status)
	}
	if cs, err = s.stripeExpireSession(ctx, tx, cs.ID, req); err != nil {
		return nil, err
	}
	return cs, s.stripeExpand(ctx, tx, cs, exp)
}

func (s *Sim) stripeGetSetupIntent(ctx context.Context, tx *simkit.WriteTx, req *stripeRequest) (any, error) {
	return stripeGet(ctx, s, tx, req, "setup_intent", "setupintent", "intent", loadStripeSetupIntent)
}

func (s *Sim) stripeGetPaymentMethod(ctx context.Context, tx *simkit.WriteTx, req *stripeRequest) (any, error) {
	return stripeGet(ctx, s, tx, req, "payment_method", "PaymentMethod", "payment_method", loadStripePaymentMethod)
}

// validateEmail refuses what cannot be an email address, as Stripe does
// (code email_invalid).
func validateEmail(v *string, param string) *stripeError {
	if v == nil {
		return nil
	}
	if a, err := mail.ParseAddress(*v); err != nil || a.Address != *v {
		return newStripeError(http.StatusBadRequest, errTypeInvalidRequest, "email_invalid", param, "Invalid email address: "+*v)
	}
	return nil
}

// stripeExpandable lists, per object type, the fields that can be
// expanded and the type of object each one holds.
var stripeExpandable = map[string]map[string]string{
	"checkout.session": {"customer": "customer", "setup_intent": "setup_intent"},
	"setup_intent":     {"customer": "customer", "payment_method": "payment_method", "mandate": "mandate"},
	"payment_method":   {"customer": "customer"},
	"customer":         {},
	"mandate":          {"payment_method": "payment_method"},
	"payment_intent":   {"customer": "customer", "payment_method": "payment_method", "latest_charge": "charge"},
	"charge":           {"customer": "customer", "payment_intent": "payment_intent"},
	"refund":           {"charge": "charge", "payment_intent": "payment_intent"},
	"dispute":          {"charge": "charge", "payment_intent": "payment_intent"},
	"account":          {},
}

// expandTree is the set of expand paths, by segment:
// ["setup_intent.payment_method"] → {setup_intent: {payment_method: {}}}.
type expandTree map[string]expandTree

// parseExpand checks the expand parameter against what objType can expand.
func parseExpand(objType string, p *paramNode) (expandTree, *stripeError) {
	paths, _ := p.list("expand")
	return expandPaths(objType, paths)
}

// expandPaths builds the tree of paths (the expand parameter's values, in
// order) that objType can expand.
func expandPaths(objType string, paths []string) (expandTree, *stripeError) {
	tree := expandTree{}
	for i, path := range paths {
		param := listParamName("expand", i)
		segs := strings.Split(path, ".")
		if len(segs) > 4 {
			return nil, errParamInvalid(param, "You cannot expand more than 4 levels of a property. Property: %s", path)
		}
		node, typ := tree, objType
		for _, seg := range segs {
			next, ok := stripeExpandable[typ][seg]
			if !ok {
				return nil, errParamInvalid(param, "This property cannot be expanded (%s).", path)
			}
			if node[seg] == nil {
				node[seg] = expandTree{}
			}
			node, typ = node[seg], next
		}
	}
	return tree, nil
}

// stripeGet answers GET /v1/<objects>/{id}: the stored object, expanded as
// asked, or Stripe's "No such <object>" 404 naming param.
func stripeGet[T any](ctx context.Context, s *Sim, tx *simkit.WriteTx, req *stripeRequest, expandAs, object, param string,
	load func(context.Context, simkit.Querier, string) (T, error)) (any, error) {
	exp, e := parseExpand(expandAs, req.params)
	if e != nil {
		return nil, e
	}
	obj, err := load(ctx, tx, req.pathID)
	if errors.Is(err, simkit.ErrNotFound) {
		return nil, errNoSuch(http.StatusNotFound, object, req.pathID, param)
	}
	if err != nil {
		return nil, err
	}
	return obj, s.stripeExpand(ctx, tx, obj, exp)
}

// stripeExpand replaces the ids in obj's expandable fields named by exp
// with the objects, recursively. A null field stays null.
func (s *Sim) stripeExpand(ctx context.Context, q simkit.Querier, obj any, exp expandTree) error {
	for field, sub := range exp {
		var err error
		switch o := obj.(type) {
		case *stripeCheckoutSession:
			switch field {
			case "customer":
				o.Customer, err = s.stripeExpanded(ctx, q, "customer", o.customerID, sub)
			case "setup_intent":
				o.SetupIntent, err = s.stripeExpanded(ctx, q, "setup_intent", &o.setupIntentID, sub)
			}
		case *stripeSetupIntent:
			switch field {
			case "customer":
				o.Customer, err = s.stripeExpanded(ctx, q, "customer", o.customerID, sub)
			case "payment_method":
				o.PaymentMethod, err = s.stripeExpanded(ctx, q, "payment_method", o.paymentMethodID, sub)
			case "mandate":
				o.Mandate, err = s.stripeExpanded(ctx, q, "mandate", o.mandateID, sub)
			}
		case *stripePaymentMethod:
			if field == "customer" {
				o.Customer, err = s.stripeExpanded(ctx, q, "customer", o.customerID, sub)
			}
		case *stripeMandate:
			if field == "payment_method" {
				o.PaymentMethod, err = s.stripeExpanded(ctx, q, "payment_method", &o.paymentMethodID, sub)
			}
		case *stripePaymentIntent:
			switch field {
			case "customer":
				o.Customer, err = s.stripeExpanded(ctx, q, "customer", o.customerID, sub)
			case "payment_method":
				o.PaymentMethod, err = s.stripeExpanded(ctx, q, "payment_method", o.paymentMethodID, sub)
			case "latest_charge":
				o.LatestCharge, err = s.stripeExpanded(ctx, q, "charge", o.latestChargeID, sub)
			}
		case *stripeCharge:
			switch field {
			case "customer":
				o.Customer, err = s.stripeExpanded(ctx, q, "customer", o.customerID, sub)
			case "payment_intent":
				o.PaymentIntent, err = s.stripeExpanded(ctx, q, "payment_intent", &o.paymentIntentID, sub)
			}
		case *stripeDispute:
			switch field {
			case "charge":
				o.Charge, err = s.stripeExpanded(ctx, q, "charge", &o.chargeID, sub)
			case "payment_intent":
				o.PaymentIntent, err = s.stripeExpanded(ctx, q, "payment_intent", o.paymentIntentID, sub)
			}
		case *stripeRefund:
			switch field {
			case "charge":
				o.Charge, err = s.stripeExpanded(ctx, q, "charge", &o.chargeID, sub)
			case "payment_intent":
				o.PaymentIntent, err = s.stripeExpanded(ctx, q, "payment_intent", o.paymentIntentID, sub)
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// stripeExpanded loads the object of type typ with id (nil → null) and
// expands it further.
func (s *Sim) stripeExpanded(ctx context.Context, q simkit.Querier, typ string, id *string, exp expandTree) (any, error) {
	if id == nil {
		return nil, nil
	}
	var obj any
	var err error
	switch typ {
	case "customer":
		obj, err = loadStripeCustomer(ctx, q, *id)
	case "setup_intent":
		obj, err = loadStripeSetupIntent(ctx, q, *id)
	case "payment_method":
		obj, err = loadStripePaymentMethod(ctx, q, *id)
	case "mandate":
		obj, err = loadStripeMandate(ctx, q, *id)
	case "payment_intent":
		obj, err = loadStripePaymentIntent(ctx, q, *id)
	case "charge":
		obj, err = loadStripeCharge(ctx, q, *id)
	default:
		err = fmt.Errorf("expand: no loader for %s", typ)
	}
	if err != nil {
		return nil, err
	}
	return obj, s.stripeExpand(ctx, q, obj, exp)
}

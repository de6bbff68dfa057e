package pprosim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"example.com/storefront/sandbox/simkit"
)

// The PPRO API subset, under /sandbox/ppro/v1/ (the app's base URL is
// PublicURL + "/ppro"): payment agreements for Amazon Pay, their charges,
// the charge search and refunds, as the storefront calls them.
//
// Left out: the other payment methods, payment sessions, instruments
// (GET /v1/payment-instruments), charges without an agreement
// (POST /v1/payment-charges), captures (Amazon Pay has no separate ones,
// see capture.go), voids and discards as operations of their own, the
// operation GETs other than refunds', the agreement confirmation endpoint
// (not used by REDIRECT), and the rate-limit headers.

const pproAPIPrefix = "/sandbox/ppro"

func (s *Sim) pproAPIRoutes(mux *http.ServeMux) {
	const v1 = pproAPIPrefix + "/v1"
	mux.Handle("POST "+v1+"/payment-agreements", s.pproAPI(s.pproCreateAgreement))
	mux.Handle("GET "+v1+"/payment-agreements/{id}", s.pproAPI(s.pproGetAgreement))
	mux.Handle("POST "+v1+"/payment-agreements/{id}/payment-charges", s.pproAPI(s.pproCreateCharge))
	mux.Handle("POST "+v1+"/payment-agreements/{id}/revocations", s.pproAPI(s.pproRevokeAgreement))
	mux.Handle("GET "+v1+"/payment-charges", s.pproAPI(s.pproSearchCharges))
	mux.Handle("GET "+v1+"/payment-charges/{id}", s.pproAPI(s.pproGetCharge))
	mux.Handle("POST "+v1+"/payment-charges/{id}/refunds", s.pproAPI(s.pproCreateRefund))
	mux.Handle("GET "+v1+"/payment-charges/{id}/refunds", s.pproAPI(s.pproListRefunds))
	mux.Handle("GET "+v1+"/payment-charges/{id}/refunds/{refundId}", s.pproAPI(s.pproGetRefund))
	mux.Handle(v1+"/", s.pproAPI(nil))
}

// pproRequest is what an endpoint gets.
type pproRequest struct {
	merchantID string
	pathID     string     // the {id} in the path
	refundID   string     // the {refundId} in the path, if any
	query      url.Values // the query string (GET /v1/payment-charges filters by it)
	body       []byte     // a POST's JSON body, syntactically valid
}

// pproHandler runs inside one transaction and returns the object to answer
// with (HTTP 200), or a *pproError.
type pproHandler func(ctx context.Context, tx *simkit.WriteTx, req *pproRequest) (any, error)

// pproMaxBody bounds request bodies; PPRO documents no limit.
const pproMaxBody = 1 << 20

// pproMaxIdempotencyKey bounds Request-Idempotency-Key. PPRO recommends a
// UUID (36 characters) and documents no limit; the sandbox refuses keys
// longer than 255 rather than store anything a client sends.
const pproMaxIdempotencyKey = 255

// pproAPI wraps an endpoint with what every PPRO request goes through:
// the bearer token, the Merchant-Id, a JSON body for POSTs, idempotency
// (ppro-api.md §7) and PPRO's error format. A nil h answers 404 after
// authentication, as for any path PPRO does not have.
func (s *Sim) pproAPI(h pproHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.pproAuthenticated(r) {
			writePPROUnauthorized(w)
			return
		}
		merchantID := r.Header.Get("Merchant-Id")
		switch {
		case merchantID == "":
			writePPROError(w, pproBadRequest("Required request header 'Merchant-Id' is missing."), s.host.Now())
			return
		case subtle.ConstantTimeCompare([]byte(merchantID), []byte(s.cfg.MerchantID)) != 1:
			writePPROUnauthorized(w) // the token does not belong to this merchant
			return
		case h == nil:
			writePPROError(w, pproNotFound("No endpoint %s %s.", r.Method, strings.TrimPrefix(r.URL.Path, pproAPIPrefix)), s.host.Now())
			return
		}
		req := &pproRequest{merchantID: merchantID, pathID: r.PathValue("id"), refundID: r.PathValue("refundId"), query: r.URL.Query()}

		var key, fingerprint string
		if r.Method == http.MethodPost {
			body, e := readPPROBody(w, r)
			if e != nil {
				writePPROError(w, e, s.host.Now())
				return
			}
			req.body = body
			key = r.Header.Get("Request-Idempotency-Key")
			if len(key) > pproMaxIdempotencyKey {
				writePPROError(w, pproBadRequest("Request-Idempotency-Key is longer than %d characters; use a UUID.", pproMaxIdempotencyKey), s.host.Now())
				return
			}
			if key != "" {
				fingerprint = pproFingerprint(r.Method, r.URL.Path, body)
			}
		}

		s.serveAPI(w, r, h, req, key, fingerprint)
	})
}

// serveAPI runs endpoint h for req, as one transaction after what is due
// (later.go), with idempotency as PPRO documents it (ppro-api.md §7): a
// key is reserved before the work and completed with the answer, so that
// a second request with the key is answered 409 while the first is in
// flight (for Settings.Processing), and replayed with Request-Idempotency:
// true once it succeeded. Only a success is stored: a request refused with
// a 4xx, or failed with a 5xx, releases its key, which may then be used
// again. Keys live 24 hours on the sandbox's clock (simkit).
func (s *Sim) serveAPI(w http.ResponseWriter, r *http.Request, h pproHandler, req *pproRequest, key, fingerprint string) {
	ctx := r.Context()
	fail := func(err error) {
		var pe *pproError
		if !errors.As(err, &pe) {
			s.host.Logger().Error("sandbox ppro API", "method", r.Method, "path", r.URL.Path, "err", err)
			pe = pproInternal()
		}
		writePPROError(w, pe, s.host.Now())
	}
	// Reads run in a write transaction too: reading an agreement can
	// time it out, and reading anything does what is due.
	s.host.Lock()
	defer s.host.Unlock()
	// One transaction: the key's lookup, what is due, the work and its
	// answer under the key. Only Settings.Processing commits a reservation
	// of the key on its own first, so that others see the key in use.
	reserved := false // committed already, so a failure must release it
	processing := s.Settings().Processing
	var answer *pproError
	var replay *simkit.IdempotencyRecord
	// lookUp reads the key's record and, with reserve, reserves the key
	// (committed before the request waits in flight); otherwise the answer
	// goes under the key in the same transaction (simkit.LookupIdempotency).
	lookUp := func(tx *simkit.WriteTx, reserve bool) error {
		rec, inFlight, err := simkit.ClaimIdempotency(ctx, tx, Provider, req.merchantID, key, fingerprint, s.host.Now(), reserve)
		switch {
		case err != nil:
			return err
		case inFlight:
			answer = &pproError{status: http.StatusConflict, message: "A request with Request-Idempotency-Key " + key +
				" is still being processed; retry once it is done to get its answer."}
		case rec != nil && rec.Fingerprint != fingerprint:
			answer = &pproError{status: http.StatusConflict, message: "Request-Idempotency-Key " + key +
				" was already used with a different request; use a new key for a new request."}
		case rec != nil:
			replay = rec
		}
		return nil
	}
	answerFromKey := func(err error) bool {
		switch {
		case err != nil && !reserved && (answer != nil || replay != nil):
			fail(err)
		case err != nil || (answer == nil && replay == nil):
			return false
		case answer != nil:
			fail(answer)
		default:
			w.Header().Set("Request-Idempotency", "true")
			writePPROBody(w, replay.StatusCode, replay.Body)
		}
		return true
	}
	if key != "" && processing > 0 {
		err := s.host.Write(ctx, func(tx *simkit.WriteTx) error { return lookUp(tx, true) })
		if err != nil {
			fail(err)
			return
		}
		if answerFromKey(nil) {
			return
		}
		reserved = true
		// In flight: the key is reserved, and others may call.
		s.host.WaitUnlocked(ctx, processing)
	}
	var body []byte
	var failed error // the request's own failure, its work undone
	err := s.host.Write(ctx, func(tx *simkit.WriteTx) error {
		if key != "" && !reserved {
			if err := lookUp(tx, false); err != nil || answer != nil || replay != nil {
				return err
			}
		}
		// What PPRO did meanwhile stands even if this request fails: the
		// request's own work is undone alone, and its key stays free (a
		// reservation made before a wait is released), to be used again.
		if err := s.pproCatchUp(ctx, tx, s.host.Now()); err != nil {
			return err
		}
		failed = tx.Savepoint(ctx, func() error {
			obj, err := h(ctx, tx, req)
			if err != nil {
				return err
			}
			if body, err = pproJSON(obj); err != nil {
				return err
			}
			rec := simkit.IdempotencyRecord{Fingerprint: fingerprint, StatusCode: http.StatusOK, Body: body}
			switch {
			case key == "":
				return nil
			case reserved:
				return simkit.StoreIdempotency(ctx, tx, Provider, req.merchantID, key, rec, s.host.Now())
			}
			return simkit.CompleteIdempotency(ctx, tx, Provider, req.merchantID, key, rec, s.host.Now())
		})
		if failed != nil && reserved {
			return simkit.ReleaseIdempotency(ctx, tx, Provider, req.merchantID, key)
		}
		return nil
	})
	if answerFromKey(err) {
		return
	}
	if err != nil && reserved {
		// Nothing was committed: the reservation made before the wait
		// is released on its own. context.WithoutCancel: a caller that
		// gave up must not leave its key reserved.
		rctx := context.WithoutCancel(ctx)
		if rerr := s.host.Write(rctx, func(tx *simkit.WriteTx) error {
			return simkit.ReleaseIdempotency(rctx, tx, Provider, req.merchantID, key)
		}); rerr != nil {
			s.host.Logger().Error("sandbox ppro API: release idempotency key", "err", rerr)
		}
	}
	if err == nil {
		err = failed
	}
	if err != nil {
		fail(err)
		return
	}
	writePPROBody(w, http.StatusOK, body)
}

// pproAuthenticated checks the bearer token.
func (s *Sim) pproAuthenticated(r *http.Request) bool {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	return ok && strings.EqualFold(scheme, "Bearer") &&
		subtle.ConstantTimeCompare([]byte(strings.TrimSpace(token)), []byte(s.cfg.APIToken)) == 1
}

// readPPROBody reads a POST's body, which must be JSON.
func readPPROBody(w http.ResponseWriter, r *http.Request) ([]byte, *pproError) {
	ct := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		return nil, &pproError{status: http.StatusUnsupportedMediaType,
			message: "Content-Type '" + ct + "' is not supported: send the request body as application/json."}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, pproMaxBody))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, &pproError{status: http.StatusRequestEntityTooLarge, message: "The request body is larger than the sandbox accepts (1 MiB)."}
	case err != nil:
		return nil, pproBadRequest("The request body could not be read: %v.", err)
	case len(bytes.TrimSpace(body)) == 0:
		return nil, pproBadRequest("Required request body is missing.")
	case !json.Valid(body):
		return nil, pproBadRequest("Malformed JSON request body.")
	}
	return body, nil
}

// pproFingerprint identifies what makes two requests "the same" for one
// idempotency key: method, path and the body's JSON value (re-encoded, so
// that white space and the order of object keys do not matter).
func pproFingerprint(method, path string, body []byte) string {
	canonical := body
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) == nil {
		if b, err := json.Marshal(v); err == nil {
			canonical = b
		}
	}
	sum := sha256.Sum256([]byte(method + " " + path + "\n" + string(canonical)))
	return hex.EncodeToString(sum[:])
}

// pproLoadAgreement loads an agreement of the calling merchant; another
// merchant's agreements do not exist for it.
func (s *Sim) pproLoadAgreement(ctx context.Context, tx *simkit.WriteTx, req *pproRequest) (*pproAgreement, error) {
	a, err := s.pproAgreement(ctx, tx, req.pathID)
	if errors.Is(err, simkit.ErrNotFound) || (err == nil && a.merchantID != req.merchantID) {
		return nil, pproNotFound("Payment agreement %s not found.", req.pathID)
	}
	return a, err
}

func (s *Sim) pproCreateAgreement(ctx context.Context, tx *simkit.WriteTx, req *pproRequest) (any, error) {
	var in pproAgreementIn
	if e := decodePPRO(req.body, &in); e != nil {
		return nil, e
	}
	now := s.host.Now()
	a, e := validateAgreementIn(&in, now)
	if e != nil {
		return nil, e
	}
	var initial pproMoney
	if in.InitialPaymentCharge != nil {
		if initial, e = validateChargeIn(in.InitialPaymentCharge, "initialPaymentCharge."); e != nil {
			return nil, e
		}
	}

	a.ID = simkit.NewID("agr_", 21)
	a.InstrumentID = simkit.NewID("instr_", 21)
	a.Status = agreementAuthenticationPending
	a.merchantID = req.merchantID
	a.created = now
	var initialCharge *pproCharge
	if in.InitialPaymentCharge != nil {
		// The consumer is present: the initial charge's initiator
		// defaults to CONSUMER.
		initialCharge = pproNewCharge(a, in.InitialPaymentCharge, initial, initiatorConsumer)
		initialCharge.echoReference = s.Settings().EchoChargeReference
		a.InitialPaymentChargeID = initialCharge.ID
	}
	if err := insertPPROAgreement(ctx, tx, a); err != nil {
		return nil, err
	}
	// PPRO creates an agreement INITIALIZING and, for a REDIRECT
	// authentication, answers once it waits for the consumer.
	for _, status := range []string{agreementInitializing, agreementAuthenticationPending} {
		if err := insertPPROHistory(ctx, tx, a.ID, status, now); err != nil {
			return nil, err
		}
	}
	if initialCharge != nil {
		if err := insertPPROPendingCharge(ctx, tx, initialCharge, now); err != nil {
			return nil, err
		}
	}
	return s.pproAgreement(ctx, tx, a.ID)
}

func (s *Sim) pproGetAgreement(ctx context.Context, tx *simkit.WriteTx, req *pproRequest) (any, error) {
	a, err := s.pproLoadAgreement(ctx, tx, req)
	if err != nil {
		return nil, err
	}
	shown, err := loadRevocationShown(ctx, tx, a.ID)
	if err != nil {
		return nil, err
	}
	return a.beforeRevocation(shown, s.host.Now()), nil
}

func (s *Sim) pproCreateCharge(ctx context.Context, tx *simkit.WriteTx, req *pproRequest) (any, error) {
	var in pproChargeIn
	if e := decodePPRO(req.body, &in); e != nil {
		return nil, e
	}
	amount, e := validateChargeIn(&in, "")
	if e != nil {
		return nil, e
	}
	a, err := s.pproLoadAgreement(ctx, tx, req)
	if err != nil {
		return nil, err
	}
	c, err := s.pproChargeAgreement(ctx, tx, a, &in, amount)
	if err != nil {
		return nil, err
	}
	return c.agreementChargeView(), nil
}

func (s *Sim) pproGetCharge(ctx context.Context, tx *simkit.WriteTx, req *pproRequest) (any, error) {
	c, err := s.pproLoadCharge(ctx, tx, req)
	if err != nil {
		return nil, err
	}
	return c.paymentChargeView(), nil
}

// pproLoadCharge loads a charge of the calling merchant as every reader
// must see it; another merchant's charges do not exist for it (404, as a
// GET of an unknown id is).
func (s *Sim) pproLoadCharge(ctx context.Context, tx *simkit.WriteTx, req *pproRequest) (*pproCharge, error) {
	c, err := s.pproCharge(ctx, tx, req.pathID)
	if errors.Is(err, simkit.ErrNotFound) || (err == nil && c.merchantID != req.merchantID) {
		return nil, pproNotFound("Payment charge %s not found.", req.pathID)
	}
	return c, err
}

func (s *Sim) pproRevokeAgreement(ctx context.Context, tx *simkit.WriteTx, req *pproRequest) (any, error) {
	// AgreementRevocationRequest is an empty object; its fields, if any,
	// are ignored like any unknown field.
	var in struct{}
	if e := decodePPRO(req.body, &in); e != nil {
		return nil, e
	}
	a, err := s.pproLoadAgreement(ctx, tx, req)
	if err != nil {
		return nil, err
	}
	return s.pproRevoke(ctx, tx, a)
}

package stripesim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"example.com/storefront/sandbox/simkit"
)

// stripeError is an API error in Stripe's format:
// {"error":{"type":…,"code":…,"message":…,"param":…,"doc_url":…}}.
// Where Stripe's exact wording is unknown, the message is a plain, honest
// description in the same style.
type stripeError struct {
	status int
	// committed marks the answer of a request that ran (a declined
	// payment): what it changed is kept, and its answer is remembered for
	// its idempotency key, as Stripe does. Any other error rolls back.
	committed bool

	Charge        string `json:"charge,omitempty"` // the failed charge's id, on a decline
	Type          string `json:"type"`
	Code          string `json:"code,omitempty"`
	DeclineCode   string `json:"decline_code,omitempty"`
	DocURL        string `json:"doc_url,omitempty"`
	Message       string `json:"message"`
	Param         string `json:"param,omitempty"`
	PaymentIntent any    `json:"payment_intent,omitempty"` // the PaymentIntent, on a decline
	PaymentMethod any    `json:"payment_method,omitempty"` // the PaymentMethod that failed, on a decline
	// No payment_method_type: Stripe fills it only for invoice errors.
}

func (e *stripeError) Error() string {
	return fmt.Sprintf("stripe %d %s: %s", e.status, e.Type, e.Message)
}

const (
	errTypeInvalidRequest = "invalid_request_error"
	errTypeIdempotency    = "idempotency_error"
	errTypeCard           = "card_error"
	errTypeAPI            = "api_error"
)

// newStripeError builds an error whose doc_url follows Stripe's pattern
// for its code.
func newStripeError(status int, typ, code, param, message string) *stripeError {
	e := &stripeError{status: status, Type: typ, Code: code, Param: param, Message: message}
	if code != "" {
		e.DocURL = "https://stripe.com/docs/error-codes/" + strings.ReplaceAll(code, "_", "-")
	}
	return e
}

func errParamMissing(param string) *stripeError {
	return newStripeError(http.StatusBadRequest, errTypeInvalidRequest, "parameter_missing", param,
		fmt.Sprintf("Missing required param: %s.", param))
}

func errParamUnknown(param string) *stripeError {
	return newStripeError(http.StatusBadRequest, errTypeInvalidRequest, "parameter_unknown", param,
		fmt.Sprintf("Received unknown parameter: %s", param))
}

func errParamEmpty(param string) *stripeError {
	return newStripeError(http.StatusBadRequest, errTypeInvalidRequest, "parameter_invalid_empty", param,
		fmt.Sprintf("You passed an empty string for '%[1]s'. We assume empty values are an attempt to unset a parameter; "+
			"however '%[1]s' cannot be unset. You should remove '%[1]s' from your request or supply a non-empty value.", param))
}

// errParamInvalid is a 400 for a value Stripe would refuse and for which
// it documents no specific code.
func errParamInvalid(param, format string, args ...any) *stripeError {
	return newStripeError(http.StatusBadRequest, errTypeInvalidRequest, "", param, fmt.Sprintf(format, args...))
}

func errURLInvalid(param string) *stripeError {
	return newStripeError(http.StatusBadRequest, errTypeInvalidRequest, "url_invalid", param, "Not a valid URL")
}

// errNoSuch is resource_missing: 404 for the object named in the path, 400
// for an object referenced by a parameter.
func errNoSuch(status int, object, id, param string) *stripeError {
	return newStripeError(status, errTypeInvalidRequest, "resource_missing", param,
		fmt.Sprintf("No such %s: '%s'", object, id))
}

func errIdempotencyMismatch(key string) *stripeError {
	return newStripeError(http.StatusBadRequest, errTypeIdempotency, "", "",
		fmt.Sprintf("Keys for idempotent requests can only be used with the same parameters they were first used with. "+
			"Try using a key other than '%s' if you meant to execute a different request.", key))
}

// errIdempotencyInUse is Stripe's answer to a request whose idempotency
// key's first request is still running: 409, idempotency_key_in_use.
func errIdempotencyInUse(key string) *stripeError {
	return newStripeError(http.StatusConflict, errTypeIdempotency, "idempotency_key_in_use", "",
		fmt.Sprintf("There is currently another in-progress request using this Idempotent Key (that probably means you "+
			"submitted twice, and the other request is still going through): %s. Please try again later.", key))
}

// errFailNext is the 500 of a request that Settings.FailNext makes fail
// after it started.
func errFailNext() *stripeError {
	return newStripeError(http.StatusInternalServerError, errTypeAPI, "", "",
		"An unknown error occurred while processing this request (the sandbox's FailNext setting).")
}

func errUnrecognizedURL(method, path string) *stripeError {
	return newStripeError(http.StatusNotFound, errTypeInvalidRequest, "", "",
		fmt.Sprintf("Unrecognized request URL (%s: %s). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.", method, path))
}

func errNoAPIKey() *stripeError {
	return newStripeError(http.StatusUnauthorized, errTypeInvalidRequest, "", "",
		"You did not provide an API key. You need to provide your API key in the Authorization header, "+
			"using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details.")
}

func errInvalidAPIKey(key string) *stripeError {
	return newStripeError(http.StatusUnauthorized, errTypeInvalidRequest, "", "",
		"Invalid API Key provided: "+redactKey(key))
}

func errInternal() *stripeError {
	return newStripeError(http.StatusInternalServerError, errTypeAPI, "", "",
		"The sandbox hit an unexpected error while handling this request; see the server log.")
}

// redactKey shows a key the way Stripe's error does: its prefix and last
// four characters, never the whole secret.
func redactKey(key string) string {
	if len(key) <= 12 {
		return strings.Repeat("*", len(key))
	}
	return key[:8] + strings.Repeat("*", len(key)-12) + key[len(key)-4:]
}

// stripeErrorBody is e as Stripe's error JSON: {"error": {…}}.
func stripeErrorBody(e *stripeError) any {
	return struct {
		Error *stripeError `json:"error"`
	}{e}
}

// writeStripeError writes e as Stripe's error JSON.
func writeStripeError(w http.ResponseWriter, e *stripeError) {
	writeStripeJSON(w, e.status, stripeErrorBody(e))
}

// stripeJSON encodes v as the API does: indented, and without Go's
// escaping of <, > and & (Stripe returns them as they are).
func stripeJSON(v any) ([]byte, error) {
	compact, err := stripeCompactJSON(v)
	if err != nil {
		return nil, err
	}
	return simkit.Indented(compact, "  "), nil
}

// stripeCompactJSON is v encoded as stripeJSON encodes it, not indented.
func stripeCompactJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode %T: %w", v, err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// writeStripeJSON writes v as an API response.
func writeStripeJSON(w http.ResponseWriter, status int, v any) {
	body, err := stripeJSON(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"error":{"type":"api_error","message":"The sandbox could not encode its response."}}`)
	}
	writeStripeBody(w, status, body)
}

func writeStripeBody(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-cache, no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(body)
	w.Write([]byte("\n"))
}

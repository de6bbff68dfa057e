package pprosim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// pproError is an API error in PPRO's ExceptionResponseBody:
// {"status": 404, "failureMessage": "…", "timestamp": "…"}. PPRO documents
// the format but not its wording; the messages are the sandbox's own,
// plain and precise.
type pproError struct {
	status  int
	message string
}

func (e *pproError) Error() string {
	return fmt.Sprintf("ppro %d: %s", e.status, e.message)
}

func pproBadRequest(format string, args ...any) *pproError {
	return &pproError{status: http.StatusBadRequest, message: fmt.Sprintf(format, args...)}
}

func pproNotFound(format string, args ...any) *pproError {
	return &pproError{status: http.StatusNotFound, message: fmt.Sprintf(format, args...)}
}

func pproInternal() *pproError {
	return &pproError{status: http.StatusInternalServerError,
		message: "The sandbox hit an unexpected error while handling this request; see the server log."}
}

// pproExceptionBody is ExceptionResponseBody.
type pproExceptionBody struct {
	Status         int    `json:"status"`
	FailureMessage string `json:"failureMessage"`
	Timestamp      string `json:"timestamp"`
}

// writePPROError writes e with the time it happened.
func writePPROError(w http.ResponseWriter, e *pproError, now time.Time) {
	writePPROJSON(w, e.status, pproExceptionBody{Status: e.status, FailureMessage: e.message, Timestamp: pproTime(now)})
}

// writePPROUnauthorized answers bad credentials as PPRO documents it
// (developerhub "API authentication"): 401 with {"message": "Unauthorized"}.
func writePPROUnauthorized(w http.ResponseWriter) {
	writePPROJSON(w, http.StatusUnauthorized, struct {
		Message string `json:"message"`
	}{"Unauthorized"})
}

// pproJSON encodes v compactly, without Go's escaping of <, > and &.
func pproJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode %T: %w", v, err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func writePPROJSON(w http.ResponseWriter, status int, v any) {
	body, err := pproJSON(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"status":500,"failureMessage":"The sandbox could not encode its response."}`)
	}
	writePPROBody(w, status, body)
}

func writePPROBody(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(body)
}

package handlers

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/a-h/templ"

	"example.com/storefront/payments"
	"example.com/storefront/store"
	"example.com/storefront/views"
)

// pageError is a failure with what the shopper should read. Err is logged,
// never shown.
type pageError struct {
	Status  int
	Heading string
	Message string
	Err     error
}

func (e *pageError) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *pageError) Unwrap() error { return e.Err }

var (
	errNotFound = &pageError{Status: http.StatusNotFound, Heading: "Page not found",
		Message: "There is nothing at this address. If you followed a link from a payment provider, start again from the shop."}
	errCrossOrigin = errors.New("cross-origin request refused")
)

// page adapts a handler that returns an error.
func (h *handler) page(fn func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			h.fail(w, r, err)
		}
	})
}

// fail renders the error page for err and logs it with the request id.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var pe *pageError
	switch {
	case errors.As(err, &pe):
	case store.Unavailable(err):
		// The database is restarting or unreachable: the request may work
		// in a moment, and nothing was done (a write that did not commit
		// did not happen).
		w.Header().Set("Retry-After", "5")
		pe = &pageError{Status: http.StatusServiceUnavailable, Heading: "Briefly unavailable",
			Message: "The shop cannot reach its records right now. Nothing was charged. Please try again in a moment.", Err: err}
	case isBodyTooLarge(err):
		pe = &pageError{Status: http.StatusRequestEntityTooLarge, Heading: "Request too large",
			Message: "The form sent more data than this shop accepts.", Err: err}
	default: // ours, not the shopper's: the cause goes to the log only
		pe = &pageError{Status: http.StatusInternalServerError, Heading: "Something went wrong",
			Message: "We could not finish your request. Nothing was charged. Please try again in a moment.", Err: err}
	}
	level := slog.LevelWarn
	if pe.Status >= 500 {
		level = slog.LevelError
	}
	h.log.LogAttrs(r.Context(), level, "request failed",
		slog.String("request_id", RequestID(r.Context())),
		slog.Int("status", pe.Status),
		slog.String("error", err.Error()),
	)
	h.render(w, r, pe.Status, views.ErrorPage(views.Error{
		Chrome:    h.chrome(pe.Heading, views.StepNone),
		Status:    pe.Status,
		Heading:   pe.Heading,
		Message:   pe.Message,
		RequestID: RequestID(r.Context()),
	}))
}

// render renders c into a buffer first, so a failure half-way cannot leave
// a half-written page with a success status.
func (h *handler) render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) {
	var buf bytes.Buffer
	if err := c.Render(r.Context(), &buf); err != nil {
		h.log.ErrorContext(r.Context(), "render failed", "request_id", RequestID(r.Context()), "error", err)
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	writeHTML(w, status, buf.Bytes())
}

func writeHTML(w http.ResponseWriter, status int, page []byte) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(page)
}

// providerFailure explains a failed provider call to the shopper.
func providerFailure(p payments.Provider, doing string, err error) error {
	label := providerLabel(p.Name())
	pe := &pageError{Status: http.StatusBadGateway, Heading: label + " did not answer", Err: err,
		Message: "We could not reach " + label + " to " + doing + ". Nothing was charged. Please try again in a moment."}
	if perr, ok := payments.AsError(err); ok {
		switch perr.Kind {
		case payments.ErrRejected:
			pe.Heading = label + " refused the request"
			pe.Message = label + " refused to " + doing + ". Nothing was charged. The shop has logged the reason; please try again later."
		case payments.ErrNotFound:
			pe.Heading = label + " does not know this setup"
			pe.Message = label + " has no record of this setup, so it cannot be confirmed. Nothing was charged."
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		pe.Status = http.StatusGatewayTimeout
		pe.Heading = label + " took too long"
	}
	return pe
}

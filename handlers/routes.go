package handlers

import (
	"net/http"

	"example.com/storefront/static"
)

// routes lists every route of the storefront and applies the middleware,
// outermost first: security headers, panic recovery, cross-origin
// protection, body limits.
func (h *handler) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", h.page(h.home))
	mux.Handle("POST /create-checkout-session", h.page(h.createCheckoutSession))
	mux.Handle("GET /success", h.page(h.success))
	mux.Handle("GET /cancel", h.page(h.cancel))
	mux.Handle("GET /return", h.page(h.providerReturn))
	mux.HandleFunc("POST /webhooks/{provider}", h.webhook)
	mux.Handle("GET /static/", http.StripPrefix("/static/", staticFiles(static.FS)))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	mux.Handle("/", h.page(func(w http.ResponseWriter, r *http.Request) error { return errNotFound }))

	cop := http.NewCrossOriginProtection()
	// Webhooks come from the provider's servers and are verified by
	// signature instead.
	cop.AddInsecureBypassPattern("POST /webhooks/{provider}")
	cop.SetDenyHandler(h.page(func(w http.ResponseWriter, r *http.Request) error {
		return &pageError{Status: http.StatusForbidden, Heading: "Request refused",
			Message: "This form was sent from another site, so it was refused. Please use the form on this page.",
			Err:     errCrossOrigin}
	}))
	return h.securityHeaders(h.recoverPanics(cop.Handler(limitBody(mux))))
}

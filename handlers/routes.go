package handlers

import (
	"net/http"

	"example.com/storefront/static"
)

// routes lists every route of the storefront and applies the middleware,
// outermost first: security headers, panic recovery, cross-origin
// protection, body limits. Routes that strangers can hit hard (the form,
// the return pages, the webhooks) are limited per client.
func (h *handler) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", h.page(h.home))
	mux.Handle("POST /create-checkout-session", h.limit("checkout", h.page(h.createCheckoutSession)))
	mux.Handle("GET /success", h.limit("return", h.page(h.success)))
	mux.Handle("GET /cancel", h.limit("return", h.page(h.cancel)))
	mux.Handle("GET /return", h.limit("return", h.page(h.providerReturn)))
	mux.Handle("POST /return", h.limit("return", http.HandlerFunc(h.providerReturnPost)))
	mux.Handle("POST /webhooks/{provider}", h.limit("webhook", http.HandlerFunc(h.webhook)))

	// The shopper's own page of a mandate (this browser's, or by a signed link).
	mux.Handle("GET /mandates/{id}", h.limit("shopper", h.page(h.shopperPage)))
	mux.Handle("POST /mandates/{id}/cancel", h.limit("shopper", h.page(h.shopperCancel)))
	mux.Handle("POST /mandates/{id}/link", h.limit("shopper", h.page(h.shopperSendLink)))

	// The merchant's dashboard: everything but the login needs a session.
	admin := func(fn func(http.ResponseWriter, *http.Request) error) http.Handler {
		return h.requireAdmin(h.page(fn))
	}
	mux.Handle("GET /admin/login", h.page(h.adminLoginPage))
	mux.Handle("POST /admin/login", h.page(h.adminLogin))
	mux.Handle("POST /admin/logout", h.page(h.adminLogout))
	mux.Handle("GET /admin", admin(h.adminList))
	mux.Handle("GET /admin/consents.csv", admin(h.adminConsents))
	mux.Handle("GET /admin/payments.csv", admin(h.adminPayments))
	mux.Handle("GET /admin/refunds.csv", admin(h.adminRefunds))
	mux.Handle("GET /admin/money", admin(h.adminMoney))
	mux.Handle("GET /admin/prices", admin(h.adminPrices))
	mux.Handle("POST /admin/prices", admin(h.adminSchedulePrice))
	mux.Handle("GET /admin/mandates/{id}", admin(h.adminMandate))
	mux.Handle("POST /admin/mandates/{id}/charge", admin(h.adminCharge))
	mux.Handle("POST /admin/mandates/{id}/charges/{charge}/refund", admin(h.adminRefund))
	mux.Handle("POST /admin/mandates/{id}/revoke", admin(h.adminRevoke))
	mux.Handle("GET /admin/activity", admin(h.adminActivity))
	mux.Handle("POST /admin/mandates/{id}/retry", admin(h.adminRetry))
	mux.Handle("GET /admin/messages", admin(h.adminMessages))
	mux.Handle("POST /admin/messages/{id}/resend", admin(h.adminResendMessage))
	if h.admin.Clock != nil {
		mux.Handle("POST /admin/clock/advance", admin(h.adminClockAdvance))
		mux.Handle("POST /admin/clock/reset", admin(h.adminClockReset))
	}
	mux.Handle("GET "+static.Prefix, static.Handler())
	mux.HandleFunc("GET /healthz", h.healthz)
	mux.Handle("/", h.page(func(w http.ResponseWriter, r *http.Request) error { return errNotFound }))

	cop := http.NewCrossOriginProtection()
	// Webhooks come from the provider's servers and are verified by
	// signature instead; a provider that returns the shopper by form POST
	// posts from its own site, and that POST only redirects.
	cop.AddInsecureBypassPattern("POST /webhooks/{provider}")
	cop.AddInsecureBypassPattern("POST /return")
	cop.SetDenyHandler(h.page(func(w http.ResponseWriter, r *http.Request) error {
		return &pageError{Status: http.StatusForbidden, Heading: "Request refused",
			Message: "This form was sent from another site, so it was refused. Please use the form on this page.",
			Err:     errCrossOrigin}
	}))
	return h.securityHeaders(h.recoverPanics(cop.Handler(limitBody(mux))))
}

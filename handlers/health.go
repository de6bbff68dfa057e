package handlers

import (
	"context"
	"net/http"
	"time"
)

// healthz is for load balancers and orchestrators: 200 while the process
// takes requests and its database answers; 503 while it drains after
// SIGTERM (it still serves what reaches it), or when the database does not
// answer within a second (a page would fail too).
func (h *handler) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if h.draining() {
		http.Error(w, "draining: shutting down", http.StatusServiceUnavailable)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), time.Second)
	defer cancel()
	if err := h.store.Ping(ctx); err != nil {
		h.log.WarnContext(r.Context(), "health check: the database does not answer", "error", err)
		http.Error(w, "database unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Write([]byte("ok\n"))
}

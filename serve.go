package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"
)

// privateDir creates dir if missing and makes it private to its owner
// (0700), even if it existed: it holds secrets and customers' data.
func privateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("DATA_DIR: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("DATA_DIR: %w", err)
	}
	return nil
}

// listen listens on addr, and says the base URL (configured, or made of
// addr's host and the port really got: ADDR may end in :0) and the
// loopback address the process reaches itself on.
func listen(addr, configured string) (ln net.Listener, baseURL, loopback string, err error) {
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		return nil, "", "", fmt.Errorf("ADDR: %w", err)
	}
	baseURL = configured
	if baseURL == "" {
		baseURL = defaultBaseURL(addr, ln.Addr())
	}
	return ln, baseURL, loopbackAddr(ln.Addr()), nil
}

// newServer is the HTTP server both commands run: timeouts against slow
// clients, and a write timeout long enough for a provider call (or the
// sandbox's SANDBOX_LATENCY) inside a request.
func newServer(h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      90 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// serveUntil serves srv on ln until ctx is done, then shuts it down
// gracefully: beforeShutdown runs first (draining, while still serving),
// then requests in flight get 10 seconds to finish.
func serveUntil(ctx context.Context, srv *http.Server, ln net.Listener, logger *slog.Logger, beforeShutdown func()) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	if beforeShutdown != nil {
		beforeShutdown()
	}
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// Package simkit is what the sandbox's provider stand-ins (stripesim and
// pprosim) share: the sandbox's SQLite database with every provider's
// migrations, write transactions that start webhook deliveries once they
// commit, ids, idempotency records, the webhook outbox with its retries,
// timers for what a provider does on its own a moment later, and the page
// shell (themes, the "no real money moves" ribbon, message pages, security
// headers, the stylesheet and the icon).
//
// It knows no provider: each one names itself with a string ("stripe",
// "ppro") in the rows it shares, and brings its own webhook endpoint.
package simkit // import "example.com/storefront/sandbox/simkit"

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"example.com/storefront/sqlitedb"
)

// Config configures a Host.
type Config struct {
	DBPath       string // SQLite file, e.g. DATA_DIR/sandbox.db
	PublicURL    string // browser-facing base of the sandbox, an absolute URL without trailing slash (the caller validates it)
	MerchantName string // shown on the hosted pages
	// Webhooks are the providers' webhook endpoints, by provider; a
	// provider without one has its events recorded but not sent.
	Webhooks   map[string]WebhookEndpoint
	HTTPClient *http.Client     // for webhook deliveries; nil → a client with a 10 s timeout
	Logger     *slog.Logger     // nil → discard
	Now        func() time.Time // nil → time.Now
	// WebhookRetryAfter is the wait before a failed delivery's first retry
	// (doubling for each later one); 0 → DefaultWebhookRetryAfter. Tests
	// shorten it.
	WebhookRetryAfter time.Duration
	// DBCounts, when set, counts the statements and transactions the
	// database runs (benchmarks).
	DBCounts *sqlitedb.Counts
}

// Host is the runtime the provider stand-ins run on: the database, the
// clock, the logger, the public address and the webhook sender, shared by
// both so that they live in one file and one handler.
type Host struct {
	db        *sql.DB
	writer    *writer // every write goes through it
	log       *slog.Logger
	now       func() time.Time
	publicURL string
	basePath  string // the path of publicURL ("/sandbox"); page links start with it
	merchant  string
	webhooks  *webhookSender
	timers    *timers

	// mu serialises every request that reads or changes provider state. It
	// is the simplest way to make an idempotency check and the write it
	// guards atomic, and to let reads expire objects lazily; a sandbox
	// serves one developer, so throughput does not matter.
	mu sync.Mutex
}

// Open opens (or creates) the sandbox database at cfg.DBPath and returns
// a Host on it. Deliveries left pending by a previous run wait until
// ResumeWebhooks.
func Open(ctx context.Context, cfg Config) (*Host, error) {
	pub, err := url.Parse(cfg.PublicURL)
	if err != nil {
		return nil, fmt.Errorf("public URL: %w", err)
	}
	db, err := openDB(ctx, cfg.DBPath, sqlitedb.WithCounts(cfg.DBCounts))
	if err != nil {
		return nil, err
	}
	if err := dropReservations(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w, err := newWriter(ctx, db, log)
	if err != nil {
		db.Close()
		return nil, err
	}
	h := &Host{
		db:        db,
		writer:    w,
		log:       log,
		now:       cfg.Now,
		publicURL: cfg.PublicURL,
		basePath:  pub.Path,
		merchant:  cfg.MerchantName,
	}
	if h.now == nil {
		h.now = time.Now
	}
	client := cfg.HTTPClient
	if client == nil {
		// The default transport keeps two idle connections a host, and a
		// flow's events go out at once: every delivery beyond the second
		// dialled a new connection (and started its goroutines at both
		// ends).
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 32
		client = &http.Client{Timeout: 10 * time.Second, Transport: t}
	}
	retryAfter := cfg.WebhookRetryAfter
	if retryAfter <= 0 {
		retryAfter = DefaultWebhookRetryAfter
	}
	h.webhooks = newWebhookSender(db, w, client, h.log, cfg.Webhooks, retryAfter)
	h.timers = newTimers()
	return h, nil
}

// ResumeWebhooks restarts the deliveries a previous run left pending, for
// the providers that have an endpoint now.
func (h *Host) ResumeWebhooks(ctx context.Context) error {
	return h.webhooks.resume(ctx)
}

// Close stops webhook retries and the timers set with After, waits for
// in-flight deliveries and running timers, and closes the database.
// Deliveries still pending resume at the next Open.
func (h *Host) Close() error {
	h.timers.close()
	h.webhooks.close()
	if err := h.writer.close(); err != nil {
		h.db.Close()
		return fmt.Errorf("close the writer connection: %w", err)
	}
	if err := h.db.Close(); err != nil {
		return fmt.Errorf("close database: %w", err)
	}
	return nil
}

// Lock serialises the requests that read or change provider state (see
// Host.mu): a handler holds the lock around its Write calls and the answer
// that depends on them.
func (h *Host) Lock() { h.mu.Lock() }

// Unlock releases the lock taken by Lock.
func (h *Host) Unlock() { h.mu.Unlock() }

// WaitUnlocked lets a handler holding the lock wait d (or until ctx is
// done) without holding up other requests: it releases the lock for the
// wait and takes it again before it returns. It is how a request stays
// "in flight" with its idempotency key reserved.
func (h *Host) WaitUnlocked(ctx context.Context, d time.Duration) {
	h.mu.Unlock()
	defer h.mu.Lock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// Now is the sandbox's clock (Config.Now), which tests and demos can move.
func (h *Host) Now() time.Time { return h.now() }

// Logger is where the sandbox logs.
func (h *Host) Logger() *slog.Logger { return h.log }

// PageURL is the browser-facing absolute URL of a sandbox path such as
// "/stripe/checkout/cs_test_…".
func (h *Host) PageURL(path string) string {
	return h.publicURL + path
}

// BasePath is the path of the public URL ("/sandbox"), for links between
// the sandbox's pages.
func (h *Host) BasePath() string { return h.basePath }

// MerchantName is the merchant the hosted pages name.
func (h *Host) MerchantName() string { return h.merchant }

package simkit

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Delivery schedule: like the providers, retry failed deliveries with
// exponential backoff, but over seconds rather than days so that a demo
// (or a test) sees the retry happen.
const (
	webhookMaxAttempts = 5
	// DefaultWebhookRetryAfter is the wait before the first retry; each
	// later one waits twice as long.
	DefaultWebhookRetryAfter = 500 * time.Millisecond
	webhookTimeout           = 10 * time.Second
)

// WebhookEndpoint is where one provider's events go and how each attempt
// is signed. Headers is called once per attempt, because providers sign
// each attempt with a fresh timestamp.
type WebhookEndpoint struct {
	URL     string
	Headers func(payload []byte, now time.Time) http.Header
	// Events are the types the endpoint is subscribed to; none → all.
	Events []string
	// Indent, if set, indents each compact payload by it on delivery (the
	// provider sends its bodies indented), outside the write that stored
	// it; the headers sign what is sent.
	Indent string
}

// Event is one event a provider emitted: stored whether or not the
// provider has a webhook endpoint, and delivered to it if it has.
type Event struct {
	Provider string // "stripe", "ppro"
	ID       string
	Type     string
	Created  int64  // Unix seconds
	Payload  []byte // what is delivered, compact if the endpoint indents it (WebhookEndpoint.Indent)
}

// webhookSender delivers recorded events asynchronously, so that no page
// or API response waits for the app, and records each attempt.
//
// Scheduling uses the wall clock (time.Now), not Config.Now: signatures
// are checked by the receiver against its own clock, and a test that moves
// the sandbox's clock forward must not stall deliveries.
type webhookSender struct {
	db        *sql.DB // for reads
	writer    *writer
	client    *http.Client
	log       *slog.Logger
	endpoints map[string]WebhookEndpoint // by provider
	backoff   time.Duration              // before the first retry; doubling

	ctx    context.Context // cancelled by close: stops waiting retries
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex // guards closed, so no goroutine starts after close
	closed bool
}

func newWebhookSender(db *sql.DB, writer *writer, client *http.Client, log *slog.Logger, endpoints map[string]WebhookEndpoint, backoff time.Duration) *webhookSender {
	ctx, cancel := context.WithCancel(context.Background())
	return &webhookSender{db: db, writer: writer, client: client, log: log, endpoints: endpoints, backoff: backoff, ctx: ctx, cancel: cancel}
}

// enabled reports whether events of provider are delivered anywhere.
func (w *webhookSender) enabled(provider string) bool {
	_, ok := w.endpoints[provider]
	return ok
}

// WebhooksEnabled reports whether events of provider are delivered
// anywhere (events report it, as Stripe's pending_webhooks does).
func (h *Host) WebhooksEnabled(provider string) bool {
	return h.webhooks.enabled(provider)
}

// RecordEvent stores e and, when its provider has an endpoint, a pending
// delivery that starts once tx commits.
func (h *Host) RecordEvent(ctx context.Context, tx *WriteTx, e Event) error {
	return h.webhooks.record(ctx, tx, e)
}

// record stores an event and, when its provider has an endpoint, a pending
// delivery that starts once tx commits.
func (w *webhookSender) record(ctx context.Context, tx *WriteTx, e Event) error {
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO events (id, provider, type, created, payload) VALUES (?, ?, ?, ?, ?)`,
		e.ID, e.Provider, e.Type, e.Created, e.Payload); err != nil {
		return fmt.Errorf("record event %s: %w", e.Type, err)
	}
	ep, ok := w.endpoints[e.Provider]
	if !ok || len(ep.Events) > 0 && !slices.Contains(ep.Events, e.Type) {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO webhook_deliveries (event_id, url, status, next_attempt_at_ms) VALUES (?, ?, 'pending', ?)`,
		e.ID, ep.URL, time.Now().UnixMilli()); err != nil {
		return fmt.Errorf("queue delivery of %s: %w", e.ID, err)
	}
	tx.deliveries = append(tx.deliveries, queuedDelivery{eventID: e.ID, provider: e.Provider, payload: e.Payload})
	return nil
}

// queuedDelivery is a delivery a write queued: its first attempt needs
// nothing more from the database.
type queuedDelivery struct {
	eventID, provider string
	payload           []byte
}

// start delivers the events a committed write queued, in the background.
func (w *webhookSender) start(queued ...queuedDelivery) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, q := range queued {
		w.goDeliver(q.eventID, &delivery{provider: q.provider, payload: q.payload, status: "pending", nextAttempt: time.Now()})
	}
}

// goDeliver starts one delivery (see deliver); the caller holds w.mu.
func (w *webhookSender) goDeliver(eventID string, d *delivery) {
	if w.closed {
		return // still pending in the database; the next New resumes it
	}
	w.wg.Add(1)
	go w.deliver(eventID, d)
}

// resume restarts deliveries that a previous run left pending.
func (w *webhookSender) resume(ctx context.Context) error {
	rows, err := w.db.QueryContext(ctx, `
		SELECT d.event_id, e.provider FROM webhook_deliveries d JOIN events e ON e.id = d.event_id
		WHERE d.status = 'pending' ORDER BY e.created, d.rowid`)
	if err != nil {
		return fmt.Errorf("list pending webhooks: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id, provider string
		if err := rows.Scan(&id, &provider); err != nil {
			return fmt.Errorf("list pending webhooks: %w", err)
		}
		if w.enabled(provider) {
			ids = append(ids, id)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list pending webhooks: %w", err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, id := range ids {
		w.goDeliver(id, nil)
	}
	return nil
}

// close cancels waiting retries and waits for attempts in flight.
func (w *webhookSender) close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.cancel()
	w.wg.Wait()
}

// delivery is the state of one event's delivery.
type delivery struct {
	provider    string
	payload     []byte
	status      string
	attempts    int
	nextAttempt time.Time
}

// deliver makes the attempts of one event's delivery: from d, or from the
// database when d is nil (a delivery resumed after a restart). Only this
// goroutine writes the delivery's row, so after an attempt d stays true
// without reading it back.
func (w *webhookSender) deliver(eventID string, d *delivery) {
	defer w.wg.Done()
	if d == nil {
		loaded, err := w.load(context.Background(), eventID)
		if err != nil {
			w.log.Error("sandbox webhook: load delivery", "event", eventID, "err", err)
			return
		}
		d = &loaded
	}
	for {
		// Deliver to the endpoint as configured now (its URL may have
		// changed since the event was queued), as Stripe does.
		ep, ok := w.endpoints[d.provider]
		if d.status != "pending" || !ok {
			return
		}
		if wait := time.Until(d.nextAttempt); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-w.ctx.Done():
				t.Stop()
				return
			}
		}

		attempt := d.attempts + 1
		code, sendErr := w.post(ep, body(ep, d.payload))
		now := time.Now()
		status, next := "pending", now.Add(w.backoff<<(attempt-1))
		switch {
		case sendErr == nil:
			status = "delivered"
		case attempt >= webhookMaxAttempts:
			status = "failed"
		}
		var lastErr sql.NullString
		if sendErr != nil {
			lastErr = sql.NullString{String: sendErr.Error(), Valid: true}
		}
		// Recorded with the next write (see writer.later): this goroutine
		// goes on from d, and a record a kill -9 loses makes the attempt
		// again after the restart.
		w.writer.later(`
			UPDATE webhook_deliveries
			SET status = ?, attempts = ?, next_attempt_at_ms = ?, last_attempt_at_ms = ?,
			    last_status_code = ?, last_error = ?
			WHERE event_id = ?`,
			status, attempt, next.UnixMilli(), now.UnixMilli(),
			sql.NullInt64{Int64: int64(code), Valid: code != 0}, lastErr, eventID)
		switch status {
		case "delivered":
			w.log.Debug("sandbox webhook delivered", "event", eventID, "attempt", attempt)
			return
		case "failed":
			w.log.Warn("sandbox webhook failed for good", "event", eventID, "attempts", attempt, "err", sendErr)
			return
		}
		w.log.Info("sandbox webhook attempt failed; will retry", "event", eventID, "attempt", attempt, "err", sendErr)
		d.attempts, d.nextAttempt = attempt, next
	}
}

func (w *webhookSender) load(ctx context.Context, eventID string) (delivery, error) {
	var d delivery
	var nextMS int64
	err := w.db.QueryRowContext(ctx, `
		SELECT e.provider, e.payload, d.status, d.attempts, d.next_attempt_at_ms
		FROM webhook_deliveries d JOIN events e ON e.id = d.event_id
		WHERE d.event_id = ?`, eventID).Scan(&d.provider, &d.payload, &d.status, &d.attempts, &nextMS)
	if err != nil {
		return d, err
	}
	d.nextAttempt = time.UnixMilli(nextMS)
	return d, nil
}

// body is what a delivery of payload to ep sends: indented if ep indents
// and payload is compact (a payload stored indented, by an earlier
// version, goes as it is: compact JSON has no newline outside its strings,
// and a newline within one is escaped).
func body(ep WebhookEndpoint, payload []byte) []byte {
	if ep.Indent == "" || bytes.IndexByte(payload, '\n') >= 0 {
		return payload
	}
	return Indented(payload, ep.Indent)
}

// post makes one attempt. Any 2xx answer counts as delivered; the status
// code is returned whenever there was an answer.
func (w *webhookSender) post(ep WebhookEndpoint, payload []byte) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), webhookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(payload))
	if err != nil {
		return 0, err
	}
	for k, v := range ep.Headers(payload, time.Now()) {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	res, err := w.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10)) // let the connection be reused
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return res.StatusCode, fmt.Errorf("endpoint answered %s", res.Status)
	}
	return res.StatusCode, nil
}

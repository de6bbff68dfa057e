package simkit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// idempotencyTTL is how long a key is remembered. Stripe documents that
// keys may be pruned once they are at least 24 hours old, after which a
// reused key starts a new request.
const idempotencyTTL = 24 * time.Hour

// IdempotencyRecord is the stored first response to an idempotent request.
// Each provider decides what makes two requests the same (Fingerprint) and
// how a replay is answered.
type IdempotencyRecord struct {
	Fingerprint string
	StatusCode  int
	Body        []byte
	RequestID   string // the request that ran, where the provider names requests
}

// LookupIdempotency returns the live record for key, or nil. Keys are
// scoped per provider and per scope (an API key's hash, a merchant id).
func LookupIdempotency(ctx context.Context, q Querier, provider, scope, key string, now time.Time) (*IdempotencyRecord, error) {
	var rec IdempotencyRecord
	err := q.QueryRowContext(ctx, `
		SELECT fingerprint, status_code, body, request_id FROM idempotency_keys
		WHERE provider = ? AND scope = ? AND key = ? AND created > ?`,
		provider, scope, key, now.Add(-idempotencyTTL).Unix(),
	).Scan(&rec.Fingerprint, &rec.StatusCode, &rec.Body, &rec.RequestID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up idempotency key: %w", err)
	}
	return &rec, nil
}

// StoreIdempotency remembers the response to a request made with key, and
// prunes expired keys on the way.
func StoreIdempotency(ctx context.Context, q Querier, provider, scope, key string, rec IdempotencyRecord, now time.Time) error {
	if _, err := q.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE created <= ?`,
		now.Add(-idempotencyTTL).Unix()); err != nil {
		return fmt.Errorf("prune idempotency keys: %w", err)
	}
	if _, err := q.ExecContext(ctx, `
		INSERT INTO idempotency_keys (provider, scope, key, fingerprint, status_code, body, request_id, created)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		provider, scope, key, rec.Fingerprint, rec.StatusCode, rec.Body, rec.RequestID, now.Unix(),
	); err != nil {
		return fmt.Errorf("store idempotency key: %w", err)
	}
	return nil
}

package sandbox

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"time"
)

// idempotencyTTL is how long a key is remembered. Stripe documents that
// keys may be pruned once they are at least 24 hours old, after which a
// reused key starts a new request.
const idempotencyTTL = 24 * time.Hour

// idempotencyRecord is the stored first response to an idempotent request.
type idempotencyRecord struct {
	fingerprint string
	statusCode  int
	body        []byte
	requestID   string
}

// requestFingerprint identifies what makes two requests "the same" for one
// idempotency key: method, path and parameters (url.Values.Encode sorts
// them, so their order on the wire does not matter).
func requestFingerprint(method, path string, params url.Values) string {
	sum := sha256.Sum256([]byte(method + " " + path + "\n" + params.Encode()))
	return hex.EncodeToString(sum[:])
}

// lookupIdempotency returns the live record for key, or nil.
func lookupIdempotency(ctx context.Context, q querier, provider, scope, key string, now time.Time) (*idempotencyRecord, error) {
	var rec idempotencyRecord
	err := q.QueryRowContext(ctx, `
		SELECT fingerprint, status_code, body, request_id FROM idempotency_keys
		WHERE provider = ? AND scope = ? AND key = ? AND created > ?`,
		provider, scope, key, now.Add(-idempotencyTTL).Unix(),
	).Scan(&rec.fingerprint, &rec.statusCode, &rec.body, &rec.requestID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up idempotency key: %w", err)
	}
	return &rec, nil
}

// storeIdempotency remembers the response to a request made with key, and
// prunes expired keys on the way.
func storeIdempotency(ctx context.Context, q querier, provider, scope, key string, rec idempotencyRecord, now time.Time) error {
	if _, err := q.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE created <= ?`,
		now.Add(-idempotencyTTL).Unix()); err != nil {
		return fmt.Errorf("prune idempotency keys: %w", err)
	}
	if _, err := q.ExecContext(ctx, `
		INSERT INTO idempotency_keys (provider, scope, key, fingerprint, status_code, body, request_id, created)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		provider, scope, key, rec.fingerprint, rec.statusCode, rec.body, rec.requestID, now.Unix(),
	); err != nil {
		return fmt.Errorf("store idempotency key: %w", err)
	}
	return nil
}

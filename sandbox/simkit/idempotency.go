package simkit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// idempotencyTTL is how long a key is remembered, on the sandbox's clock.
// Stripe documents that keys may be pruned once they are at least 24
// hours old, after which a reused key starts a new request; PPRO keeps
// them as long.
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

// A key's row is either a reservation (in_flight = 1: its first request is
// still running, with no answer yet) or a completed record (in_flight = 0).
// A key's lifetime starts with its first request: completing a reservation
// keeps its created time.

// ReserveIdempotency is what a request with an idempotency key does before
// its work: it returns the live completed record to replay (rec), or
// inFlight when another request with the key is still running, or neither,
// having reserved the key for this request. The caller then completes the
// reservation with StoreIdempotency, or drops it with ReleaseIdempotency
// when the request stored nothing (a validation failure, which both
// providers let the key be used again after).
// Keys are scoped per provider and per scope (an API key's hash, a
// merchant id).
//
// q must commit the reservation before the work runs unlocked, or another
// request cannot see it. A request whose work and answer go into the same
// transaction as the lookup looks the key up instead (LookupIdempotency).
func ReserveIdempotency(ctx context.Context, q Querier, provider, scope, key, fingerprint string, now time.Time) (rec *IdempotencyRecord, inFlight bool, err error) {
	if rec, inFlight, err = LookupIdempotency(ctx, q, provider, scope, key, now); err != nil || rec != nil || inFlight {
		return rec, inFlight, err
	}
	if _, err := q.ExecContext(ctx, `
		INSERT INTO idempotency_keys (provider, scope, key, fingerprint, status_code, body, request_id, created, in_flight)
		VALUES (?, ?, ?, ?, 0, x'', '', ?, 1)`,
		provider, scope, key, fingerprint, now.Unix(),
	); err != nil {
		return nil, false, fmt.Errorf("reserve idempotency key: %w", err)
	}
	return nil, false, nil
}

// ClaimIdempotency is ReserveIdempotency when reserve (a request that
// waits in flight before it is done), else LookupIdempotency.
func ClaimIdempotency(ctx context.Context, q Querier, provider, scope, key, fingerprint string, now time.Time, reserve bool) (rec *IdempotencyRecord, inFlight bool, err error) {
	if reserve {
		return ReserveIdempotency(ctx, q, provider, scope, key, fingerprint, now)
	}
	return LookupIdempotency(ctx, q, provider, scope, key, now)
}

// LookupIdempotency is ReserveIdempotency without the reservation, for a
// request that runs whole in the lookup's transaction, under the host's
// lock, and stores its answer there (CompleteIdempotency): no other
// request could see a reservation before that commit anyway. The answer
// then goes in with one insert, at the end of the table, where a
// reservation that grows into the answer (2 to 3 KB) split a page of the
// table each time: a page less for each such request.
func LookupIdempotency(ctx context.Context, q Querier, provider, scope, key string, now time.Time) (rec *IdempotencyRecord, inFlight bool, err error) {
	if err := pruneIdempotency(ctx, q, now); err != nil {
		return nil, false, err
	}
	var r IdempotencyRecord
	var running bool
	err = q.QueryRowContext(ctx, `
		SELECT fingerprint, status_code, body, request_id, in_flight FROM idempotency_keys
		WHERE provider = ? AND scope = ? AND key = ?`,
		provider, scope, key,
	).Scan(&r.Fingerprint, &r.StatusCode, &r.Body, &r.RequestID, &running)
	switch {
	case err == nil && running:
		return nil, true, nil
	case err == nil:
		return &r, false, nil
	case !errors.Is(err, sql.ErrNoRows):
		return nil, false, fmt.Errorf("look up idempotency key: %w", err)
	}
	return nil, false, nil
}

// ReleaseIdempotency drops the reservation of key (see ReserveIdempotency)
// made by a request that stored no answer, so that the key may be used
// again. A completed record stays.
func ReleaseIdempotency(ctx context.Context, q Querier, provider, scope, key string) error {
	if _, err := q.ExecContext(ctx, `
		DELETE FROM idempotency_keys WHERE provider = ? AND scope = ? AND key = ? AND in_flight = 1`,
		provider, scope, key); err != nil {
		return fmt.Errorf("release idempotency key: %w", err)
	}
	return nil
}

// StoreIdempotency remembers the response to a request made with key: it
// completes the key's reservation, or records it afresh for a caller that
// reserved nothing. It prunes expired keys on the way.
func StoreIdempotency(ctx context.Context, q Querier, provider, scope, key string, rec IdempotencyRecord, now time.Time) error {
	if err := pruneIdempotency(ctx, q, now); err != nil {
		return err
	}
	return CompleteIdempotency(ctx, q, provider, scope, key, rec, now)
}

// CompleteIdempotency is StoreIdempotency for a request that reserved or
// looked up key in the same transaction, so that expired keys are pruned
// already: one statement completes the reservation (which keeps its
// created time) or stores the answer afresh.
func CompleteIdempotency(ctx context.Context, q Querier, provider, scope, key string, rec IdempotencyRecord, now time.Time) error {
	if _, err := q.ExecContext(ctx, `
		INSERT INTO idempotency_keys (provider, scope, key, fingerprint, status_code, body, request_id, created, in_flight)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)
		ON CONFLICT (provider, scope, key) DO UPDATE SET fingerprint = excluded.fingerprint,
			status_code = excluded.status_code, body = excluded.body, request_id = excluded.request_id, in_flight = 0`,
		provider, scope, key, rec.Fingerprint, rec.StatusCode, rec.Body, rec.RequestID, now.Unix(),
	); err != nil {
		return fmt.Errorf("store idempotency key: %w", err)
	}
	return nil
}

// pruneIdempotency forgets the keys older than idempotencyTTL on the
// sandbox's clock, reservations included (no request runs that long).
func pruneIdempotency(ctx context.Context, q Querier, now time.Time) error {
	if _, err := q.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE created <= ?`,
		now.Add(-idempotencyTTL).Unix()); err != nil {
		return fmt.Errorf("prune idempotency keys: %w", err)
	}
	return nil
}

// dropReservations forgets the reservations a previous run left: no
// request of that run is running any more, and its keys may be used again.
func dropReservations(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE in_flight = 1`); err != nil {
		return fmt.Errorf("drop idempotency reservations: %w", err)
	}
	return nil
}

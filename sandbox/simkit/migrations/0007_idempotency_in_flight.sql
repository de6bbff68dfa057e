-- A key whose first request is still running: reserved (in_flight = 1,
-- no answer yet) before the request's work starts, completed with the
-- answer when it ends, so that a second request with the key meanwhile is
-- told it is in use (Stripe's 409 idempotency_key_in_use) rather than
-- running the work twice.
ALTER TABLE idempotency_keys ADD COLUMN in_flight INTEGER NOT NULL DEFAULT 0 CHECK (in_flight IN (0, 1));

-- Provider-neutral tables: idempotency records, events, webhook deliveries.
-- Times are Unix seconds (as Stripe reports them) unless the column says _ms.

-- The first response to each idempotent POST, replayed to later requests
-- with the same key. Keys are scoped per provider and per API key (scope is
-- a hash of the key, never the key itself).
CREATE TABLE idempotency_keys (
    provider     TEXT    NOT NULL,
    scope        TEXT    NOT NULL,
    key          TEXT    NOT NULL,
    fingerprint  TEXT    NOT NULL, -- hash of method, path and parameters
    status_code  INTEGER NOT NULL,
    body         BLOB    NOT NULL,
    request_id   TEXT    NOT NULL,
    created      INTEGER NOT NULL,
    PRIMARY KEY (provider, scope, key)
);

-- Every event the sandbox emitted, whether or not a webhook endpoint was
-- configured, with the exact JSON that is (or would be) delivered.
CREATE TABLE events (
    id       TEXT    PRIMARY KEY,
    provider TEXT    NOT NULL,
    type     TEXT    NOT NULL,
    created  INTEGER NOT NULL,
    payload  BLOB    NOT NULL
);

CREATE TABLE webhook_deliveries (
    event_id           TEXT    PRIMARY KEY REFERENCES events (id),
    url                TEXT    NOT NULL, -- where it was first queued for; attempts use the current configuration
    status             TEXT    NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts           INTEGER NOT NULL DEFAULT 0,
    next_attempt_at_ms INTEGER NOT NULL,
    last_attempt_at_ms INTEGER,
    last_status_code   INTEGER,
    last_error         TEXT
);

CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (status) WHERE status = 'pending';

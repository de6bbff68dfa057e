-- Whether an active mandate is being paid for is a question of its own,
-- beside the mandate: the mandate says whether permission exists, billing
-- says where its payments stand. Periods are anchored on the activation
-- time (period n is due n-1 intervals later, month ends clamped).
CREATE TABLE billing (
    mandate_id    TEXT PRIMARY KEY REFERENCES mandates(id),
    state         TEXT NOT NULL CHECK (state IN ('active', 'past_due', 'ended', 'revoked')),
    anchor_at     TEXT NOT NULL,              -- when period 1 was due
    next_period   INTEGER NOT NULL,           -- the period to charge next
    next_due_at   TEXT NOT NULL,              -- when to charge it (its due time, or its next retry)
    failures      INTEGER NOT NULL DEFAULT 0, -- declined attempts of next_period
    -- A worker's claim: made in a write transaction, it expires if its
    -- holder dies, so another process can finish the work.
    lease_owner   TEXT,
    lease_until   TEXT,
    transient     INTEGER NOT NULL DEFAULT 0, -- consecutive times the provider could not be reached (backoff)
    last_error    TEXT NOT NULL DEFAULT '',
    updated_at    TEXT NOT NULL
);
CREATE INDEX billing_due ON billing (next_due_at) WHERE state IN ('active', 'past_due');
CREATE INDEX billing_state ON billing (state);

CREATE TABLE billing_events (
    id         INTEGER PRIMARY KEY,
    mandate_id TEXT NOT NULL REFERENCES mandates(id),
    from_state TEXT NOT NULL,                 -- '' when billing starts
    to_state   TEXT NOT NULL,
    period     INTEGER NOT NULL,
    detail     TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE INDEX billing_events_mandate ON billing_events (mandate_id, id);

-- The demo clock: in an all-sandbox demo the billing clock (and the
-- sandbox's) runs this far ahead of real time. One row.
CREATE TABLE demo_clock (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    offset_seconds INTEGER NOT NULL
);
INSERT INTO demo_clock (id, offset_seconds) VALUES (1, 0);

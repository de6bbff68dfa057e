-- Every payment on a mandate: the first payment taken with a setup, the
-- merchant's charges and the scheduled ones. A row is written before the
-- provider is called; its idempotency key (and the reference the provider
-- keeps) comes from the row, so a crash in between leaves a pending charge
-- that is finished later with the same key, never a second payment.
CREATE TABLE charges_v2 (
    id              INTEGER PRIMARY KEY,
    mandate_id      TEXT NOT NULL REFERENCES mandates(id),
    kind            TEXT NOT NULL CHECK (kind IN ('initial', 'merchant', 'scheduled')),
    initiated_by    TEXT NOT NULL CHECK (initiated_by IN ('shopper', 'merchant', 'schedule')),
    period          INTEGER,                  -- the billing period it pays (1 = the first)
    attempt         INTEGER NOT NULL DEFAULT 1,
    amount          INTEGER NOT NULL CHECK (amount > 0), -- minor units
    currency        TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,     -- also our reference at the provider
    provider_ref    TEXT,                     -- pi_…, charge_…; set once the provider answered
    status          TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'partially_refunded', 'refunded')),
    provider_status TEXT NOT NULL DEFAULT '',
    failure_code    TEXT NOT NULL DEFAULT '',
    failure_reason  TEXT NOT NULL DEFAULT '',
    refunded        INTEGER NOT NULL DEFAULT 0 CHECK (refunded >= 0 AND refunded <= amount),
    last_error      TEXT NOT NULL DEFAULT '', -- latest problem reaching the provider (not a decline)
    form_token      TEXT UNIQUE,              -- the one-time token of the form that started it
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
INSERT INTO charges_v2 (id, mandate_id, kind, initiated_by, period, attempt, amount, currency, idempotency_key,
        provider_ref, status, provider_status, failure_reason, created_at, updated_at)
    SELECT id, mandate_id, 'initial', 'shopper', 1, 1, amount, currency, 'mandate/' || mandate_id || '/first',
        provider_ref, status, provider_status, failure_reason, created_at, updated_at FROM charges;
DROP TABLE charges;
ALTER TABLE charges_v2 RENAME TO charges;
CREATE INDEX charges_mandate ON charges (mandate_id, id);
CREATE UNIQUE INDEX charges_initial ON charges (mandate_id) WHERE kind = 'initial';
CREATE UNIQUE INDEX charges_period_attempt ON charges (mandate_id, period, attempt) WHERE period IS NOT NULL;
CREATE UNIQUE INDEX charges_provider_ref ON charges (provider_ref) WHERE provider_ref IS NOT NULL;
CREATE INDEX charges_pending ON charges (updated_at) WHERE status = 'pending';

-- The provider's steps of a charge: PPRO's authorizations (authz_…) and
-- captures (capture_…), Stripe's charge (ch_…), as the provider reports them.
CREATE TABLE charge_operations (
    charge_id    INTEGER NOT NULL REFERENCES charges(id),
    kind         TEXT NOT NULL CHECK (kind IN ('authorization', 'capture', 'refund')),
    provider_ref TEXT NOT NULL,
    amount       INTEGER NOT NULL,
    status       TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (charge_id, provider_ref)
);

-- Refunds, written before the provider is called, like charges. The sum of
-- a charge's pending and succeeded refunds never exceeds its amount.
CREATE TABLE refunds (
    id              INTEGER PRIMARY KEY,
    charge_id       INTEGER NOT NULL REFERENCES charges(id),
    amount          INTEGER NOT NULL CHECK (amount > 0),
    idempotency_key TEXT NOT NULL UNIQUE,
    provider_ref    TEXT,                     -- re_…, refund_…
    status          TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    provider_status TEXT NOT NULL DEFAULT '',
    failure_reason  TEXT NOT NULL DEFAULT '',
    last_error      TEXT NOT NULL DEFAULT '',
    form_token      TEXT UNIQUE,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX refunds_charge ON refunds (charge_id, id);
CREATE UNIQUE INDEX refunds_provider_ref ON refunds (provider_ref) WHERE provider_ref IS NOT NULL;
CREATE INDEX refunds_pending ON refunds (updated_at) WHERE status = 'pending';

-- One-time tokens of the merchant's forms (charge, refund): a double click
-- or a resubmitted form finds its token used and acts once.
CREATE TABLE form_tokens (
    token      TEXT PRIMARY KEY,
    purpose    TEXT NOT NULL,                 -- "charge", "refund:<charge id>"
    mandate_id TEXT NOT NULL REFERENCES mandates(id),
    created_at TEXT NOT NULL,
    used_at    TEXT
);

-- The merchant's logins: the cookie holds a random token, the table its
-- SHA-256, so logging out ends the session for good.
CREATE TABLE admin_sessions (
    token_sha256 TEXT PRIMARY KEY,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL
);

-- The admin list filtered by provider and status together, newest first.
CREATE INDEX mandates_provider_status_created ON mandates (provider, status, created_at DESC, id DESC);

-- Counts by provider and status, kept by triggers, so the dashboard's
-- counts cost the same at a hundred thousand mandates as at ten.
CREATE TABLE mandate_counts (
    provider TEXT NOT NULL,
    status   TEXT NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (provider, status)
);
INSERT INTO mandate_counts (provider, status, n) SELECT provider, status, count(*) FROM mandates GROUP BY provider, status;
CREATE TRIGGER mandate_counts_insert AFTER INSERT ON mandates BEGIN
    INSERT INTO mandate_counts (provider, status, n) VALUES (NEW.provider, NEW.status, 1)
        ON CONFLICT (provider, status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER mandate_counts_update AFTER UPDATE OF status ON mandates WHEN OLD.status != NEW.status BEGIN
    UPDATE mandate_counts SET n = n - 1 WHERE provider = OLD.provider AND status = OLD.status;
    INSERT INTO mandate_counts (provider, status, n) VALUES (NEW.provider, NEW.status, 1)
        ON CONFLICT (provider, status) DO UPDATE SET n = n + 1;
END;

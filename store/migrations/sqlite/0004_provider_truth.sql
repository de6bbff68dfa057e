-- What a mandate needs besides its status: how real it is (a return or
-- webhook for a mandate of another mode is refused), the provider's other
-- objects behind it (a later charge needs the Stripe Customer that holds
-- the payment method), the provider's failure code (the shopper's page
-- words it; the history keeps it) and who revoked it.
ALTER TABLE mandates ADD COLUMN mode TEXT NOT NULL DEFAULT 'sandbox' CHECK (mode IN ('sandbox', 'test', 'live'));
ALTER TABLE mandates ADD COLUMN provider_customer_ref TEXT;  -- cus_…: set when made, kept across a failed session call
ALTER TABLE mandates ADD COLUMN setup_intent_ref TEXT;       -- seti_…
ALTER TABLE mandates ADD COLUMN provider_mandate_ref TEXT;   -- mandate_… (Stripe's mandate object)
ALTER TABLE mandates ADD COLUMN failure_code TEXT NOT NULL DEFAULT '';
-- The merchant named in the terms the shopper agreed to, so that the exact
-- text (and its SHA-256) can be rebuilt after MERCHANT_NAME changes.
ALTER TABLE mandates ADD COLUMN merchant TEXT NOT NULL DEFAULT '';
ALTER TABLE mandates ADD COLUMN merchant_email TEXT NOT NULL DEFAULT ''; -- the contact the terms name (v2 and later)
ALTER TABLE mandates ADD COLUMN revoked_by TEXT NOT NULL DEFAULT '' CHECK (revoked_by IN ('', 'shopper', 'merchant', 'provider'));
CREATE INDEX mandates_handle ON mandates (provider, payment_method_id) WHERE payment_method_id IS NOT NULL;
CREATE INDEX mandates_provider_mandate ON mandates (provider, provider_mandate_ref) WHERE provider_mandate_ref IS NOT NULL;
-- The admin list: newest first, keyset pagination, filters.
CREATE INDEX mandates_created ON mandates (created_at DESC, id DESC);
CREATE INDEX mandates_status_created ON mandates (status, created_at DESC, id DESC);
CREATE INDEX mandates_provider_created ON mandates (provider, created_at DESC, id DESC);

-- The per-email customer table let a second setup overwrite the Stripe
-- Customer an older mandate's payment method sits on, and let anyone who
-- typed the same email reuse it. The Customer now belongs to the mandate.
DROP TABLE provider_customers;

-- Webhook events are stored first and processed after, so a delivery is
-- answered at once and nothing is lost to a crash: pending events are
-- picked up again after a restart. refs is what the event is about (JSON
-- of bounded ids); the payload itself is never stored or trusted.
CREATE TABLE webhook_events_v2 (
    id              INTEGER PRIMARY KEY,
    provider        TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    type            TEXT NOT NULL,
    refs            TEXT NOT NULL DEFAULT '{}',
    status          TEXT NOT NULL CHECK (status IN ('pending', 'processed', 'ignored')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,             -- when the worker tries it (again)
    leased_until    TEXT,                      -- a processor's claim, expiring if it dies
    outcome         TEXT NOT NULL DEFAULT '',  -- what processing did, or its latest problem
    mandate_id      TEXT,
    received_at     TEXT NOT NULL,
    processed_at    TEXT,
    UNIQUE (provider, event_id)
);
INSERT INTO webhook_events_v2 (provider, event_id, type, status, next_attempt_at, mandate_id, received_at, processed_at)
    SELECT provider, event_id, type, 'processed', received_at, mandate_id, received_at, received_at FROM webhook_events;
DROP TABLE webhook_events;
ALTER TABLE webhook_events_v2 RENAME TO webhook_events;
CREATE INDEX webhook_events_pending ON webhook_events (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_events_received ON webhook_events (received_at);

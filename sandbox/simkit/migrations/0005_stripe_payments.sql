-- The Stripe API subset's merchant side: the account, mandates, payment
-- intents, charges and refunds. Amounts are integers in minor units; times
-- are Unix seconds; nested values (errors, outcomes, payment method
-- details) are JSON text in the 2023-10-16 shape.

-- The sandbox's own account, one per API key (scope is a hash of the key,
-- as in idempotency_keys), so that its id and created time stay the same
-- across restarts.
CREATE TABLE stripe_accounts (
    scope   TEXT    PRIMARY KEY,
    id      TEXT    NOT NULL UNIQUE, -- acct_…
    created INTEGER NOT NULL
);

-- The shopper's permission to charge a saved payment method later, made
-- when a Checkout setup completes. One per payment method.
CREATE TABLE stripe_mandates (
    id                  TEXT    PRIMARY KEY, -- mandate_…
    created             INTEGER NOT NULL,
    status              TEXT    NOT NULL CHECK (status IN ('active', 'inactive', 'pending')),
    type                TEXT    NOT NULL CHECK (type IN ('multi_use', 'single_use')),
    payment_method_id   TEXT    NOT NULL UNIQUE REFERENCES stripe_payment_methods (id),
    payment_method_type TEXT    NOT NULL,
    accepted_at         INTEGER NOT NULL,
    ip_address          TEXT    NOT NULL,
    user_agent          TEXT    NOT NULL
);

ALTER TABLE stripe_setup_intents ADD COLUMN mandate_id TEXT REFERENCES stripe_mandates (id);

-- The index page lists saved (attached) payment methods, newest first.
CREATE INDEX stripe_payment_methods_customer ON stripe_payment_methods (customer_id, created);

CREATE TABLE stripe_payment_intents (
    id                        TEXT    PRIMARY KEY, -- pi_…
    created                   INTEGER NOT NULL,
    amount                    INTEGER NOT NULL,
    amount_received           INTEGER NOT NULL DEFAULT 0,
    currency                  TEXT    NOT NULL,
    customer_id               TEXT    REFERENCES stripe_customers (id),
    payment_method_id         TEXT    REFERENCES stripe_payment_methods (id), -- NULL again after a failed attempt
    payment_method_types      TEXT    NOT NULL, -- JSON array
    automatic_payment_methods TEXT,             -- JSON object or NULL
    status                    TEXT    NOT NULL CHECK (status IN ('requires_payment_method', 'requires_confirmation',
                                  'requires_action', 'processing', 'requires_capture', 'canceled', 'succeeded')),
    capture_method            TEXT    NOT NULL,
    client_secret             TEXT    NOT NULL,
    description               TEXT,
    latest_charge_id          TEXT    REFERENCES stripe_charges (id),
    last_payment_error        TEXT,             -- JSON object or NULL
    metadata                  TEXT    NOT NULL DEFAULT '{}'
);

-- Listing by customer, newest first (created, then rowid).
CREATE INDEX stripe_payment_intents_customer ON stripe_payment_intents (customer_id, created);
CREATE INDEX stripe_payment_intents_created ON stripe_payment_intents (created);

CREATE TABLE stripe_charges (
    id                     TEXT    PRIMARY KEY, -- ch_…
    created                INTEGER NOT NULL,
    amount                 INTEGER NOT NULL,
    amount_captured        INTEGER NOT NULL,
    amount_refunded        INTEGER NOT NULL DEFAULT 0, -- pending refunds included, as Stripe counts them
    currency               TEXT    NOT NULL,
    customer_id            TEXT    REFERENCES stripe_customers (id),
    payment_intent_id      TEXT    NOT NULL REFERENCES stripe_payment_intents (id),
    payment_method_id      TEXT    NOT NULL REFERENCES stripe_payment_methods (id),
    payment_method_details TEXT    NOT NULL, -- JSON object
    billing_details        TEXT    NOT NULL, -- JSON object
    status                 TEXT    NOT NULL CHECK (status IN ('succeeded', 'pending', 'failed')),
    failure_code           TEXT,
    failure_message        TEXT,
    outcome                TEXT    NOT NULL, -- JSON object
    statement_descriptor   TEXT,             -- calculated_statement_descriptor
    description            TEXT,
    metadata               TEXT    NOT NULL DEFAULT '{}'
);

CREATE INDEX stripe_charges_payment_intent ON stripe_charges (payment_intent_id);

CREATE TABLE stripe_refunds (
    id                TEXT    PRIMARY KEY, -- re_…
    created           INTEGER NOT NULL,
    amount            INTEGER NOT NULL,
    currency          TEXT    NOT NULL,
    charge_id         TEXT    NOT NULL REFERENCES stripe_charges (id),
    payment_intent_id TEXT    REFERENCES stripe_payment_intents (id),
    reason            TEXT,
    status            TEXT    NOT NULL CHECK (status IN ('pending', 'requires_action', 'succeeded', 'failed', 'canceled')),
    settles_at        INTEGER NOT NULL, -- when the sandbox moves a pending refund on (its clock)
    metadata          TEXT    NOT NULL DEFAULT '{}'
);

CREATE INDEX stripe_refunds_charge ON stripe_refunds (charge_id);
CREATE INDEX stripe_refunds_pending ON stripe_refunds (settles_at) WHERE status = 'pending';

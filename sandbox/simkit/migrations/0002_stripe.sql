-- The Stripe API subset: customers, payment methods, setup intents and
-- Checkout Sessions. Nested values (address, metadata, card details, errors)
-- are JSON text in the 2023-10-16 shape; times are Unix seconds.

CREATE TABLE stripe_customers (
    id             TEXT    PRIMARY KEY,
    created        INTEGER NOT NULL,
    email          TEXT,
    name           TEXT,
    description    TEXT,
    phone          TEXT,
    address        TEXT, -- JSON object or NULL
    invoice_prefix TEXT    NOT NULL,
    metadata       TEXT    NOT NULL DEFAULT '{}'
);

CREATE TABLE stripe_payment_methods (
    id              TEXT    PRIMARY KEY,
    created         INTEGER NOT NULL,
    type            TEXT    NOT NULL,
    customer_id     TEXT    REFERENCES stripe_customers (id),
    billing_details TEXT    NOT NULL, -- JSON object
    card            TEXT,             -- JSON object, for type card
    metadata        TEXT    NOT NULL DEFAULT '{}'
);

CREATE TABLE stripe_setup_intents (
    id                   TEXT    PRIMARY KEY,
    created              INTEGER NOT NULL,
    client_secret        TEXT    NOT NULL,
    customer_id          TEXT    REFERENCES stripe_customers (id),
    description          TEXT,
    status               TEXT    NOT NULL CHECK (status IN ('requires_payment_method', 'requires_confirmation',
                                     'requires_action', 'processing', 'succeeded', 'canceled')),
    usage                TEXT    NOT NULL,
    payment_method_types TEXT    NOT NULL, -- JSON array
    payment_method_id    TEXT    REFERENCES stripe_payment_methods (id),
    last_setup_error     TEXT,             -- JSON object or NULL
    next_action          TEXT,             -- JSON object or NULL
    metadata             TEXT    NOT NULL DEFAULT '{}'
);

CREATE TABLE stripe_checkout_sessions (
    id                   TEXT    PRIMARY KEY,
    created              INTEGER NOT NULL,
    expires_at           INTEGER NOT NULL,
    status               TEXT    NOT NULL CHECK (status IN ('open', 'complete', 'expired')),
    mode                 TEXT    NOT NULL,
    customer_id          TEXT    REFERENCES stripe_customers (id),
    customer_email       TEXT,
    client_reference_id  TEXT,
    currency             TEXT,
    locale               TEXT,
    success_url          TEXT    NOT NULL, -- keeps the literal {CHECKOUT_SESSION_ID}
    cancel_url           TEXT,
    payment_method_types TEXT    NOT NULL, -- JSON array
    setup_intent_id      TEXT    NOT NULL UNIQUE REFERENCES stripe_setup_intents (id),
    submit_message       TEXT,             -- custom_text[submit][message]
    metadata             TEXT    NOT NULL DEFAULT '{}'
);

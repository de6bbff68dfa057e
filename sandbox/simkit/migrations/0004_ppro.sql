-- The PPRO API subset: payment agreements (Amazon Pay, REDIRECT
-- authentication), their history and revocations, and payment charges with
-- their operations. Times are Unix milliseconds (PPRO reports ISO-8601 with
-- milliseconds); amounts are integers in minor units; nested values
-- (consumer, failure, frequency, labels) are JSON text in PPRO's shape.
-- Idempotency records use the provider-neutral idempotency_keys table.

CREATE TABLE ppro_agreements (
    id                   TEXT    PRIMARY KEY,                -- agr_…
    merchant_id          TEXT    NOT NULL,                   -- the Merchant-Id that created it; others cannot see it
    status               TEXT    NOT NULL CHECK (status IN ('INITIALIZING', 'AUTHENTICATION_PENDING',
                             'AUTHORIZATION_PROCESSING', 'ACTIVE', 'REVOKED_BY_CONSUMER', 'REVOKED_BY_MERCHANT',
                             'REVOKED_BY_PROVIDER', 'FAILED')),
    payment_method       TEXT    NOT NULL,
    payment_medium       TEXT    NOT NULL,
    instrument_id        TEXT    NOT NULL,                   -- instr_…
    consumer             TEXT    NOT NULL,                   -- JSON Consumer
    return_url           TEXT    NOT NULL,                   -- the REDIRECT settings.returnUrl, exactly as given
    merchant_reference   TEXT,                               -- merchantPaymentAgreementReference
    description          TEXT,
    frequency            TEXT,                               -- JSON Frequency or NULL
    amount_value         INTEGER,
    amount_currency      TEXT,
    amount_type          TEXT,
    start_date_ms        INTEGER NOT NULL,
    end_date_ms          INTEGER,
    labels               TEXT,                               -- JSON object or NULL
    webhooks_url         TEXT,                               -- as requested; see ppro_events.go
    initial_scheme_authorization_reference TEXT,
    initial_transaction_link_reference     TEXT,
    failure              TEXT,                               -- JSON ProcessingFailure or NULL
    initial_charge_id    TEXT    REFERENCES ppro_charges (id) DEFERRABLE INITIALLY DEFERRED,
    created_ms           INTEGER NOT NULL,
    updated_ms           INTEGER NOT NULL
);

-- Status changes, in the order they happened (rowid order).
CREATE TABLE ppro_agreement_history (
    id           TEXT    PRIMARY KEY,                        -- ahist_…
    agreement_id TEXT    NOT NULL REFERENCES ppro_agreements (id),
    status       TEXT    NOT NULL,
    created_ms   INTEGER NOT NULL
);

CREATE INDEX ppro_agreement_history_agreement ON ppro_agreement_history (agreement_id);

-- Revocation attempts, successful or not.
CREATE TABLE ppro_agreement_revocations (
    id                TEXT    PRIMARY KEY,                   -- rev_…
    agreement_id      TEXT    NOT NULL REFERENCES ppro_agreements (id),
    revocation_status TEXT    NOT NULL CHECK (revocation_status IN ('REVOKED_BY_CONSUMER', 'REVOKED_BY_PROVIDER',
                          'REVOKED_BY_MERCHANT', 'REVOCATION_FAILED')),
    created_ms        INTEGER NOT NULL
);

CREATE INDEX ppro_agreement_revocations_agreement ON ppro_agreement_revocations (agreement_id);

CREATE TABLE ppro_charges (
    id                 TEXT    PRIMARY KEY,                  -- charge_…
    merchant_id        TEXT    NOT NULL,
    agreement_id       TEXT    NOT NULL REFERENCES ppro_agreements (id),
    status             TEXT    NOT NULL CHECK (status IN ('AUTHORIZATION_PROCESSING', 'AUTHORIZATION_ASYNC',
                           'AUTHENTICATION_PENDING', 'CAPTURE_PENDING', 'CAPTURE_PROCESSING', 'CAPTURED',
                           'REFUND_PROCESSING', 'REFUNDED', 'VOID_PROCESSING', 'VOIDED', 'DISCARD_PROCESSING',
                           'DISCARDED', 'FAILED')),
    payment_method     TEXT    NOT NULL,
    payment_medium     TEXT    NOT NULL,
    initiator          TEXT    NOT NULL,
    schedule_type      TEXT,
    amount             INTEGER NOT NULL,
    currency           TEXT    NOT NULL,
    country            TEXT    NOT NULL,
    instrument_id      TEXT    NOT NULL,
    consumer           TEXT    NOT NULL,                     -- JSON Consumer
    payment_descriptor TEXT,
    merchant_reference TEXT,                                 -- merchantPaymentChargeReference
    labels             TEXT,                                 -- JSON object or NULL
    webhooks_url       TEXT,
    failure            TEXT,                                 -- JSON ProcessingFailure or NULL
    created_ms         INTEGER NOT NULL,
    updated_ms         INTEGER NOT NULL
);

CREATE INDEX ppro_charges_agreement ON ppro_charges (agreement_id);

-- A charge's authorizations, captures and discards, in rowid order.
CREATE TABLE ppro_charge_operations (
    id           TEXT    PRIMARY KEY,                        -- authz_…, capture_…, discard_…
    charge_id    TEXT    NOT NULL REFERENCES ppro_charges (id),
    kind         TEXT    NOT NULL CHECK (kind IN ('authorization', 'capture', 'discard')),
    status       TEXT    NOT NULL,
    amount       INTEGER,                                    -- NULL for discards, which carry none
    discard_type TEXT,
    failure      TEXT,                                       -- JSON ProcessingFailure or NULL
    created_ms   INTEGER NOT NULL,
    updated_ms   INTEGER NOT NULL
);

CREATE INDEX ppro_charge_operations_charge ON ppro_charge_operations (charge_id);

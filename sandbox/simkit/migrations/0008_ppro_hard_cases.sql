-- The PPRO stand-in's hard cases (pprosim/later.go): what PPRO does on its
-- own a moment after answering, due on the sandbox's clock; chargebacks;
-- and a revocation the agreement shows late. Depends on 0004 and 0006.
-- Times are Unix milliseconds; amounts are integers in minor units.

-- An AUTHENTICATION_PENDING (magic amount 03) or AUTHORIZATION_ASYNC (07)
-- agreement charge settles at settle_due_ms; a captured charge of an
-- amount ending in 04 is charged back at chargeback_due_ms.
ALTER TABLE ppro_charges ADD COLUMN settle_due_ms INTEGER;
ALTER TABLE ppro_charges ADD COLUMN chargeback_due_ms INTEGER;

-- Whether the charge's authorizations (and webhooks) carry its
-- merchantPaymentChargeReference: the EchoChargeReference setting when the
-- charge was made (1 for the charges made before it existed).
ALTER TABLE ppro_charges ADD COLUMN echo_reference INTEGER NOT NULL DEFAULT 1 CHECK (echo_reference IN (0, 1));

-- A PENDING refund settles at settle_due_ms; a REFUNDED one of an amount
-- ending in 06 fails at fail_due_ms.
ALTER TABLE ppro_refunds ADD COLUMN settle_due_ms INTEGER;
ALTER TABLE ppro_refunds ADD COLUMN fail_due_ms INTEGER;

-- A merchant revocation the agreement shows only from this time on (the
-- RevocationLag setting); NULL: at once.
ALTER TABLE ppro_agreements ADD COLUMN revocation_shown_ms INTEGER;

-- Chargebacks. PPRO documents a chargeback only as its CHARGEBACK_SUCCEEDED
-- webhook (charge id and amount): no object, id or status in its API. The
-- id and the outcome are the sandbox's own, for its page and Go API.
CREATE TABLE ppro_chargebacks (
    id          TEXT    PRIMARY KEY,                         -- chargeback_…
    charge_id   TEXT    NOT NULL UNIQUE REFERENCES ppro_charges (id),
    merchant_id TEXT    NOT NULL,
    amount      INTEGER NOT NULL CHECK (amount >= 1),
    currency    TEXT    NOT NULL,
    outcome     TEXT    CHECK (outcome IN ('WON', 'LOST')),  -- NULL while open
    created_ms  INTEGER NOT NULL,
    resolved_ms INTEGER
);

CREATE INDEX ppro_charges_settle_due ON ppro_charges (settle_due_ms) WHERE settle_due_ms IS NOT NULL;
CREATE INDEX ppro_charges_chargeback_due ON ppro_charges (chargeback_due_ms) WHERE chargeback_due_ms IS NOT NULL;
CREATE INDEX ppro_refunds_settle_due ON ppro_refunds (settle_due_ms) WHERE settle_due_ms IS NOT NULL;
CREATE INDEX ppro_refunds_fail_due ON ppro_refunds (fail_due_ms) WHERE fail_due_ms IS NOT NULL;

-- The PPRO API subset, continued: refunds of payment charges, a charge's
-- autoCapture, and the indexes of the new look-ups (charge search, the
-- index page's list of agreements). Depends only on 0004_ppro.sql.
-- Times are Unix milliseconds; amounts are integers in minor units.

-- autoCapture as the charge was requested: 1 (true or absent) captures at
-- once; 0 leaves the charge CAPTURE_PENDING until capture_due_ms, when the
-- sandbox captures it (Amazon Pay through PPRO has no separate captures).
ALTER TABLE ppro_charges ADD COLUMN auto_capture INTEGER NOT NULL DEFAULT 1 CHECK (auto_capture IN (0, 1));
ALTER TABLE ppro_charges ADD COLUMN capture_due_ms INTEGER;

-- Refund operations, successful or not, in rowid order per charge.
CREATE TABLE ppro_refunds (
    id                 TEXT    PRIMARY KEY,                  -- refund_…
    charge_id          TEXT    NOT NULL REFERENCES ppro_charges (id),
    status             TEXT    NOT NULL CHECK (status IN ('REFUNDED', 'PENDING', 'FAILED')),
    amount             INTEGER NOT NULL CHECK (amount >= 1),
    merchant_reference TEXT,                                 -- merchantRefundReference
    reason             TEXT,                                 -- refundReason
    descriptor         TEXT,                                 -- refundDescriptor
    labels             TEXT,                                 -- JSON object or NULL
    failure            TEXT,                                 -- JSON ProcessingFailure or NULL
    created_ms         INTEGER NOT NULL,
    updated_ms         INTEGER NOT NULL
);

CREATE INDEX ppro_refunds_charge ON ppro_refunds (charge_id);

-- GET /v1/payment-charges?merchantPaymentChargeReference=…
CREATE INDEX ppro_charges_merchant_reference ON ppro_charges (merchant_id, merchant_reference);

-- The sandbox index page: a merchant's newest agreements.
CREATE INDEX ppro_agreements_merchant_created ON ppro_agreements (merchant_id, created_ms);

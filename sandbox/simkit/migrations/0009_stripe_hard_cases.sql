-- The Stripe part's hard cases: charges that settle later (processing,
-- amount ending 07) or are disputed later (04), refunds that fail (05) or
-- fail after succeeding (06), and disputes. Times are Unix seconds on the
-- sandbox's clock; amounts are integers in minor units.

-- When the sandbox moves a pending charge on to succeeded, and when it
-- disputes a charge that succeeded; NULL once done (or never due).
ALTER TABLE stripe_charges ADD COLUMN settles_at INTEGER;
ALTER TABLE stripe_charges ADD COLUMN disputes_at INTEGER;

CREATE INDEX stripe_charges_due ON stripe_charges (settles_at) WHERE settles_at IS NOT NULL;
CREATE INDEX stripe_charges_dispute_due ON stripe_charges (disputes_at) WHERE disputes_at IS NOT NULL;

-- A refund that failed says why (Stripe's failure_reason); one that
-- succeeded and is due to fail later has fails_at.
ALTER TABLE stripe_refunds ADD COLUMN failure_reason TEXT;
ALTER TABLE stripe_refunds ADD COLUMN fails_at INTEGER;

CREATE INDEX stripe_refunds_fail_due ON stripe_refunds (fails_at) WHERE fails_at IS NOT NULL;

CREATE TABLE stripe_disputes (
    id                TEXT    PRIMARY KEY, -- dp_…
    created           INTEGER NOT NULL,
    charge_id         TEXT    NOT NULL REFERENCES stripe_charges (id),
    payment_intent_id TEXT    REFERENCES stripe_payment_intents (id),
    amount            INTEGER NOT NULL,
    currency          TEXT    NOT NULL,
    reason            TEXT    NOT NULL,
    status            TEXT    NOT NULL CHECK (status IN ('warning_needs_response', 'warning_under_review', 'warning_closed',
                          'needs_response', 'under_review', 'won', 'lost')),
    due_by            INTEGER NOT NULL, -- evidence_details.due_by
    metadata          TEXT    NOT NULL DEFAULT '{}'
);

CREATE INDEX stripe_disputes_charge ON stripe_disputes (charge_id, created);
CREATE INDEX stripe_disputes_payment_intent ON stripe_disputes (payment_intent_id, created);
CREATE INDEX stripe_disputes_created ON stripe_disputes (created);

-- A PaymentIntent that needs the shopper (requires_action, amount ending
-- 03) says what to do: JSON next_action, or NULL.
ALTER TABLE stripe_payment_intents ADD COLUMN next_action TEXT;

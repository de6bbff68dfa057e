-- Payments a presenter made decline (the all-sandbox demo's "decline the
-- next payments"): every charge of a Stripe payment method or a PPRO
-- agreement is declined as the magic amount whose last two digits are
-- magic says (01: a generic decline, 02: insufficient funds), whatever its
-- amount, until the row is deleted.
CREATE TABLE declines (
    object_id TEXT    PRIMARY KEY, -- pm_… or agr_…
    magic     INTEGER NOT NULL CHECK (magic IN (1, 2))
);

-- Disputes (chargebacks) of our charges, as the provider reports them: one
-- row per provider dispute, updated from the provider's API on each event.
CREATE TABLE disputes (
    id              INTEGER PRIMARY KEY,
    provider        TEXT NOT NULL,
    provider_ref    TEXT NOT NULL,            -- dp_…, PPRO's dispute id
    charge_id       INTEGER NOT NULL REFERENCES charges(id),
    mandate_id      TEXT NOT NULL REFERENCES mandates(id),
    amount          INTEGER NOT NULL CHECK (amount >= 0), -- minor units
    currency        TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('needs_response', 'under_review', 'charged_back', 'won', 'lost', 'closed')),
    provider_status TEXT NOT NULL DEFAULT '',
    reason          TEXT NOT NULL DEFAULT '',
    evidence_due_by TEXT,                     -- NULL when the provider gives no deadline
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    UNIQUE (provider, provider_ref)
);
CREATE INDEX disputes_charge ON disputes (charge_id, id);
CREATE INDEX disputes_mandate ON disputes (mandate_id, id);

-- The merchant's list filtered to disputed mandates reads a page's worth of
-- rows however many mandates there are, and counts them in an index alone,
-- as billing does for past due: one row per mandate that was ever disputed,
-- with copies of the mandate's provider and creation time (which never
-- change), kept by a trigger.
CREATE TABLE disputed_mandates (
    mandate_id         TEXT PRIMARY KEY REFERENCES mandates(id),
    provider           TEXT NOT NULL,
    mandate_created_at TEXT NOT NULL
);
CREATE INDEX disputed_created ON disputed_mandates (mandate_created_at DESC, mandate_id DESC);
CREATE INDEX disputed_provider_created ON disputed_mandates (provider, mandate_created_at DESC, mandate_id DESC);
CREATE TRIGGER disputes_mark_mandate AFTER INSERT ON disputes BEGIN
    INSERT OR IGNORE INTO disputed_mandates (mandate_id, provider, mandate_created_at)
        SELECT id, provider, created_at FROM mandates WHERE id = NEW.mandate_id;
END;

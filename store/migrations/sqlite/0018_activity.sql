-- The activity log reads the rows that exist; what had none gets one here.
-- A move of the demo clock, written in the transaction that moves it:
-- from_at and to_at are the app's clock before and after; the log shows
-- the move at from_at, when it was pressed (a reset's to_at is earlier than
-- what it ends). by_seconds is the move (negative for a reset).
CREATE TABLE clock_moves (
    id         INTEGER PRIMARY KEY,
    from_at    TEXT NOT NULL,
    to_at      TEXT NOT NULL,
    by_seconds INTEGER NOT NULL,
    reset      INTEGER NOT NULL DEFAULT 0 CHECK (reset IN (0, 1))
);
CREATE INDEX clock_moves_at ON clock_moves (from_at, id);

-- The merchant's resend of a failed message (the last one), on the app's clock.
ALTER TABLE outbox ADD COLUMN resent_at TEXT;
CREATE INDEX outbox_resent ON outbox (resent_at, id) WHERE resent_at IS NOT NULL;

-- The shop-wide log walks each source newest first, a page at a time.
CREATE INDEX mandate_events_created ON mandate_events (created_at, id);
CREATE INDEX billing_events_created ON billing_events (created_at, id);
CREATE INDEX charges_created ON charges (created_at, id);
CREATE INDEX refunds_created ON refunds (created_at, id);
CREATE INDEX disputes_created ON disputes (created_at, id);
CREATE INDEX outbox_created ON outbox (created_at, id);
CREATE INDEX price_changes_created ON price_changes (created_at, id);

-- Price changes of a plan, and what each active mandate on it was told.
-- A change names the plan as the mandates store it (plan_name, interval,
-- currency); it applies to the periods due on or after effective_at. The
-- notice is sent in the transaction that schedules the change (created_at,
-- the app's clock), at least 14 days before effective_at.
CREATE TABLE price_changes (
    id           INTEGER PRIMARY KEY,
    plan_name    TEXT NOT NULL,
    interval     TEXT NOT NULL,
    old_amount   INTEGER NOT NULL CHECK (old_amount > 0), -- the plan's price when the change was scheduled
    amount       INTEGER NOT NULL CHECK (amount > 0),
    currency     TEXT NOT NULL,
    effective_at TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX price_changes_plan ON price_changes (plan_name, interval, currency, effective_at);

-- Each mandate's prices: one row per change it was told of, with the
-- notice written to the outbox (message_key). A mandate with no row in
-- effect pays the price it signed for (mandates.amount). ends_agreement:
-- the provider's agreement states the old amount exactly (PPRO), so it
-- ends before first_at, the first period at the new price.
CREATE TABLE mandate_prices (
    mandate_id     TEXT NOT NULL REFERENCES mandates(id),
    change_id      INTEGER NOT NULL REFERENCES price_changes(id),
    old_amount     INTEGER NOT NULL CHECK (old_amount > 0),
    amount         INTEGER NOT NULL CHECK (amount > 0),
    currency       TEXT NOT NULL,
    effective_at   TEXT NOT NULL,
    first_at       TEXT NOT NULL,
    ends_agreement INTEGER NOT NULL DEFAULT 0 CHECK (ends_agreement IN (0, 1)),
    message_key    TEXT NOT NULL UNIQUE,
    notified_at    TEXT NOT NULL,
    PRIMARY KEY (mandate_id, change_id)
);
CREATE INDEX mandate_prices_change ON mandate_prices (change_id);

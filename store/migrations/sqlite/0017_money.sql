-- The dashboard's money view. Payments, refunds and disputes are summed
-- per day (UTC, of the row's created_at on the billing clock), currency
-- and kind by triggers, so a range's totals and its chart read a row per
-- day and kind however many payments there are (summing a month's 40,000
-- payments row by row took 50-130 ms on SQLite). A charge counts as
-- collected while it is succeeded, partially refunded or refunded (what
-- it collected stays collected; its refunds count on their own), as
-- failed when it failed; a refund when it succeeded, in its charge's
-- currency; a dispute when it opened. Rows are only added to: a move out
-- of a kind adds -1 and minus the amount.
CREATE TABLE money_days (
    day      TEXT NOT NULL,                 -- YYYY-MM-DD
    currency TEXT NOT NULL,
    kind     TEXT NOT NULL CHECK (kind IN ('collected', 'failed', 'refunded', 'disputed')),
    n        INTEGER NOT NULL,
    amount   INTEGER NOT NULL,              -- minor units
    PRIMARY KEY (day, currency, kind)
);
INSERT INTO money_days (day, currency, kind, n, amount)
    SELECT substr(created_at, 1, 10), currency, CASE WHEN status = 'failed' THEN 'failed' ELSE 'collected' END, count(*), sum(amount)
    FROM charges WHERE status IN ('succeeded', 'partially_refunded', 'refunded', 'failed')
    GROUP BY substr(created_at, 1, 10), currency, CASE WHEN status = 'failed' THEN 'failed' ELSE 'collected' END;
INSERT INTO money_days (day, currency, kind, n, amount)
    SELECT substr(r.created_at, 1, 10), c.currency, 'refunded', count(*), sum(r.amount)
    FROM refunds r JOIN charges c ON c.id = r.charge_id WHERE r.status = 'succeeded'
    GROUP BY substr(r.created_at, 1, 10), c.currency;
INSERT INTO money_days (day, currency, kind, n, amount)
    SELECT substr(created_at, 1, 10), currency, 'disputed', count(*), sum(amount) FROM disputes
    GROUP BY substr(created_at, 1, 10), currency;

CREATE TRIGGER money_charges_insert AFTER INSERT ON charges WHEN NEW.status IN ('succeeded', 'partially_refunded', 'refunded', 'failed') BEGIN
    INSERT INTO money_days (day, currency, kind, n, amount)
        VALUES (substr(NEW.created_at, 1, 10), NEW.currency, CASE WHEN NEW.status = 'failed' THEN 'failed' ELSE 'collected' END, 1, NEW.amount)
        ON CONFLICT (day, currency, kind) DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
END;
CREATE TRIGGER money_charges_update AFTER UPDATE OF status ON charges
    WHEN (CASE WHEN OLD.status = 'failed' THEN 'failed' WHEN OLD.status IN ('succeeded', 'partially_refunded', 'refunded') THEN 'collected' ELSE '' END)
        != (CASE WHEN NEW.status = 'failed' THEN 'failed' WHEN NEW.status IN ('succeeded', 'partially_refunded', 'refunded') THEN 'collected' ELSE '' END)
BEGIN
    INSERT INTO money_days (day, currency, kind, n, amount)
        SELECT substr(OLD.created_at, 1, 10), OLD.currency, CASE WHEN OLD.status = 'failed' THEN 'failed' ELSE 'collected' END, -1, -OLD.amount
        WHERE OLD.status IN ('succeeded', 'partially_refunded', 'refunded', 'failed')
        ON CONFLICT (day, currency, kind) DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
    INSERT INTO money_days (day, currency, kind, n, amount)
        SELECT substr(NEW.created_at, 1, 10), NEW.currency, CASE WHEN NEW.status = 'failed' THEN 'failed' ELSE 'collected' END, 1, NEW.amount
        WHERE NEW.status IN ('succeeded', 'partially_refunded', 'refunded', 'failed')
        ON CONFLICT (day, currency, kind) DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
END;
CREATE TRIGGER money_refunds_insert AFTER INSERT ON refunds WHEN NEW.status = 'succeeded' BEGIN
    INSERT INTO money_days (day, currency, kind, n, amount)
        SELECT substr(NEW.created_at, 1, 10), currency, 'refunded', 1, NEW.amount FROM charges WHERE id = NEW.charge_id
        ON CONFLICT (day, currency, kind) DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
END;
CREATE TRIGGER money_refunds_update AFTER UPDATE OF status ON refunds WHEN (OLD.status = 'succeeded') != (NEW.status = 'succeeded') BEGIN
    INSERT INTO money_days (day, currency, kind, n, amount)
        SELECT substr(NEW.created_at, 1, 10), currency, 'refunded', CASE WHEN NEW.status = 'succeeded' THEN 1 ELSE -1 END,
            CASE WHEN NEW.status = 'succeeded' THEN NEW.amount ELSE -NEW.amount END FROM charges WHERE id = NEW.charge_id
        ON CONFLICT (day, currency, kind) DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
END;
CREATE TRIGGER money_disputes_insert AFTER INSERT ON disputes BEGIN
    INSERT INTO money_days (day, currency, kind, n, amount) VALUES (substr(NEW.created_at, 1, 10), NEW.currency, 'disputed', 1, NEW.amount)
        ON CONFLICT (day, currency, kind) DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
END;
CREATE TRIGGER money_disputes_update AFTER UPDATE OF amount, currency ON disputes
    WHEN OLD.amount != NEW.amount OR OLD.currency != NEW.currency
BEGIN
    INSERT INTO money_days (day, currency, kind, n, amount) VALUES (substr(OLD.created_at, 1, 10), OLD.currency, 'disputed', -1, -OLD.amount)
        ON CONFLICT (day, currency, kind) DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
    INSERT INTO money_days (day, currency, kind, n, amount) VALUES (substr(NEW.created_at, 1, 10), NEW.currency, 'disputed', 1, NEW.amount)
        ON CONFLICT (day, currency, kind) DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
END;

-- The mandates' comings and goings in a range, read in the range's rows
-- of an index; recurring revenue sums the active mandates' prices in an
-- index alone.
CREATE INDEX mandates_confirmed ON mandates (confirmed_at) WHERE confirmed_at IS NOT NULL;
CREATE INDEX mandates_status_price ON mandates (status, currency, interval, amount);
CREATE INDEX mandate_events_to_status ON mandate_events (to_status, created_at, mandate_id);
CREATE INDEX billing_events_to_state ON billing_events (to_state, created_at);
CREATE INDEX mandate_prices_effective ON mandate_prices (effective_at, mandate_id);

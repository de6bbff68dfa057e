-- Messages to shoppers, written in the same transaction as the event that
-- causes them, delivered by whichever worker claims them. key makes a
-- message unique per event: a retried transaction, a replayed webhook or
-- two workers never make a second one. data is what the message needs
-- to be written (JSON); it is rendered when delivered. Delivery is in
-- real time (a mail server comes back in real time, whatever the demo
-- clock says).
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    key             TEXT NOT NULL UNIQUE,     -- "mandate/<id>/confirmed", "charge/<id>/receipt", …
    kind            TEXT NOT NULL,
    mandate_id      TEXT REFERENCES mandates(id),
    to_email        TEXT NOT NULL,
    data            TEXT NOT NULL DEFAULT '{}',
    status          TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,            -- real time
    leased_until    TEXT,                     -- real time: a deliverer's claim, expiring if it dies
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,            -- the app's clock (the demo clock in a demo)
    sent_at         TEXT                      -- real time
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbox_mandate ON outbox (mandate_id, id);
CREATE INDEX outbox_failed ON outbox (id) WHERE status = 'failed';

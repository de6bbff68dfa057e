-- Webhook deliveries already processed, so a duplicate is dropped.
CREATE TABLE webhook_events (
    provider    TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    type        TEXT NOT NULL,
    mandate_id  TEXT,                         -- NULL when the event was about no mandate of ours
    received_at TEXT NOT NULL,
    PRIMARY KEY (provider, event_id)
);

-- One-time tokens of the dashboard's forms that are about no mandate (the
-- demo clock's "advance" and "reset"): a press sent twice acts once. They
-- are stamped with real time, so moving the clock expires none.
CREATE TABLE admin_form_tokens (
    token      TEXT PRIMARY KEY,
    purpose    TEXT NOT NULL,                 -- "clock"
    created_at TEXT NOT NULL,
    used_at    TEXT
);
CREATE INDEX admin_form_tokens_created ON admin_form_tokens (created_at);

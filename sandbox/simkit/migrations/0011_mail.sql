-- The sandbox's mailbox: every message the storefront sends in the
-- all-sandbox demo, as the shopper would receive it. One row per key, so
-- that a message delivered twice (a retried outbox delivery) is kept once.
-- received_at_ms is the sandbox's clock (the demo clock), in Unix ms.
CREATE TABLE mail (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    key            TEXT    NOT NULL UNIQUE,
    from_header    TEXT    NOT NULL,
    to_header      TEXT    NOT NULL,
    to_address     TEXT    NOT NULL, -- the bare address of to_header, lower case: what the list filters on
    subject        TEXT    NOT NULL,
    text_body      TEXT    NOT NULL,
    html_body      TEXT    NOT NULL, -- '' when the message has no HTML part
    headers        TEXT    NOT NULL, -- the other header fields the sender set, a JSON object of strings
    received_at_ms INTEGER NOT NULL
);

CREATE INDEX mail_by_recipient ON mail (to_address, id);

-- The demo clock of a sandbox that runs as its own process: how far ahead
-- of real time the storefront's instances last said it runs. Kept so that
-- a restarted sandbox keeps the date its payments were made on.
CREATE TABLE clock (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    offset_seconds INTEGER NOT NULL CHECK (offset_seconds >= 0)
);

INSERT INTO clock (id, offset_seconds) VALUES (1, 0);

-- The merchant's login attempts per client, in the database so that the
-- limit holds across every instance on it: an attempt is written before
-- the password is looked at, and a correct password deletes its row, so
-- the rows of the last window are the failed (or running) attempts.
CREATE TABLE login_attempts (
    id     INTEGER PRIMARY KEY,
    client TEXT NOT NULL,                     -- an IPv4 address or an IPv6 /64
    at     TEXT NOT NULL                      -- real time
);
CREATE INDEX login_attempts_client ON login_attempts (client, at);
CREATE INDEX login_attempts_at ON login_attempts (at);

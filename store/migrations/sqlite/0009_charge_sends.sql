-- When a charge's idempotency key was first used at the provider, by two
-- clocks: the app's (the demo clock, which the sandbox keeps its keys by)
-- and real time (what a real provider keeps its keys by; the demo clock
-- may be moved by months). NULL: the charge was never sent, so its key is
-- unknown to the provider. Rows from before this migration may have been
-- sent: their creation stands for both.
ALTER TABLE charges ADD COLUMN first_sent_at TEXT;
ALTER TABLE charges ADD COLUMN first_sent_real_at TEXT;
UPDATE charges SET first_sent_at = created_at, first_sent_real_at = created_at;

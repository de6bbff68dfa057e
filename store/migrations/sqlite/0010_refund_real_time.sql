-- A refund's rows are stamped with the clock the app runs on, which in a
-- demo is the movable demo clock. Whether the provider still remembers a
-- refund's idempotency key (24 hours) depends on real time as well, so the
-- moment the row was written is kept in real time too. Rows from before
-- have none: they are treated as older than any key.
ALTER TABLE refunds ADD COLUMN created_real_at TEXT;

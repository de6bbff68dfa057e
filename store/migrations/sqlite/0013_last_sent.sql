-- When a charge or refund was last sent to the provider, in real time. A
-- request sent a moment ago may still be in flight (the provider has not
-- committed it yet), so the worker's look-up leaves it alone until our
-- clients would have given up on it: otherwise a demo clock moved by a
-- month makes a payment in flight look a month old, the look-up finds
-- nothing yet, and a new attempt would pay twice.
ALTER TABLE charges ADD COLUMN last_sent_real_at TEXT;
ALTER TABLE refunds ADD COLUMN last_sent_real_at TEXT;

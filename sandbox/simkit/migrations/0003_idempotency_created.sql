-- Pruning expired idempotency keys runs on every stored key: without this
-- index it scanned the whole table.
CREATE INDEX idempotency_keys_created ON idempotency_keys (created);

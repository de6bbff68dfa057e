-- See ../sqlite/0019_safe_actions.sql.
ALTER TABLE charges ADD COLUMN reason TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE refunds ADD COLUMN reason TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE refunds ADD COLUMN reason_note TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE billing ADD COLUMN cancel_requested_at TEXT COLLATE "C";

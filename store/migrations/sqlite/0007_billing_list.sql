-- The merchant's list filtered by billing state ("past due") must read only
-- a page's worth of rows however many mandates there are. Ordering by the
-- mandate's creation needs that order in billing's own index, and counting
-- past-due mandates of one provider needs the provider there too: both are
-- copies of the mandate's, which never change after it is created.
ALTER TABLE billing ADD COLUMN provider TEXT NOT NULL DEFAULT '';
ALTER TABLE billing ADD COLUMN mandate_created_at TEXT NOT NULL DEFAULT '';
UPDATE billing SET (provider, mandate_created_at) =
    (SELECT m.provider, m.created_at FROM mandates m WHERE m.id = billing.mandate_id);
DROP INDEX billing_state;
CREATE INDEX billing_state_created ON billing (state, mandate_created_at DESC, mandate_id DESC);
CREATE INDEX billing_state_provider_created ON billing (state, provider, mandate_created_at DESC, mandate_id DESC);

-- The merchant's search box (store/search.go). A provider's id is looked
-- up exactly in each column that keeps one, without knowing which provider
-- made it: the existing indexes on these columns lead with provider, so
-- each gets one of its own. Refunds' and charges' refs are indexed already.
CREATE INDEX mandates_search_ref ON mandates (provider_ref) WHERE provider_ref IS NOT NULL;
CREATE INDEX mandates_search_customer_ref ON mandates (provider_customer_ref) WHERE provider_customer_ref IS NOT NULL;
CREATE INDEX mandates_search_setup_ref ON mandates (setup_intent_ref) WHERE setup_intent_ref IS NOT NULL;
CREATE INDEX mandates_search_method ON mandates (payment_method_id) WHERE payment_method_id IS NOT NULL;
CREATE INDEX mandates_search_mandate_ref ON mandates (provider_mandate_ref) WHERE provider_mandate_ref IS NOT NULL;
CREATE INDEX charge_operations_search_ref ON charge_operations (provider_ref);
CREATE INDEX disputes_search_ref ON disputes (provider_ref);
-- A name is found by its beginning, whatever its case: lower() folds ASCII
-- letters only, on SQLite and (text being COLLATE "C") on PostgreSQL alike,
-- and the app folds the typed prefix the same way. Emails are stored
-- lower-case already, and customers' UNIQUE (email) serves their prefix.
CREATE INDEX customers_name_lower ON customers (lower(name));

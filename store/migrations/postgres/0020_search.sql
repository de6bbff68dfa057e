-- See ../sqlite/0020_search.sql.
CREATE INDEX mandates_search_ref ON mandates (provider_ref) WHERE provider_ref IS NOT NULL;
CREATE INDEX mandates_search_customer_ref ON mandates (provider_customer_ref) WHERE provider_customer_ref IS NOT NULL;
CREATE INDEX mandates_search_setup_ref ON mandates (setup_intent_ref) WHERE setup_intent_ref IS NOT NULL;
CREATE INDEX mandates_search_method ON mandates (payment_method_id) WHERE payment_method_id IS NOT NULL;
CREATE INDEX mandates_search_mandate_ref ON mandates (provider_mandate_ref) WHERE provider_mandate_ref IS NOT NULL;
CREATE INDEX charge_operations_search_ref ON charge_operations (provider_ref);
CREATE INDEX disputes_search_ref ON disputes (provider_ref);
CREATE INDEX customers_name_lower ON customers (lower(name));

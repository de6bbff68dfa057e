-- Who asked us to revoke a mandate, written before the provider is called.
-- The provider reports every revocation made through its API as the
-- merchant's, and its webhook may arrive before the call's own answer: the
-- revocation is then recorded for whoever asked (the shopper who
-- cancelled), not for the merchant whose API key made the call.
ALTER TABLE mandates ADD COLUMN revoke_requested_by TEXT NOT NULL DEFAULT '';

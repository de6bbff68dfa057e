-- Payments on a mandate. For now only the first payment a shopper may make
-- together with the setup (PPRO's initialPaymentCharge).
CREATE TABLE charges (
    id              INTEGER PRIMARY KEY,
    mandate_id      TEXT NOT NULL REFERENCES mandates(id),
    kind            TEXT NOT NULL CHECK (kind IN ('initial')),
    amount          INTEGER NOT NULL CHECK (amount > 0), -- minor units
    currency        TEXT NOT NULL,
    provider_ref    TEXT,                     -- charge_…; set once the provider answered
    status          TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    provider_status TEXT NOT NULL DEFAULT '',
    failure_reason  TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE UNIQUE INDEX charges_initial ON charges (mandate_id) WHERE kind = 'initial';
CREATE UNIQUE INDEX charges_provider_ref ON charges (provider_ref) WHERE provider_ref IS NOT NULL;

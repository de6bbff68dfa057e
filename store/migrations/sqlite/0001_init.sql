-- Shoppers, by email. Their name and country are the latest they typed.
CREATE TABLE customers (
    id         INTEGER PRIMARY KEY,
    email      TEXT NOT NULL UNIQUE,          -- lower-cased
    name       TEXT NOT NULL,
    country    TEXT NOT NULL,                 -- ISO 3166-1 alpha-2
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- The provider's own id for a customer (Stripe cus_…), per provider and
-- mode, so a sandbox id is never sent to the real API.
CREATE TABLE provider_customers (
    customer_id  INTEGER NOT NULL REFERENCES customers(id),
    provider     TEXT NOT NULL,               -- "stripe:sandbox", "stripe:test", …
    provider_ref TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (customer_id, provider)
);

-- A shopper's permission to be charged later, with its consent evidence.
CREATE TABLE mandates (
    id                  TEXT PRIMARY KEY,     -- md_…, also our reference at the provider
    customer_id         INTEGER NOT NULL REFERENCES customers(id),
    provider            TEXT NOT NULL,
    provider_ref        TEXT,                 -- cs_…, agr_…; set once the provider answered
    status              TEXT NOT NULL CHECK (status IN ('pending', 'active', 'failed', 'canceled', 'revoked')),
    payment_method_id   TEXT,                 -- pm_…: what later charges use
    payment_method_type TEXT,                 -- amazon_pay, card
    plan_name           TEXT NOT NULL,
    amount              INTEGER NOT NULL CHECK (amount > 0), -- minor units
    currency            TEXT NOT NULL,
    interval            TEXT NOT NULL,
    -- consent evidence, as given on our page
    terms_version       TEXT NOT NULL,
    terms_sha256        TEXT NOT NULL,
    authorization_text  TEXT NOT NULL,
    accepted_at         TEXT NOT NULL,
    client_ip           TEXT NOT NULL,
    user_agent          TEXT NOT NULL,
    -- outcome
    confirmed_at        TEXT,                 -- when the provider confirmed the consent
    failure_reason      TEXT NOT NULL DEFAULT '', -- why failed or canceled
    last_error          TEXT NOT NULL DEFAULT '', -- latest problem while pending (a decline the shopper may retry, an API outage)
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);
CREATE UNIQUE INDEX mandates_provider_ref ON mandates (provider, provider_ref) WHERE provider_ref IS NOT NULL;
CREATE INDEX mandates_customer ON mandates (customer_id);

-- Every status change, with who reported it and the provider's own words.
CREATE TABLE mandate_events (
    id              INTEGER PRIMARY KEY,
    mandate_id      TEXT NOT NULL REFERENCES mandates(id),
    from_status     TEXT NOT NULL,            -- '' for the creation
    to_status       TEXT NOT NULL,
    source          TEXT NOT NULL,            -- checkout, return_page, cancel_page, webhook, merchant
    provider_status TEXT NOT NULL DEFAULT '',
    detail          TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL
);
CREATE INDEX mandate_events_mandate ON mandate_events (mandate_id, id);

-- See ../sqlite/0017_money.sql.
CREATE TABLE money_days (
    day      TEXT COLLATE "C" NOT NULL,
    currency TEXT COLLATE "C" NOT NULL,
    kind     TEXT COLLATE "C" NOT NULL CHECK (kind IN ('collected', 'failed', 'refunded', 'disputed')),
    n        BIGINT NOT NULL,
    amount   BIGINT NOT NULL,
    PRIMARY KEY (day, currency, kind)
);
INSERT INTO money_days (day, currency, kind, n, amount)
    SELECT substr(created_at, 1, 10), currency, CASE WHEN status = 'failed' THEN 'failed' ELSE 'collected' END, count(*), sum(amount)
    FROM charges WHERE status IN ('succeeded', 'partially_refunded', 'refunded', 'failed')
    GROUP BY substr(created_at, 1, 10), currency, CASE WHEN status = 'failed' THEN 'failed' ELSE 'collected' END;
INSERT INTO money_days (day, currency, kind, n, amount)
    SELECT substr(r.created_at, 1, 10), c.currency, 'refunded', count(*), sum(r.amount)
    FROM refunds r JOIN charges c ON c.id = r.charge_id WHERE r.status = 'succeeded'
    GROUP BY substr(r.created_at, 1, 10), c.currency;
INSERT INTO money_days (day, currency, kind, n, amount)
    SELECT substr(created_at, 1, 10), currency, 'disputed', count(*), sum(amount) FROM disputes
    GROUP BY substr(created_at, 1, 10), currency;

-- money_add adds n rows of amount to a day's kind.
CREATE FUNCTION money_add(d TEXT, cur TEXT, k TEXT, dn BIGINT, amt BIGINT) RETURNS void LANGUAGE sql AS $$
    INSERT INTO money_days (day, currency, kind, n, amount) VALUES (d, cur, k, dn, amt)
        ON CONFLICT (day, currency, kind) DO UPDATE SET n = money_days.n + excluded.n, amount = money_days.amount + excluded.amount
$$;
-- money_charge_kind is the kind a charge in status counts as ('' none).
CREATE FUNCTION money_charge_kind(status TEXT) RETURNS TEXT LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN status = 'failed' THEN 'failed'
        WHEN status IN ('succeeded', 'partially_refunded', 'refunded') THEN 'collected' ELSE '' END
$$;
CREATE FUNCTION money_charges() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND money_charge_kind(OLD.status) <> '' THEN
        PERFORM money_add(substr(OLD.created_at, 1, 10), OLD.currency, money_charge_kind(OLD.status), -1, -OLD.amount);
    END IF;
    IF money_charge_kind(NEW.status) <> '' THEN
        PERFORM money_add(substr(NEW.created_at, 1, 10), NEW.currency, money_charge_kind(NEW.status), 1, NEW.amount);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER money_charges_insert AFTER INSERT ON charges
    FOR EACH ROW WHEN (money_charge_kind(NEW.status) <> '') EXECUTE FUNCTION money_charges();
CREATE TRIGGER money_charges_update AFTER UPDATE OF status ON charges
    FOR EACH ROW WHEN (money_charge_kind(OLD.status) IS DISTINCT FROM money_charge_kind(NEW.status)) EXECUTE FUNCTION money_charges();
CREATE FUNCTION money_refunds() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM money_add(substr(NEW.created_at, 1, 10), c.currency, 'refunded',
        CASE WHEN NEW.status = 'succeeded' THEN 1 ELSE -1 END, CASE WHEN NEW.status = 'succeeded' THEN NEW.amount ELSE -NEW.amount END)
        FROM charges c WHERE c.id = NEW.charge_id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER money_refunds_insert AFTER INSERT ON refunds
    FOR EACH ROW WHEN (NEW.status = 'succeeded') EXECUTE FUNCTION money_refunds();
CREATE TRIGGER money_refunds_update AFTER UPDATE OF status ON refunds
    FOR EACH ROW WHEN ((OLD.status = 'succeeded') <> (NEW.status = 'succeeded')) EXECUTE FUNCTION money_refunds();
CREATE FUNCTION money_disputes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        PERFORM money_add(substr(OLD.created_at, 1, 10), OLD.currency, 'disputed', -1, -OLD.amount);
    END IF;
    PERFORM money_add(substr(NEW.created_at, 1, 10), NEW.currency, 'disputed', 1, NEW.amount);
    RETURN NULL;
END;
$$;
CREATE TRIGGER money_disputes_insert AFTER INSERT ON disputes
    FOR EACH ROW EXECUTE FUNCTION money_disputes();
CREATE TRIGGER money_disputes_update AFTER UPDATE OF amount, currency ON disputes
    FOR EACH ROW WHEN (OLD.amount <> NEW.amount OR OLD.currency <> NEW.currency) EXECUTE FUNCTION money_disputes();

CREATE INDEX mandates_confirmed ON mandates (confirmed_at) WHERE confirmed_at IS NOT NULL;
CREATE INDEX mandates_status_price ON mandates (status, currency, "interval", amount);
CREATE INDEX mandate_events_to_status ON mandate_events (to_status, created_at, mandate_id);
CREATE INDEX billing_events_to_state ON billing_events (to_state, created_at);
CREATE INDEX mandate_prices_effective ON mandate_prices (effective_at, mandate_id);

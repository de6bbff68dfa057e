-- The merchant's actions, recorded with why. charges.reason: why a charge
-- the merchant took is not the plan's price (the terms say each payment
-- is); empty when it is. refunds.reason: why the merchant refunded, one
-- of store.RefundReasons (shopper-safe words, said in the refund's email);
-- refunds.reason_note: the merchant's own words, for the dashboard only.
-- billing.cancel_requested_at: when the merchant asked to cancel at the
-- end of the paid period (NULL: not asked); the worker then revokes the
-- mandate when its next period falls due, instead of charging it.
ALTER TABLE charges ADD COLUMN reason TEXT NOT NULL DEFAULT '';
ALTER TABLE refunds ADD COLUMN reason TEXT NOT NULL DEFAULT '';
ALTER TABLE refunds ADD COLUMN reason_note TEXT NOT NULL DEFAULT '';
ALTER TABLE billing ADD COLUMN cancel_requested_at TEXT;

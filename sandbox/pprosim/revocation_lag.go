package pprosim

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"example.com/storefront/sandbox/simkit"
)

// The RevocationLag setting: after PPRO answered a merchant's revocation
// REVOKED (and sent PAYMENT_AGREEMENT_REVOKED_BY_MERCHANT), GET
// /v1/payment-agreements/{id} still shows the agreement as it was before,
// ACTIVE, until the lag has passed on the sandbox's clock, as a read from
// a replica that has not caught up would. The agreement is revoked all the
// same: a charge on it fails with AGREEMENT_REVOKED.

func setRevocationShown(ctx context.Context, q simkit.Querier, agreementID string, at time.Time) error {
	if _, err := q.ExecContext(ctx, `UPDATE ppro_agreements SET revocation_shown_ms = ? WHERE id = ?`,
		pproMillis(at), agreementID); err != nil {
		return fmt.Errorf("set revocation lag of %s: %w", agreementID, err)
	}
	return nil
}

// loadRevocationShown returns when agreementID's merchant revocation shows
// on reads; zero when at once.
func loadRevocationShown(ctx context.Context, q simkit.Querier, agreementID string) (time.Time, error) {
	var ms sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT revocation_shown_ms FROM ppro_agreements WHERE id = ?`, agreementID).Scan(&ms); err != nil {
		return time.Time{}, fmt.Errorf("load revocation lag of %s: %w", agreementID, err)
	}
	if !ms.Valid {
		return time.Time{}, nil
	}
	return fromMillis(ms.Int64), nil
}

// beforeRevocation is a as a read shows it at now when its merchant
// revocation shows only from shown on: until then ACTIVE, without the
// revocation's entries in history and revocations.
func (a *pproAgreement) beforeRevocation(shown, now time.Time) *pproAgreement {
	if shown.IsZero() || !now.Before(shown) || a.Status != agreementRevokedByMerchant {
		return a
	}
	v := *a
	v.Status = agreementActive
	v.History = []pproHistoryEntry{}
	for _, h := range a.History {
		if h.Status != agreementRevokedByMerchant {
			v.History = append(v.History, h)
		}
	}
	v.Revocations = nil
	for _, r := range a.Revocations {
		if r.RevocationStatus != agreementRevokedByMerchant {
			v.Revocations = append(v.Revocations, r)
		}
	}
	return &v
}

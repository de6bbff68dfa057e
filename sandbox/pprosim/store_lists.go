package pprosim

import (
	"context"
	"fmt"
	"strings"

	"example.com/storefront/sandbox/simkit"
)

// The look-ups that return several objects: the charge search and the
// index page's list of agreements. Both return ids; the caller loads each
// object through the flows, which expire and capture lazily.

// pproChargeFilter is what GET /v1/payment-charges filters by. A nil field
// is no filter; a given one matches exactly (an empty reference matches no
// charge, since a charge without one stores none).
type pproChargeFilter struct {
	merchantID  string
	reference   *string // merchantPaymentChargeReference
	agreementID *string
	beforeRowID int64 // the page cursor: only charges older than this row; 0 for the first page
}

// pproChargeRow is a charge id and the row id that orders the search.
type pproChargeRow struct {
	id    string
	rowID int64
}

// searchPPROCharges returns up to limit of the merchant's charges that
// match f, newest first.
func searchPPROCharges(ctx context.Context, q simkit.Querier, f pproChargeFilter, limit int) ([]pproChargeRow, error) {
	where := []string{"merchant_id = ?"}
	args := []any{f.merchantID}
	if f.reference != nil {
		where, args = append(where, "merchant_reference = ?"), append(args, *f.reference)
	}
	if f.agreementID != nil {
		where, args = append(where, "agreement_id = ?"), append(args, *f.agreementID)
	}
	if f.beforeRowID > 0 {
		where, args = append(where, "rowid < ?"), append(args, f.beforeRowID)
	}
	rows, err := q.QueryContext(ctx, `SELECT id, rowid FROM ppro_charges WHERE `+strings.Join(where, " AND ")+
		` ORDER BY rowid DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("search charges: %w", err)
	}
	defer rows.Close()
	var out []pproChargeRow
	for rows.Next() {
		var r pproChargeRow
		if err := rows.Scan(&r.id, &r.rowID); err != nil {
			return nil, fmt.Errorf("search charges: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// listPPROAgreementIDs returns the ids of the merchant's newest agreements,
// newest first.
func listPPROAgreementIDs(ctx context.Context, q simkit.Querier, merchantID string, limit int) ([]string, error) {
	rows, err := q.QueryContext(ctx, `
		SELECT id FROM ppro_agreements WHERE merchant_id = ? ORDER BY created_ms DESC, rowid DESC LIMIT ?`,
		merchantID, limit)
	if err != nil {
		return nil, fmt.Errorf("list agreements: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("list agreements: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

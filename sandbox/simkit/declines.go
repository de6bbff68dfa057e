package simkit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Declines the presenter asked for (see migration 0012): the magic case
// every charge of a payment method or agreement gets, whatever its amount.
const (
	DeclineGeneric           int64 = 1 // as the amounts ending in 01
	DeclineInsufficientFunds int64 = 2 // as the amounts ending in 02
)

// DeclineFor is the magic case set for object id, or 0 when its charges
// go by their amount.
func DeclineFor(ctx context.Context, tx *WriteTx, id string) (int64, error) {
	var magic int64
	err := tx.QueryRowContext(ctx, `SELECT magic FROM declines WHERE object_id = ?`, id).Scan(&magic)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("decline of %s: %w", id, err)
	}
	return magic, nil
}

// SetDecline makes every charge of object id decline as magic says, or,
// with magic 0, go by its amount again.
func SetDecline(ctx context.Context, tx *WriteTx, id string, magic int64) error {
	var err error
	switch magic {
	case 0:
		_, err = tx.ExecContext(ctx, `DELETE FROM declines WHERE object_id = ?`, id)
	case DeclineGeneric, DeclineInsufficientFunds:
		_, err = tx.ExecContext(ctx, `INSERT INTO declines (object_id, magic) VALUES (?, ?)
			ON CONFLICT (object_id) DO UPDATE SET magic = excluded.magic`, id, magic)
	default:
		return fmt.Errorf("set decline of %s: no magic case %d", id, magic)
	}
	if err != nil {
		return fmt.Errorf("set decline of %s: %w", id, err)
	}
	return nil
}

package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// UseFormToken spends a merchant's form token about a mandate on its own,
// for an action that writes nothing else first (a revocation): ErrBadToken
// if it was never issued for this purpose and mandate (or has expired),
// ErrTokenUsed if it was spent already.
func (s *Store) UseFormToken(ctx context.Context, token, purpose, mandateID string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE form_tokens SET used_at = ? WHERE token = ? AND purpose = ? AND mandate_id = ? AND used_at IS NULL`,
		s.now().UTC().Format(timeLayout), token, purpose, mandateID)
	if err != nil {
		return fmt.Errorf("form token: %w", err)
	}
	return spent(ctx, s.db, res, `SELECT count(*) FROM form_tokens WHERE token = ? AND purpose = ? AND mandate_id = ?`, token, purpose, mandateID)
}

// IssueAdminToken makes a one-time token for a dashboard form about no
// mandate (purpose "clock"). It is stamped with real time: moving the demo
// clock must not expire the clock's own forms.
func (s *Store) IssueAdminToken(ctx context.Context, purpose string) (string, error) {
	tok := randomToken()
	now := time.Now().UTC()
	if _, err := s.db.ExecContext(ctx, `INSERT INTO admin_form_tokens (token, purpose, created_at) VALUES (?, ?, ?)`,
		tok, purpose, now.Format(timeLayout)); err != nil {
		return "", fmt.Errorf("issue admin form token: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM admin_form_tokens WHERE created_at < ?`,
		now.Add(-formTokenTTL).Format(timeLayout)); err != nil {
		return "", fmt.Errorf("prune admin form tokens: %w", err)
	}
	return tok, nil
}

// UseAdminToken spends a token made by IssueAdminToken: ErrBadToken if it
// was never issued for purpose (or has expired), ErrTokenUsed if it was
// spent already.
func (s *Store) UseAdminToken(ctx context.Context, token, purpose string) error {
	now := time.Now().UTC()
	res, err := s.db.ExecContext(ctx, `UPDATE admin_form_tokens SET used_at = ? WHERE token = ? AND purpose = ? AND used_at IS NULL AND created_at >= ?`,
		now.Format(timeLayout), token, purpose, now.Add(-formTokenTTL).Format(timeLayout))
	if err != nil {
		return fmt.Errorf("admin form token: %w", err)
	}
	return spent(ctx, s.db, res, `SELECT count(*) FROM admin_form_tokens WHERE token = ? AND purpose = ? AND created_at >= ?`,
		token, purpose, now.Add(-formTokenTTL).Format(timeLayout))
}

// spent reads the outcome of spending a token with one UPDATE (atomic, so
// of two presses at once one wins): nil if it was spent now, else whether
// it exists (was spent before) or not.
func spent(ctx context.Context, db querier, res sql.Result, exists string, args ...any) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("form token: %w", err)
	}
	if n == 1 {
		return nil
	}
	var found int
	if err := db.QueryRowContext(ctx, exists, args...).Scan(&found); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("form token: %w", err)
	}
	if found == 0 {
		return ErrBadToken
	}
	return ErrTokenUsed
}

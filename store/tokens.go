package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// formTokenTTL bounds how long a merchant's form stays usable.
const formTokenTTL = 12 * time.Hour

func randomToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// IssueFormToken makes a one-time token for a merchant's form about a
// mandate (purpose "charge", or "refund:<charge id>").
func (s *Store) IssueFormToken(ctx context.Context, mandateID, purpose string) (string, error) {
	tok := randomToken()
	now := s.now().UTC()
	_, err := s.db.ExecContext(ctx, `INSERT INTO form_tokens (token, purpose, mandate_id, created_at) VALUES (?, ?, ?, ?)`,
		tok, purpose, mandateID, now.Format(timeLayout))
	if err != nil {
		return "", fmt.Errorf("issue form token: %w", err)
	}
	// Forget old tokens on the way; a form older than the TTL is refused.
	if _, err := s.db.ExecContext(ctx, `DELETE FROM form_tokens WHERE created_at < ?`,
		now.Add(-formTokenTTL).Format(timeLayout)); err != nil {
		return "", fmt.Errorf("prune form tokens: %w", err)
	}
	return tok, nil
}

// useToken spends a form token inside tx: ErrBadToken if it was never
// issued for this purpose and mandate (or has expired), ErrTokenUsed if it
// was spent already.
func useToken(ctx context.Context, tx *sql.Tx, token, purpose, mandateID, ts string) (bool, error) {
	// One conditional update spends it: of two transactions at once, on
	// any database, the second finds it used (on PostgreSQL it waits for
	// the first and reads its result).
	res, err := tx.ExecContext(ctx, `UPDATE form_tokens SET used_at = ? WHERE token = ? AND purpose = ? AND mandate_id = ? AND used_at IS NULL`,
		ts, token, purpose, mandateID)
	if err != nil {
		return false, fmt.Errorf("form token: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return true, nil
	}
	var used sql.NullString
	err = tx.QueryRowContext(ctx, `SELECT used_at FROM form_tokens WHERE token = ? AND purpose = ? AND mandate_id = ?`,
		token, purpose, mandateID).Scan(&used)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, ErrBadToken
	case err != nil:
		return false, fmt.Errorf("form token: %w", err)
	}
	return false, ErrTokenUsed
}

// ErrNoSession says an admin session token is unknown or expired.
var ErrNoSession = errors.New("no such admin session")

func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// CreateAdminSession starts a merchant's session lasting ttl and returns
// its token (only its SHA-256 is stored). Sessions are stamped with real
// time, not the demo clock: moving the clock must not log anyone out.
func (s *Store) CreateAdminSession(ctx context.Context, ttl time.Duration) (string, error) {
	tok := randomToken() + randomToken()
	now := time.Now().UTC()
	if _, err := s.db.ExecContext(ctx, `DELETE FROM admin_sessions WHERE expires_at < ?`, now.Format(timeLayout)); err != nil {
		return "", fmt.Errorf("prune admin sessions: %w", err)
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO admin_sessions (token_sha256, created_at, expires_at) VALUES (?, ?, ?)`,
		tokenHash(tok), now.Format(timeLayout), now.Add(ttl).Format(timeLayout))
	if err != nil {
		return "", fmt.Errorf("create admin session: %w", err)
	}
	return tok, nil
}

// AdminSession checks a session token: nil if it is live.
func (s *Store) AdminSession(ctx context.Context, token string) error {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM admin_sessions WHERE token_sha256 = ? AND expires_at > ?`,
		tokenHash(token), time.Now().UTC().Format(timeLayout)).Scan(&n)
	if err != nil {
		return fmt.Errorf("admin session: %w", err)
	}
	if n == 0 {
		return ErrNoSession
	}
	return nil
}

// EndAdminSession logs a session out for good.
func (s *Store) EndAdminSession(ctx context.Context, token string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM admin_sessions WHERE token_sha256 = ?`, tokenHash(token)); err != nil {
		return fmt.Errorf("end admin session: %w", err)
	}
	return nil
}

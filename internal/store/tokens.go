package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// RefreshToken is a stored refresh token. Only its hash is kept. Tokens of
// one login share a FamilyID; each refresh rotates to a new member.
type RefreshToken struct {
	ID         string
	UserID     string
	FamilyID   string
	TokenHash  string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	RotatedAt  *time.Time
	ReplacedBy string
	RevokedAt  *time.Time
	IP         string
	UserAgent  string
}

const refreshCols = `id, user_id, family_id, token_hash, created_at, expires_at, rotated_at,
	replaced_by, revoked_at, ip, user_agent`

func scanRefresh(row scanner) (RefreshToken, error) {
	var t RefreshToken
	var replaced sql.NullString
	err := row.Scan(&t.ID, &t.UserID, &t.FamilyID, &t.TokenHash, timeCol{&t.CreatedAt}, timeCol{&t.ExpiresAt},
		nullTimeCol{&t.RotatedAt}, &replaced, nullTimeCol{&t.RevokedAt}, &t.IP, &t.UserAgent)
	t.ReplacedBy = replaced.String
	return t, err
}

func (s *Store) insertRefresh(ctx context.Context, ex execer, t *RefreshToken) error {
	if t.UserID == "" || t.FamilyID == "" || t.TokenHash == "" || t.ExpiresAt.IsZero() {
		return fmt.Errorf("%w: refresh token needs user, family, hash and expiry", ErrInvalid)
	}
	if t.ID == "" {
		id, err := newID()
		if err != nil {
			return err
		}
		t.ID = id
	}
	t.CreatedAt = s.nowUTC()
	t.RotatedAt, t.RevokedAt, t.ReplacedBy = nil, nil, ""
	t.ExpiresAt = t.ExpiresAt.UTC().Truncate(time.Microsecond)
	_, err := ex.ExecContext(ctx, `INSERT INTO refresh_tokens (`+refreshCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL, NULL, $7, $8)`,
		t.ID, t.UserID, t.FamilyID, t.TokenHash, s.ts(t.CreatedAt), s.ts(t.ExpiresAt), t.IP, t.UserAgent)
	return err
}

// execer is what *sql.DB and *sql.Tx share.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// CreateRefreshToken stores a new refresh token (ID generated when empty).
func (s *Store) CreateRefreshToken(ctx context.Context, t RefreshToken) (RefreshToken, error) {
	if err := s.insertRefresh(ctx, s.db, &t); err != nil {
		return RefreshToken{}, s.mapErr(err, "create refresh token")
	}
	return t, nil
}

// GetRefreshTokenByHash finds a refresh token by its hash, whatever its state.
func (s *Store) GetRefreshTokenByHash(ctx context.Context, hash string) (RefreshToken, error) {
	t, err := scanRefresh(s.db.QueryRowContext(ctx, `SELECT `+refreshCols+` FROM refresh_tokens WHERE token_hash = $1`, hash))
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return RefreshToken{}, fmt.Errorf("refresh token: %w", ErrNotFound)
		}
		return RefreshToken{}, s.mapErr(err, "get refresh token")
	}
	return t, nil
}

// RotateRefreshToken atomically marks oldID rotated (replaced by next) and
// inserts next in the same family. It returns ErrConflict when oldID was
// already rotated or revoked, so of two concurrent refreshes exactly one wins.
func (s *Store) RotateRefreshToken(ctx context.Context, oldID string, next RefreshToken) (RefreshToken, error) {
	if next.ID == "" {
		id, err := newID()
		if err != nil {
			return RefreshToken{}, err
		}
		next.ID = id
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var family string
		if err := tx.QueryRowContext(ctx, `SELECT family_id FROM refresh_tokens WHERE id = $1`, oldID).Scan(&family); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return notFound("refresh token", oldID)
			}
			return s.mapErr(err, "rotate refresh token")
		}
		next.FamilyID = family
		res, err := tx.ExecContext(ctx, `UPDATE refresh_tokens SET rotated_at = $1, replaced_by = $2
			WHERE id = $3 AND rotated_at IS NULL AND revoked_at IS NULL`, s.ts(s.nowUTC()), next.ID, oldID)
		if err != nil {
			return s.mapErr(err, "rotate refresh token")
		}
		if n, err := res.RowsAffected(); err != nil {
			return s.mapErr(err, "rotate refresh token")
		} else if n == 0 {
			return fmt.Errorf("rotate refresh token: already rotated or revoked: %w", ErrConflict)
		}
		if err := s.insertRefresh(ctx, tx, &next); err != nil {
			return s.mapErr(err, "rotate refresh token")
		}
		return nil
	})
	if err != nil {
		return RefreshToken{}, err
	}
	return next, nil
}

// RevokeRefreshFamily revokes every live token of a family and returns how
// many were revoked.
func (s *Store) RevokeRefreshFamily(ctx context.Context, familyID string) (int, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE refresh_tokens SET revoked_at = $1
		WHERE family_id = $2 AND revoked_at IS NULL`, s.ts(s.nowUTC()), familyID)
	return rowsAffected(s, res, err, "revoke refresh family")
}

// GetSessionUser returns a user and whether a refresh-token family (a login
// session) still has a token that was not revoked, in one query: what
// checking an access token needs on every request (access tokens of a
// session are valid only while it is live). ErrNotFound when there is no
// such user.
func (s *Store) GetSessionUser(ctx context.Context, userID, familyID string) (User, bool, error) {
	var live bool
	u, err := getOne(ctx, s, "get session user", "user", userID, func(row scanner) (User, error) {
		return scanUserWith(row, &live)
	}, `SELECT `+userCols+`, EXISTS (SELECT 1 FROM refresh_tokens WHERE family_id = $2 AND revoked_at IS NULL)
		FROM users WHERE id = $1`, userID, familyID)
	if err != nil {
		return User{}, false, err
	}
	return u, live, nil
}

// RevokeUserRefreshTokens revokes every live refresh token of a user (on
// password change, deactivation or role change).
func (s *Store) RevokeUserRefreshTokens(ctx context.Context, userID string) (int, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE refresh_tokens SET revoked_at = $1
		WHERE user_id = $2 AND revoked_at IS NULL`, s.ts(s.nowUTC()), userID)
	return rowsAffected(s, res, err, "revoke user refresh tokens")
}

// DeleteExpiredRefreshTokens removes tokens that expired before cutoff.
func (s *Store) DeleteExpiredRefreshTokens(ctx context.Context, cutoff time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM refresh_tokens WHERE expires_at < $1`, s.ts(cutoff))
	return rowsAffected(s, res, err, "delete expired refresh tokens")
}

func rowsAffected(s *Store, res sql.Result, err error, op string) (int, error) {
	if err != nil {
		return 0, s.mapErr(err, op)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, s.mapErr(err, op)
	}
	return int(n), nil
}

// APIToken is a long-lived token for automation. Only its hash is stored;
// Prefix is the non-secret beginning shown in lists.
type APIToken struct {
	ID         string
	UserID     string
	Name       string
	Prefix     string
	TokenHash  string
	CreatedAt  time.Time
	ExpiresAt  *time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

const apiTokenCols = `id, user_id, name, prefix, token_hash, created_at, expires_at, last_used_at, revoked_at`

func scanAPIToken(row scanner) (APIToken, error) {
	var t APIToken
	err := row.Scan(&t.ID, &t.UserID, &t.Name, &t.Prefix, &t.TokenHash, timeCol{&t.CreatedAt},
		nullTimeCol{&t.ExpiresAt}, nullTimeCol{&t.LastUsedAt}, nullTimeCol{&t.RevokedAt})
	return t, err
}

// CreateAPIToken stores a token. The name is unique per user among
// unrevoked tokens (*ConflictError with Field "name").
func (s *Store) CreateAPIToken(ctx context.Context, t APIToken) (APIToken, error) {
	t.Name = strings.TrimSpace(t.Name)
	if t.UserID == "" || t.Name == "" || t.TokenHash == "" || t.Prefix == "" {
		return APIToken{}, fmt.Errorf("create api token: %w: user, name, prefix and hash are required", ErrInvalid)
	}
	if t.ID == "" {
		id, err := newID()
		if err != nil {
			return APIToken{}, err
		}
		t.ID = id
	}
	t.CreatedAt = s.nowUTC()
	t.LastUsedAt, t.RevokedAt = nil, nil
	return valueOr(t, s.insert(ctx, s.db, "create api token", "api_tokens", apiTokenCols,
		t.ID, t.UserID, t.Name, t.Prefix, t.TokenHash, s.ts(t.CreatedAt), s.tsPtr(t.ExpiresAt), nil, nil))
}

// GetAPITokenByHash finds a token by hash, whatever its state.
func (s *Store) GetAPITokenByHash(ctx context.Context, hash string) (APIToken, error) {
	t, err := scanAPIToken(s.db.QueryRowContext(ctx, `SELECT `+apiTokenCols+` FROM api_tokens WHERE token_hash = $1`, hash))
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return APIToken{}, fmt.Errorf("api token: %w", ErrNotFound)
		}
		return APIToken{}, s.mapErr(err, "get api token")
	}
	return t, nil
}

// ListAPITokens returns a user's tokens, newest first, revoked ones included.
func (s *Store) ListAPITokens(ctx context.Context, userID string) ([]APIToken, error) {
	return queryAll(ctx, s, "list api tokens", `SELECT `+apiTokenCols+` FROM api_tokens
		WHERE user_id = $1 ORDER BY created_at DESC, id DESC`, []any{userID}, scanAPIToken)
}

// RevokeAPIToken revokes a user's token. Revoking an already revoked token
// is not an error; an unknown id (or another user's) is ErrNotFound.
func (s *Store) RevokeAPIToken(ctx context.Context, userID, id string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $1)
		WHERE id = $2 AND user_id = $3`, s.ts(s.nowUTC()), id, userID)
	return affectedOne(s, res, err, "revoke api token", "api token", id)
}

// TouchAPIToken records that the token was used at at.
func (s *Store) TouchAPIToken(ctx context.Context, id string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = $1 WHERE id = $2`, s.ts(at), id)
	return affectedOne(s, res, err, "touch api token", "api token", id)
}

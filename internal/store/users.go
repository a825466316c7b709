package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// User is an account. Role is one of the auth package's role names; the
// store does not interpret it.
type User struct {
	ID                 string
	Username           string
	Email              string
	FullName           string
	PasswordHash       string
	Role               string
	Active             bool
	MustChangePassword bool
	CreatedAt          time.Time
	UpdatedAt          time.Time
	PasswordChangedAt  time.Time
	LastLoginAt        *time.Time
}

const userCols = `id, username, email, full_name, password_hash, role, active, must_change_password,
	created_at, updated_at, password_changed_at, last_login_at`

func scanUser(row scanner) (User, error) { return scanUserWith(row) }

// scanUserWith scans userCols followed by the extra columns into extra.
func scanUserWith(row scanner, extra ...any) (User, error) {
	var u User
	err := row.Scan(append([]any{&u.ID, &u.Username, &u.Email, &u.FullName, &u.PasswordHash, &u.Role, &u.Active,
		&u.MustChangePassword, timeCol{&u.CreatedAt}, timeCol{&u.UpdatedAt}, timeCol{&u.PasswordChangedAt},
		nullTimeCol{&u.LastLoginAt}}, extra...)...)
	return u, err
}

// CreateUser inserts u. ID and timestamps are set by the store; Username,
// Email, PasswordHash and Role are required. A taken username or email
// (case-insensitive) is a *ConflictError.
func (s *Store) CreateUser(ctx context.Context, u User) (User, error) {
	u.Username = strings.TrimSpace(u.Username)
	u.Email = strings.TrimSpace(u.Email)
	switch {
	case u.Username == "":
		return User{}, fmt.Errorf("create user: %w: username is required", ErrInvalid)
	case u.Email == "":
		return User{}, fmt.Errorf("create user: %w: email is required", ErrInvalid)
	case u.PasswordHash == "":
		return User{}, fmt.Errorf("create user: %w: password hash is required", ErrInvalid)
	case u.Role == "":
		return User{}, fmt.Errorf("create user: %w: role is required", ErrInvalid)
	}
	id, err := newID()
	if err != nil {
		return User{}, err
	}
	now := s.nowUTC()
	u.ID, u.CreatedAt, u.UpdatedAt, u.PasswordChangedAt, u.LastLoginAt = id, now, now, now, nil
	return valueOr(u, s.insert(ctx, s.db, "create user", "users", userCols,
		u.ID, u.Username, u.Email, u.FullName, u.PasswordHash, u.Role, u.Active, u.MustChangePassword,
		s.ts(now), s.ts(now), s.ts(now), nil))
}

// GetUser returns the user with id.
func (s *Store) GetUser(ctx context.Context, id string) (User, error) {
	return getOne(ctx, s, "get user", "user", id, scanUser, `SELECT `+userCols+` FROM users WHERE id = $1`, id)
}

// GetUserByLogin finds a user by username or email, case-insensitively.
func (s *Store) GetUserByLogin(ctx context.Context, login string) (User, error) {
	login = strings.TrimSpace(login)
	return getOne(ctx, s, "get user by login", "user", login, scanUser, `SELECT `+userCols+` FROM users
		WHERE LOWER(username) = LOWER($1) OR LOWER(email) = LOWER($1)
		ORDER BY CASE WHEN LOWER(username) = LOWER($1) THEN 0 ELSE 1 END LIMIT 1`, login)
}

// UserFilter selects users for ListUsers. Empty fields do not filter.
type UserFilter struct {
	Search string // substring of username, email or full name (case-insensitive)
	Role   string
	Active *bool
	Page   Page
}

// ListUsers returns one page of users ordered by username, and the number of
// users matching the filter.
func (s *Store) ListUsers(ctx context.Context, f UserFilter) ([]User, int, error) {
	var w where
	if f.Search != "" {
		p := likePattern(f.Search)
		w.add(`(LOWER(username) LIKE ? ESCAPE '\' OR LOWER(email) LIKE ? ESCAPE '\' OR LOWER(full_name) LIKE ? ESCAPE '\')`, p, p, p)
	}
	w.eq(`role`, f.Role)
	if f.Active != nil {
		w.add(`active = ?`, *f.Active)
	}
	return listQuery(ctx, s, "list users", "users", userCols, w, "LOWER(username), id", f.Page, scanUser)
}

// CountUsers counts users with role ("" counts all), active ones only when
// activeOnly is set.
func (s *Store) CountUsers(ctx context.Context, role string, activeOnly bool) (int, error) {
	var w where
	if role != "" {
		w.add(`role = ?`, role)
	}
	if activeOnly {
		w.add(`active = ?`, true)
	}
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`+w.sql(), w.args...).Scan(&n); err != nil {
		return 0, s.mapErr(err, "count users")
	}
	return n, nil
}

// UserUpdate lists the fields to change; nil fields stay as they are.
type UserUpdate struct {
	Email              *string
	FullName           *string
	Role               *string
	Active             *bool
	MustChangePassword *bool
}

// UpdateUser applies upd and returns the updated user.
func (s *Store) UpdateUser(ctx context.Context, id string, upd UserUpdate) (User, error) {
	sets := []string{"updated_at = $1"}
	args := []any{s.ts(s.nowUTC())}
	set := func(col string, v any) {
		args = append(args, v)
		sets = append(sets, fmt.Sprintf("%s = $%d", col, len(args)))
	}
	if upd.Email != nil {
		e := strings.TrimSpace(*upd.Email)
		if e == "" {
			return User{}, fmt.Errorf("update user: %w: email must not be empty", ErrInvalid)
		}
		set("email", e)
	}
	if upd.FullName != nil {
		set("full_name", *upd.FullName)
	}
	if upd.Role != nil {
		if *upd.Role == "" {
			return User{}, fmt.Errorf("update user: %w: role must not be empty", ErrInvalid)
		}
		set("role", *upd.Role)
	}
	if upd.Active != nil {
		set("active", *upd.Active)
	}
	if upd.MustChangePassword != nil {
		set("must_change_password", *upd.MustChangePassword)
	}
	args = append(args, id)
	res, err := s.db.ExecContext(ctx, fmt.Sprintf(`UPDATE users SET %s WHERE id = $%d`, strings.Join(sets, ", "), len(args)), args...)
	if err := affectedOne(s, res, err, "update user", "user", id); err != nil {
		return User{}, err
	}
	return s.GetUser(ctx, id)
}

// SetPasswordHash replaces the user's password hash, sets
// MustChangePassword to mustChange (a temporary password) and records the
// change time, in one statement.
func (s *Store) SetPasswordHash(ctx context.Context, id, hash string, mustChange bool) error {
	if hash == "" {
		return fmt.Errorf("set password: %w: hash is required", ErrInvalid)
	}
	now := s.ts(s.nowUTC())
	res, err := s.db.ExecContext(ctx, `UPDATE users SET password_hash = $1, must_change_password = $2,
		password_changed_at = $3, updated_at = $3 WHERE id = $4`, hash, mustChange, now, id)
	return affectedOne(s, res, err, "set password", "user", id)
}

// RecordLogin sets the user's last login time.
func (s *Store) RecordLogin(ctx context.Context, id string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE users SET last_login_at = $1 WHERE id = $2`, s.ts(at), id)
	return affectedOne(s, res, err, "record login", "user", id)
}

// DeleteUser removes the user with their tokens, preferences and dashboards.
// Audit entries keep the actor's id and name.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM users WHERE id = $1`, id)
	return affectedOne(s, res, err, "delete user", "user", id)
}

// affectedOne checks that an exec succeeded and touched a row.
func affectedOne(s *Store, res sql.Result, err error, op, entity, id string) error {
	if err != nil {
		return s.mapErr(err, op)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return s.mapErr(err, op)
	}
	if n == 0 {
		return notFound(entity, id)
	}
	return nil
}

// listQuery runs a paginated SELECT with a COUNT(*) over the same filter.
func listQuery[T any](ctx context.Context, s *Store, op, table, cols string, w where, order string, page Page, scan func(scanner) (T, error)) ([]T, int, error) {
	var total int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table+w.sql(), w.args...).Scan(&total); err != nil {
		return nil, 0, s.mapErr(err, op)
	}
	limit, offset := page.norm()
	q := fmt.Sprintf(`SELECT %s FROM %s%s ORDER BY %s LIMIT $%d OFFSET $%d`, cols, table, w.sql(), order, w.next(), w.next()+1)
	args := append(append([]any(nil), w.args...), limit, offset)
	items, err := queryAll(ctx, s, op, q, args, scan)
	if err != nil {
		return nil, 0, err
	}
	return items, total, nil
}

// queryAll runs q and scans every row.
func queryAll[T any](ctx context.Context, s *Store, op, q string, args []any, scan func(scanner) (T, error)) ([]T, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.mapErr(err, op)
	}
	defer rows.Close()
	items := []T{}
	for rows.Next() {
		it, err := scan(rows)
		if err != nil {
			return nil, s.mapErr(err, op)
		}
		items = append(items, it)
	}
	if err := rows.Err(); err != nil {
		return nil, s.mapErr(err, op)
	}
	return items, nil
}

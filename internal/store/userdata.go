package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Preferences are a user's UI settings.
type Preferences struct {
	UserID    string
	Theme     string // light | dark | system
	Language  string // BCP 47 tag, e.g. "en"
	Timezone  string // IANA zone, e.g. "UTC"
	UpdatedAt time.Time
}

// DefaultPreferences are returned for a user who never saved any.
func DefaultPreferences(userID string) Preferences {
	return Preferences{UserID: userID, Theme: "system", Language: "en", Timezone: "UTC"}
}

// GetPreferences returns the user's preferences, or DefaultPreferences when
// none were saved.
func (s *Store) GetPreferences(ctx context.Context, userID string) (Preferences, error) {
	var p Preferences
	err := s.db.QueryRowContext(ctx, `SELECT user_id, theme, language, timezone, updated_at FROM user_preferences
		WHERE user_id = $1`, userID).Scan(&p.UserID, &p.Theme, &p.Language, &p.Timezone, timeCol{&p.UpdatedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return DefaultPreferences(userID), nil
	}
	if err != nil {
		return Preferences{}, s.mapErr(err, "get preferences")
	}
	return p, nil
}

// PutPreferences saves the user's preferences (insert or replace). An
// unknown user is ErrNotFound. Values are validated by the caller.
func (s *Store) PutPreferences(ctx context.Context, p Preferences) (Preferences, error) {
	if p.UserID == "" || p.Theme == "" || p.Language == "" || p.Timezone == "" {
		return Preferences{}, fmt.Errorf("put preferences: %w: user, theme, language and timezone are required", ErrInvalid)
	}
	p.UpdatedAt = s.nowUTC()
	_, err := s.db.ExecContext(ctx, `INSERT INTO user_preferences (user_id, theme, language, timezone, updated_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (user_id) DO UPDATE SET theme = excluded.theme, language = excluded.language,
			timezone = excluded.timezone, updated_at = excluded.updated_at`,
		p.UserID, p.Theme, p.Language, p.Timezone, s.ts(p.UpdatedAt))
	if err != nil {
		return Preferences{}, s.mapErr(err, "put preferences")
	}
	return p, nil
}

// DashboardLayout is a user's saved dashboard. Among a user's layouts exactly
// one is the default whenever at least one exists.
type DashboardLayout struct {
	ID        string
	UserID    string
	Name      string
	Layout    json.RawMessage
	IsDefault bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

const layoutCols = `id, user_id, name, layout, is_default, created_at, updated_at`

func scanLayout(row scanner) (DashboardLayout, error) {
	var d DashboardLayout
	err := row.Scan(&d.ID, &d.UserID, &d.Name, jsonCol{&d.Layout}, &d.IsDefault, timeCol{&d.CreatedAt}, timeCol{&d.UpdatedAt})
	return d, err
}

// CreateDashboardLayout inserts a layout for d.UserID. The user's first
// layout becomes the default; IsDefault on a later one moves the default.
func (s *Store) CreateDashboardLayout(ctx context.Context, d DashboardLayout) (DashboardLayout, error) {
	d.Name = strings.TrimSpace(d.Name)
	if d.UserID == "" || d.Name == "" {
		return DashboardLayout{}, fmt.Errorf("create dashboard layout: %w: user and name are required", ErrInvalid)
	}
	layout, err := jsonDocArg("layout", &d.Layout)
	if err != nil {
		return DashboardLayout{}, fmt.Errorf("create dashboard layout: %w", err)
	}
	if d.ID, err = newID(); err != nil {
		return DashboardLayout{}, err
	}
	now := s.nowUTC()
	d.CreatedAt, d.UpdatedAt = now, now
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM dashboard_layouts WHERE user_id = $1`, d.UserID).Scan(&n); err != nil {
			return s.mapErr(err, "create dashboard layout")
		}
		if n == 0 {
			d.IsDefault = true
		}
		if d.IsDefault {
			if _, err := tx.ExecContext(ctx, `UPDATE dashboard_layouts SET is_default = $1 WHERE user_id = $2 AND is_default`, false, d.UserID); err != nil {
				return s.mapErr(err, "create dashboard layout")
			}
		}
		return s.insert(ctx, tx, "create dashboard layout", "dashboard_layouts", layoutCols,
			d.ID, d.UserID, d.Name, layout, d.IsDefault, s.ts(now), s.ts(now))
	})
	if err != nil {
		return DashboardLayout{}, err
	}
	return d, nil
}

// GetDashboardLayout returns one of the user's layouts (another user's is ErrNotFound).
func (s *Store) GetDashboardLayout(ctx context.Context, userID, id string) (DashboardLayout, error) {
	return getOne(ctx, s, "get dashboard layout", "dashboard layout", id, scanLayout,
		`SELECT `+layoutCols+` FROM dashboard_layouts WHERE id = $1 AND user_id = $2`, id, userID)
}

// ListDashboardLayouts returns the user's layouts, default first, then by name.
func (s *Store) ListDashboardLayouts(ctx context.Context, userID string) ([]DashboardLayout, error) {
	return queryAll(ctx, s, "list dashboard layouts", `SELECT `+layoutCols+` FROM dashboard_layouts
		WHERE user_id = $1 ORDER BY is_default DESC, LOWER(name), id`, []any{userID}, scanLayout)
}

// UpdateDashboardLayout changes name and layout of one of the user's
// layouts; IsDefault true makes it the default (false is ignored: move the
// default by setting it on another layout).
func (s *Store) UpdateDashboardLayout(ctx context.Context, d DashboardLayout) (DashboardLayout, error) {
	d.Name = strings.TrimSpace(d.Name)
	if d.Name == "" {
		return DashboardLayout{}, fmt.Errorf("update dashboard layout: %w: name is required", ErrInvalid)
	}
	layout, err := jsonDocArg("layout", &d.Layout)
	if err != nil {
		return DashboardLayout{}, fmt.Errorf("update dashboard layout: %w", err)
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE dashboard_layouts SET name = $1, layout = $2, updated_at = $3
			WHERE id = $4 AND user_id = $5`, d.Name, layout, s.ts(s.nowUTC()), d.ID, d.UserID)
		if err := affectedOne(s, res, err, "update dashboard layout", "dashboard layout", d.ID); err != nil {
			return err
		}
		if d.IsDefault {
			return s.setDefaultLayout(ctx, tx, d.UserID, d.ID)
		}
		return nil
	})
	if err != nil {
		return DashboardLayout{}, err
	}
	return s.GetDashboardLayout(ctx, d.UserID, d.ID)
}

// SetDefaultDashboardLayout makes the layout the user's only default.
func (s *Store) SetDefaultDashboardLayout(ctx context.Context, userID, id string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error { return s.setDefaultLayout(ctx, tx, userID, id) })
}

func (s *Store) setDefaultLayout(ctx context.Context, tx *sql.Tx, userID, id string) error {
	var exists int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM dashboard_layouts WHERE id = $1 AND user_id = $2`, id, userID).Scan(&exists); err != nil {
		return s.mapErr(err, "set default dashboard layout")
	}
	if exists == 0 {
		return notFound("dashboard layout", id)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE dashboard_layouts SET is_default = $1 WHERE user_id = $2 AND is_default AND id <> $3`, false, userID, id); err != nil {
		return s.mapErr(err, "set default dashboard layout")
	}
	if _, err := tx.ExecContext(ctx, `UPDATE dashboard_layouts SET is_default = $1 WHERE id = $2`, true, id); err != nil {
		return s.mapErr(err, "set default dashboard layout")
	}
	return nil
}

// DeleteDashboardLayout removes one of the user's layouts. When it was the
// default, the most recently updated remaining layout becomes the default.
func (s *Store) DeleteDashboardLayout(ctx context.Context, userID, id string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var wasDefault bool
		err := tx.QueryRowContext(ctx, `SELECT is_default FROM dashboard_layouts WHERE id = $1 AND user_id = $2`, id, userID).Scan(&wasDefault)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("dashboard layout", id)
		}
		if err != nil {
			return s.mapErr(err, "delete dashboard layout")
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM dashboard_layouts WHERE id = $1`, id); err != nil {
			return s.mapErr(err, "delete dashboard layout")
		}
		if !wasDefault {
			return nil
		}
		var next string
		err = tx.QueryRowContext(ctx, `SELECT id FROM dashboard_layouts WHERE user_id = $1
			ORDER BY updated_at DESC, id DESC LIMIT 1`, userID).Scan(&next)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return s.mapErr(err, "delete dashboard layout")
		}
		_, err = tx.ExecContext(ctx, `UPDATE dashboard_layouts SET is_default = $1 WHERE id = $2`, true, next)
		return s.mapErr(err, "delete dashboard layout")
	})
}

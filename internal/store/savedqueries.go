package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// SavedQuery is a saved analytics query. Chart is its chart settings (JSON owned by
// internal/queries).
type SavedQuery struct {
	ID          string
	Name        string
	Description string
	ConnectorID string
	SQL         string
	Chart       json.RawMessage
	CreatedBy   string
	UpdatedBy   string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

const savedQueryCols = `id, name, description, connector_id, sql, chart, created_by, updated_by, created_at, updated_at`

func scanSavedQuery(row scanner) (SavedQuery, error) {
	var q SavedQuery
	err := row.Scan(&q.ID, &q.Name, &q.Description, &q.ConnectorID, &q.SQL, jsonCol{&q.Chart}, &q.CreatedBy, &q.UpdatedBy,
		timeCol{&q.CreatedAt}, timeCol{&q.UpdatedAt})
	return q, err
}

func (q *SavedQuery) check(op string) error {
	q.Name = strings.TrimSpace(q.Name)
	if q.Name == "" || q.ConnectorID == "" || strings.TrimSpace(q.SQL) == "" {
		return fmt.Errorf("%s: %w: name, connector and sql are required", op, ErrInvalid)
	}
	return nil
}

// CreateSavedQuery inserts q with a new id (names unique, case-insensitive: ErrConflict).
func (s *Store) CreateSavedQuery(ctx context.Context, q SavedQuery) (SavedQuery, error) {
	if err := q.check("create saved query"); err != nil {
		return SavedQuery{}, err
	}
	chart, err := jsonDocArg("chart", &q.Chart)
	if err != nil {
		return SavedQuery{}, fmt.Errorf("create saved query: %w", err)
	}
	if q.ID, err = newID(); err != nil {
		return SavedQuery{}, err
	}
	now := s.nowUTC()
	q.CreatedAt, q.UpdatedAt, q.UpdatedBy = now, now, q.CreatedBy
	return valueOr(q, s.insert(ctx, s.db, "create saved query", "saved_queries", savedQueryCols,
		q.ID, noNUL(q.Name), noNUL(q.Description), q.ConnectorID, noNUL(q.SQL), chart, noNUL(q.CreatedBy), noNUL(q.CreatedBy), s.ts(now), s.ts(now)))
}

// GetSavedQuery returns a saved query by id.
func (s *Store) GetSavedQuery(ctx context.Context, id string) (SavedQuery, error) {
	return getOne(ctx, s, "get saved query", "saved query", id, scanSavedQuery,
		`SELECT `+savedQueryCols+` FROM saved_queries WHERE id = $1`, id)
}

// ListSavedQueries lists every saved query by name.
func (s *Store) ListSavedQueries(ctx context.Context) ([]SavedQuery, error) {
	return queryAll(ctx, s, "list saved queries", `SELECT `+savedQueryCols+` FROM saved_queries ORDER BY LOWER(name), id`, nil, scanSavedQuery)
}

// UpdateSavedQuery replaces name, description, connector, sql and chart of q.ID; q.UpdatedBy is
// who changed it.
func (s *Store) UpdateSavedQuery(ctx context.Context, q SavedQuery) (SavedQuery, error) {
	if err := q.check("update saved query"); err != nil {
		return SavedQuery{}, err
	}
	chart, err := jsonDocArg("chart", &q.Chart)
	if err != nil {
		return SavedQuery{}, fmt.Errorf("update saved query: %w", err)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE saved_queries SET name = $1, description = $2, connector_id = $3, sql = $4, chart = $5,
		updated_by = $6, updated_at = $7 WHERE id = $8`, noNUL(q.Name), noNUL(q.Description), q.ConnectorID, noNUL(q.SQL), chart,
		noNUL(q.UpdatedBy), s.ts(s.nowUTC()), q.ID)
	if err := affectedOne(s, res, err, "update saved query", "saved query", q.ID); err != nil {
		return SavedQuery{}, err
	}
	return s.GetSavedQuery(ctx, q.ID)
}

// DeleteSavedQuery removes a saved query.
func (s *Store) DeleteSavedQuery(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM saved_queries WHERE id = $1`, id)
	return affectedOne(s, res, err, "delete saved query", "saved query", id)
}

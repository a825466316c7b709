package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Connector is a saved connector configuration. Config is the connector's
// JSON config as given (secrets included: callers redact before showing it).
// Deleted connectors are kept with DeletedAt set and are invisible to Get
// and List; their name becomes free again.
type Connector struct {
	ID          string
	Name        string
	Type        string
	Description string
	Config      json.RawMessage
	CreatedBy   string
	UpdatedBy   string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	DeletedAt   *time.Time
}

const connectorCols = `id, name, type, description, config, created_by, updated_by, created_at, updated_at, deleted_at`

func scanConnector(row scanner) (Connector, error) {
	var c Connector
	err := row.Scan(&c.ID, &c.Name, &c.Type, &c.Description, jsonCol{&c.Config}, &c.CreatedBy, &c.UpdatedBy,
		timeCol{&c.CreatedAt}, timeCol{&c.UpdatedAt}, nullTimeCol{&c.DeletedAt})
	return c, err
}

// CreateConnector inserts c (Name and Type required; names are unique,
// case-insensitively, among live connectors).
func (s *Store) CreateConnector(ctx context.Context, c Connector) (Connector, error) {
	c.Name = strings.TrimSpace(c.Name)
	if c.Name == "" || c.Type == "" {
		return Connector{}, fmt.Errorf("create connector: %w: name and type are required", ErrInvalid)
	}
	cfg, err := jsonDocArg("config", &c.Config)
	if err != nil {
		return Connector{}, fmt.Errorf("create connector: %w", err)
	}
	if c.ID, err = newID(); err != nil {
		return Connector{}, err
	}
	now := s.nowUTC()
	c.CreatedAt, c.UpdatedAt, c.DeletedAt, c.UpdatedBy = now, now, nil, c.CreatedBy
	return valueOr(c, s.insert(ctx, s.db, "create connector", "connectors", connectorCols,
		c.ID, c.Name, c.Type, c.Description, cfg, c.CreatedBy, c.UpdatedBy, s.ts(now), s.ts(now), nil))
}

// GetConnector returns a live connector by id.
func (s *Store) GetConnector(ctx context.Context, id string) (Connector, error) {
	return s.getConnector(ctx, `id = $1`, id)
}

// GetConnectorByName returns a live connector by name (case-insensitive).
func (s *Store) GetConnectorByName(ctx context.Context, name string) (Connector, error) {
	return s.getConnector(ctx, `LOWER(name) = LOWER($1)`, name)
}

func (s *Store) getConnector(ctx context.Context, cond, arg string) (Connector, error) {
	return getOne(ctx, s, "get connector", "connector", arg, scanConnector, `SELECT `+connectorCols+` FROM connectors
		WHERE `+cond+` AND deleted_at IS NULL`, arg)
}

// ConnectorFilter selects connectors for ListConnectors.
type ConnectorFilter struct {
	Search string // substring of the name
	Type   string
	Page   Page
}

// ListConnectors lists live connectors by name.
func (s *Store) ListConnectors(ctx context.Context, f ConnectorFilter) ([]Connector, int, error) {
	var w where
	w.add(`deleted_at IS NULL`)
	if f.Search != "" {
		w.add(`LOWER(name) LIKE ? ESCAPE '\'`, likePattern(f.Search))
	}
	w.eq(`type`, f.Type)
	return listQuery(ctx, s, "list connectors", "connectors", connectorCols, w, "LOWER(name), id", f.Page, scanConnector)
}

// UpdateConnector replaces name, type, description and config of a live
// connector; c.UpdatedBy names the actor.
func (s *Store) UpdateConnector(ctx context.Context, c Connector) (Connector, error) {
	c.Name = strings.TrimSpace(c.Name)
	if c.Name == "" || c.Type == "" {
		return Connector{}, fmt.Errorf("update connector: %w: name and type are required", ErrInvalid)
	}
	cfg, err := jsonDocArg("config", &c.Config)
	if err != nil {
		return Connector{}, fmt.Errorf("update connector: %w", err)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE connectors SET name = $1, type = $2, description = $3, config = $4,
		updated_by = $5, updated_at = $6 WHERE id = $7 AND deleted_at IS NULL`,
		c.Name, c.Type, c.Description, cfg, c.UpdatedBy, s.ts(s.nowUTC()), c.ID)
	if err := affectedOne(s, res, err, "update connector", "connector", c.ID); err != nil {
		return Connector{}, err
	}
	return s.GetConnector(ctx, c.ID)
}

// DeleteConnector soft-deletes a live connector.
func (s *Store) DeleteConnector(ctx context.Context, id, actor string) error {
	now := s.ts(s.nowUTC())
	res, err := s.db.ExecContext(ctx, `UPDATE connectors SET deleted_at = $1, updated_at = $1, updated_by = $2
		WHERE id = $3 AND deleted_at IS NULL`, now, actor, id)
	return affectedOne(s, res, err, "delete connector", "connector", id)
}

package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Connector is a saved connector configuration. The store keeps what it is
// given and knows nothing of encryption: the caller (internal/connections)
// puts the non-secret part of the config in Config and the secret values,
// sealed, in Secrets with the id of the key that sealed them in SecretsKeyID.
// Deleted connectors are kept with DeletedAt set, without their config and
// secrets (purged on delete), and are invisible to Get and List; their name
// becomes free again.
type Connector struct {
	ID           string
	Name         string
	Type         string
	Description  string
	Config       json.RawMessage
	Secrets      string // sealed secret values; "" when the connector has none
	SecretsKeyID string // the key Secrets was sealed under; "" when Secrets is ""
	CreatedBy    string
	UpdatedBy    string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	DeletedAt    *time.Time
}

const connectorCols = `id, name, type, description, config, secrets, secrets_key_id, created_by, updated_by, created_at, updated_at, deleted_at`

func scanConnector(row scanner) (Connector, error) {
	var c Connector
	err := row.Scan(&c.ID, &c.Name, &c.Type, &c.Description, jsonCol{&c.Config}, &c.Secrets, &c.SecretsKeyID,
		&c.CreatedBy, &c.UpdatedBy, timeCol{&c.CreatedAt}, timeCol{&c.UpdatedAt}, nullTimeCol{&c.DeletedAt})
	return c, err
}

// CreateConnector inserts c (Name and Type required; names are unique,
// case-insensitively, among live connectors). c.ID is generated when empty
// (callers that bind sealed secrets to the id choose it first).
func (s *Store) CreateConnector(ctx context.Context, c Connector) (Connector, error) {
	c.Name = strings.TrimSpace(c.Name)
	if c.Name == "" || c.Type == "" {
		return Connector{}, fmt.Errorf("create connector: %w: name and type are required", ErrInvalid)
	}
	cfg, err := jsonDocArg("config", &c.Config)
	if err != nil {
		return Connector{}, fmt.Errorf("create connector: %w", err)
	}
	if (c.Secrets == "") != (c.SecretsKeyID == "") {
		return Connector{}, fmt.Errorf("create connector: %w: sealed secrets need their key id", ErrInvalid)
	}
	if c.ID == "" {
		if c.ID, err = newID(); err != nil {
			return Connector{}, err
		}
	}
	now := s.nowUTC()
	c.CreatedAt, c.UpdatedAt, c.DeletedAt, c.UpdatedBy = now, now, nil, c.CreatedBy
	return valueOr(c, s.insert(ctx, s.db, "create connector", "connectors", connectorCols,
		c.ID, c.Name, c.Type, c.Description, cfg, c.Secrets, c.SecretsKeyID, c.CreatedBy, c.UpdatedBy, s.ts(now), s.ts(now), nil))
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

// UpdateConnector replaces name, type, description, config and secrets of a
// live connector; c.UpdatedBy names the actor.
func (s *Store) UpdateConnector(ctx context.Context, c Connector) (Connector, error) {
	c.Name = strings.TrimSpace(c.Name)
	if c.Name == "" || c.Type == "" {
		return Connector{}, fmt.Errorf("update connector: %w: name and type are required", ErrInvalid)
	}
	if (c.Secrets == "") != (c.SecretsKeyID == "") {
		return Connector{}, fmt.Errorf("update connector: %w: sealed secrets need their key id", ErrInvalid)
	}
	cfg, err := jsonDocArg("config", &c.Config)
	if err != nil {
		return Connector{}, fmt.Errorf("update connector: %w", err)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE connectors SET name = $1, type = $2, description = $3, config = $4,
		secrets = $5, secrets_key_id = $6, updated_by = $7, updated_at = $8 WHERE id = $9 AND deleted_at IS NULL`,
		c.Name, c.Type, c.Description, cfg, c.Secrets, c.SecretsKeyID, c.UpdatedBy, s.ts(s.nowUTC()), c.ID)
	if err := affectedOne(s, res, err, "update connector", "connector", c.ID); err != nil {
		return Connector{}, err
	}
	return s.GetConnector(ctx, c.ID)
}

// DeleteConnector soft-deletes a live connector: the row keeps its name,
// type and history, but its config and secrets are purged.
func (s *Store) DeleteConnector(ctx context.Context, id, actor string) error {
	now := s.ts(s.nowUTC())
	res, err := s.db.ExecContext(ctx, `UPDATE connectors SET deleted_at = $1, updated_at = $1, updated_by = $2,
		config = '{}', secrets = '', secrets_key_id = '' WHERE id = $3 AND deleted_at IS NULL`, now, actor, id)
	return affectedOne(s, res, err, "delete connector", "connector", id)
}

// ConnectorKeyIDs counts the live connectors with sealed secrets by the id
// of the key that sealed them.
func (s *Store) ConnectorKeyIDs(ctx context.Context) (map[string]int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT secrets_key_id, COUNT(*) FROM connectors
		WHERE deleted_at IS NULL AND secrets_key_id <> '' GROUP BY secrets_key_id`)
	if err != nil {
		return nil, s.mapErr(err, "connector key ids")
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, s.mapErr(err, "connector key ids")
		}
		out[id] = n
	}
	return out, s.mapErr(rows.Err(), "connector key ids")
}

// ConnectorsAfter lists up to limit live connectors with an id greater than
// afterID, by id (for walking every connector, as key rotation does).
func (s *Store) ConnectorsAfter(ctx context.Context, afterID string, limit int) ([]Connector, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+connectorCols+` FROM connectors
		WHERE deleted_at IS NULL AND id > $1 ORDER BY id LIMIT $2`, afterID, limit)
	if err != nil {
		return nil, s.mapErr(err, "list connectors")
	}
	defer rows.Close()
	var out []Connector
	for rows.Next() {
		c, err := scanConnector(rows)
		if err != nil {
			return nil, s.mapErr(err, "list connectors")
		}
		out = append(out, c)
	}
	return out, s.mapErr(rows.Err(), "list connectors")
}

// ResealConnector replaces the config and secrets of a live connector that
// still holds prev's secrets and update time (so a concurrent update is not
// overwritten: ErrConflict then), without touching its update time or
// actor. Key rotation uses it.
func (s *Store) ResealConnector(ctx context.Context, prev Connector, config json.RawMessage, secrets, keyID string) error {
	if (secrets == "") != (keyID == "") {
		return fmt.Errorf("reseal connector: %w: sealed secrets need their key id", ErrInvalid)
	}
	cfg, err := jsonDocArg("config", &config)
	if err != nil {
		return fmt.Errorf("reseal connector: %w", err)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE connectors SET config = $1, secrets = $2, secrets_key_id = $3
		WHERE id = $4 AND deleted_at IS NULL AND secrets = $5 AND updated_at = $6`,
		cfg, secrets, keyID, prev.ID, prev.Secrets, s.ts(prev.UpdatedAt))
	if err != nil {
		return s.mapErr(err, "reseal connector")
	}
	if n, err := res.RowsAffected(); err != nil {
		return s.mapErr(err, "reseal connector")
	} else if n == 0 {
		return fmt.Errorf("reseal connector %s: changed or deleted meanwhile: %w", prev.ID, ErrConflict)
	}
	return nil
}

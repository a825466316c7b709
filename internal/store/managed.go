package store

import (
	"context"
	"fmt"
	"time"
)

// Managed kinds: the objects `aggregator apply` writes from files.
const (
	ManagedPipeline       = "pipeline"
	ManagedConnector      = "connector"
	ManagedTransformation = "transformation"
)

// Managed records that an object was last written from a file by `aggregator apply`
// (docs/pipelines-as-code.md). The object has drifted from its file when it was changed after
// AppliedAt.
type Managed struct {
	Kind      string
	ObjectID  string
	Path      string // relative to the applied directory: pipelines/orders.yaml
	Digest    string // SHA-256 (hex) of what was applied
	AppliedBy string
	AppliedAt time.Time
}

const managedCols = `kind, object_id, path, digest, applied_by, applied_at`

func scanManaged(row scanner) (Managed, error) {
	var m Managed
	err := row.Scan(&m.Kind, &m.ObjectID, &m.Path, &m.Digest, &m.AppliedBy, timeCol{&m.AppliedAt})
	return m, err
}

func validManagedKind(kind string) bool {
	return kind == ManagedPipeline || kind == ManagedConnector || kind == ManagedTransformation
}

// PutManaged marks an object as written from a file now, replacing an earlier mark. The caller
// checks that the object exists.
func (s *Store) PutManaged(ctx context.Context, m Managed) (Managed, error) {
	if !validManagedKind(m.Kind) || m.ObjectID == "" || m.Path == "" || m.Digest == "" {
		return Managed{}, fmt.Errorf("put managed: %w: kind (pipeline, connector or transformation), object, path and digest are required", ErrInvalid)
	}
	m.AppliedAt = s.nowUTC()
	_, err := s.db.ExecContext(ctx, `INSERT INTO managed_objects (`+managedCols+`) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (kind, object_id) DO UPDATE SET path = $3, digest = $4, applied_by = $5, applied_at = $6`,
		m.Kind, m.ObjectID, noNUL(m.Path), m.Digest, noNUL(m.AppliedBy), s.ts(m.AppliedAt))
	if err != nil {
		return Managed{}, s.mapErr(err, "put managed")
	}
	return m, nil
}

// GetManaged returns an object's mark (ErrNotFound when it is not managed from a file).
func (s *Store) GetManaged(ctx context.Context, kind, objectID string) (Managed, error) {
	return getOne(ctx, s, "get managed", kind+" managed from a file", objectID, scanManaged,
		`SELECT `+managedCols+` FROM managed_objects WHERE kind = $1 AND object_id = $2`, kind, objectID)
}

// ListManaged returns the marks of one kind by object id.
func (s *Store) ListManaged(ctx context.Context, kind string) (map[string]Managed, error) {
	list, err := queryAll(ctx, s, "list managed", `SELECT `+managedCols+` FROM managed_objects WHERE kind = $1`, []any{kind}, scanManaged)
	if err != nil {
		return nil, err
	}
	out := make(map[string]Managed, len(list))
	for _, m := range list {
		out[m.ObjectID] = m
	}
	return out, nil
}

// DeleteManaged removes an object's mark (ErrNotFound when it had none): the object is no longer
// managed from a file.
func (s *Store) DeleteManaged(ctx context.Context, kind, objectID string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM managed_objects WHERE kind = $1 AND object_id = $2`, kind, objectID)
	return affectedOne(s, res, err, "delete managed", kind+" managed from a file", objectID)
}

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

// Pipeline is a saved pipeline. Spec is the spec text (JSON or YAML) of the
// current Version; every save adds a PipelineVersion. Schedule, Timezone and
// Enabled are copied from the spec by the caller so the scheduler can query
// them without parsing.
type Pipeline struct {
	ID          string
	Name        string
	Description string
	Spec        string
	Version     int
	Schedule    string // cron expression, "" when not scheduled
	Timezone    string
	Enabled     bool
	CreatedBy   string
	UpdatedBy   string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	DeletedAt   *time.Time
	// Problems, given to CreatePipeline, make version 1 a draft. Read a version's problems with
	// GetPipelineVersion (they are not read back here).
	Problems json.RawMessage
}

// PipelineVersion is one saved version of a pipeline's spec.
type PipelineVersion struct {
	PipelineID string
	Version    int
	Spec       string
	Comment    string
	CreatedBy  string
	CreatedAt  time.Time
	// Problems are a draft version's problems (a JSON array owned by the pipelines package); nil
	// for a valid version. A draft cannot run.
	Problems json.RawMessage
}

const pipelineCols = `id, name, description, spec, version, schedule, timezone, enabled, created_by, updated_by,
	created_at, updated_at, deleted_at`

func scanPipeline(row scanner) (Pipeline, error) {
	var p Pipeline
	err := row.Scan(&p.ID, &p.Name, &p.Description, &p.Spec, &p.Version, &p.Schedule, &p.Timezone, &p.Enabled,
		&p.CreatedBy, &p.UpdatedBy, timeCol{&p.CreatedAt}, timeCol{&p.UpdatedAt}, nullTimeCol{&p.DeletedAt})
	return p, err
}

func (s *Store) insertVersion(ctx context.Context, tx *sql.Tx, v PipelineVersion) error {
	problems, err := jsonArg("problems", v.Problems, nil)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO pipeline_versions (pipeline_id, version, spec, comment, created_by, created_at, problems)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, v.PipelineID, v.Version, v.Spec, v.Comment, v.CreatedBy, s.ts(v.CreatedAt), problems)
	return err
}

// CreatePipeline inserts p as version 1. Name and Spec are required; names
// are unique (case-insensitive) among live pipelines.
func (s *Store) CreatePipeline(ctx context.Context, p Pipeline) (Pipeline, error) {
	p.Name = strings.TrimSpace(p.Name)
	if p.Name == "" || strings.TrimSpace(p.Spec) == "" {
		return Pipeline{}, fmt.Errorf("create pipeline: %w: name and spec are required", ErrInvalid)
	}
	id, err := newID()
	if err != nil {
		return Pipeline{}, err
	}
	now := s.nowUTC()
	p.ID, p.Version, p.CreatedAt, p.UpdatedAt, p.DeletedAt, p.UpdatedBy = id, 1, now, now, nil, p.CreatedBy
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.insert(ctx, tx, "create pipeline", "pipelines", pipelineCols,
			p.ID, p.Name, p.Description, p.Spec, p.Version, p.Schedule, p.Timezone, p.Enabled,
			p.CreatedBy, p.UpdatedBy, s.ts(now), s.ts(now), nil); err != nil {
			return err
		}
		if err := s.insertVersion(ctx, tx, PipelineVersion{PipelineID: p.ID, Version: 1, Spec: p.Spec, CreatedBy: p.CreatedBy, CreatedAt: now,
			Problems: p.Problems}); err != nil {
			return s.mapErr(err, "create pipeline version")
		}
		return nil
	})
	if err != nil {
		return Pipeline{}, err
	}
	return p, nil
}

// PipelineUpdate is a save of a pipeline: it always creates a new version.
type PipelineUpdate struct {
	Name        string
	Description string
	Spec        string
	Schedule    string
	Timezone    string
	Enabled     bool
	Comment     string // stored with the version
	Actor       string
	// ExpectedVersion, when > 0, must equal the current version, else
	// ErrConflict (someone else saved in between).
	ExpectedVersion int
	// Problems make the new version a draft (see PipelineVersion.Problems).
	Problems json.RawMessage
}

// UpdatePipeline saves a new version of a live pipeline and returns it.
func (s *Store) UpdatePipeline(ctx context.Context, id string, u PipelineUpdate) (Pipeline, error) {
	u.Name = strings.TrimSpace(u.Name)
	if u.Name == "" || strings.TrimSpace(u.Spec) == "" {
		return Pipeline{}, fmt.Errorf("update pipeline: %w: name and spec are required", ErrInvalid)
	}
	now := s.nowUTC()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var current int
		err := tx.QueryRowContext(ctx, `SELECT version FROM pipelines WHERE id = $1 AND deleted_at IS NULL`, id).Scan(&current)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("pipeline", id)
		}
		if err != nil {
			return s.mapErr(err, "update pipeline")
		}
		if u.ExpectedVersion > 0 && u.ExpectedVersion != current {
			return fmt.Errorf("update pipeline: version is %d, not %d: %w", current, u.ExpectedVersion, ErrConflict)
		}
		next := current + 1
		res, err := tx.ExecContext(ctx, `UPDATE pipelines SET name = $1, description = $2, spec = $3, version = $4,
			schedule = $5, timezone = $6, enabled = $7, updated_by = $8, updated_at = $9
			WHERE id = $10 AND version = $11`,
			u.Name, u.Description, u.Spec, next, u.Schedule, u.Timezone, u.Enabled, u.Actor, s.ts(now), id, current)
		if err != nil {
			return s.mapErr(err, "update pipeline")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("update pipeline: changed concurrently: %w", ErrConflict)
		}
		if err := s.insertVersion(ctx, tx, PipelineVersion{PipelineID: id, Version: next, Spec: u.Spec, Comment: u.Comment, CreatedBy: u.Actor, CreatedAt: now,
			Problems: u.Problems}); err != nil {
			return s.mapErr(err, "update pipeline version")
		}
		return nil
	})
	if err != nil {
		return Pipeline{}, err
	}
	return s.GetPipeline(ctx, id)
}

// SetPipelineEnabled turns a live pipeline's schedule on or off without a new version.
func (s *Store) SetPipelineEnabled(ctx context.Context, id string, enabled bool, actor string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE pipelines SET enabled = $1, updated_by = $2, updated_at = $3
		WHERE id = $4 AND deleted_at IS NULL`, enabled, actor, s.ts(s.nowUTC()), id)
	return affectedOne(s, res, err, "set pipeline enabled", "pipeline", id)
}

// GetPipeline returns a live pipeline by id.
func (s *Store) GetPipeline(ctx context.Context, id string) (Pipeline, error) {
	return s.getPipeline(ctx, `id = $1`, id)
}

// GetPipelineByName returns a live pipeline by name (case-insensitive).
func (s *Store) GetPipelineByName(ctx context.Context, name string) (Pipeline, error) {
	return s.getPipeline(ctx, `LOWER(name) = LOWER($1)`, name)
}

func (s *Store) getPipeline(ctx context.Context, cond, arg string) (Pipeline, error) {
	return getOne(ctx, s, "get pipeline", "pipeline", arg, scanPipeline, `SELECT `+pipelineCols+` FROM pipelines
		WHERE `+cond+` AND deleted_at IS NULL`, arg)
}

// PipelineFilter selects pipelines for ListPipelines.
type PipelineFilter struct {
	Search    string // substring of name or description
	Scheduled bool   // only enabled pipelines with a schedule
	Page      Page
}

// ListPipelines lists live pipelines by name.
func (s *Store) ListPipelines(ctx context.Context, f PipelineFilter) ([]Pipeline, int, error) {
	var w where
	w.add(`deleted_at IS NULL`)
	if f.Search != "" {
		p := likePattern(f.Search)
		w.add(`(LOWER(name) LIKE ? ESCAPE '\' OR LOWER(description) LIKE ? ESCAPE '\')`, p, p)
	}
	if f.Scheduled {
		w.add(`enabled = ? AND schedule <> ''`, true)
	}
	return listQuery(ctx, s, "list pipelines", "pipelines", pipelineCols, w, "LOWER(name), id", f.Page, scanPipeline)
}

// DeletePipeline soft-deletes a live pipeline; its versions and runs stay.
func (s *Store) DeletePipeline(ctx context.Context, id, actor string) error {
	now := s.ts(s.nowUTC())
	res, err := s.db.ExecContext(ctx, `UPDATE pipelines SET deleted_at = $1, updated_at = $1, updated_by = $2
		WHERE id = $3 AND deleted_at IS NULL`, now, actor, id)
	return affectedOne(s, res, err, "delete pipeline", "pipeline", id)
}

const versionCols = `pipeline_id, version, spec, comment, created_by, created_at, problems`

func scanVersion(row scanner) (PipelineVersion, error) {
	var v PipelineVersion
	err := row.Scan(&v.PipelineID, &v.Version, &v.Spec, &v.Comment, &v.CreatedBy, timeCol{&v.CreatedAt}, jsonCol{&v.Problems})
	return v, err
}

// GetPipelineVersion returns one version of a pipeline (deleted pipelines
// included, so that old runs can show what they ran).
func (s *Store) GetPipelineVersion(ctx context.Context, pipelineID string, version int) (PipelineVersion, error) {
	return getOne(ctx, s, "get pipeline version", "pipeline version", fmt.Sprintf("%s@%d", pipelineID, version), scanVersion,
		`SELECT `+versionCols+` FROM pipeline_versions WHERE pipeline_id = $1 AND version = $2`, pipelineID, version)
}

// ListPipelineVersions lists a pipeline's versions, newest first.
func (s *Store) ListPipelineVersions(ctx context.Context, pipelineID string, page Page) ([]PipelineVersion, int, error) {
	var w where
	w.add(`pipeline_id = ?`, pipelineID)
	return listQuery(ctx, s, "list pipeline versions", "pipeline_versions", versionCols, w, "version DESC", page, scanVersion)
}

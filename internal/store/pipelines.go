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
	// Misfire is the schedule's misfire policy from the spec ("skip" or "run_once"; "" reads as skip).
	Misfire string
	// SchedulePaused: the schedule is paused (SetSchedulePaused); a save keeps it.
	SchedulePaused bool
	CreatedBy      string
	UpdatedBy      string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	DeletedAt      *time.Time
	// Problems, given to CreatePipeline, make version 1 a draft. Read a version's problems with
	// GetPipelineVersion (they are not read back here).
	Problems json.RawMessage
	// After, given to CreatePipeline, names the live pipelines this one runs after (the spec's
	// triggers.after; unknown names and cycles are a *DependencyError). Read them back with
	// ListUpstreams.
	After []string
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
	created_at, updated_at, deleted_at, schedule_misfire, schedule_paused`

func scanPipeline(row scanner) (Pipeline, error) {
	var p Pipeline
	err := row.Scan(&p.ID, &p.Name, &p.Description, &p.Spec, &p.Version, &p.Schedule, &p.Timezone, &p.Enabled,
		&p.CreatedBy, &p.UpdatedBy, timeCol{&p.CreatedAt}, timeCol{&p.UpdatedAt}, nullTimeCol{&p.DeletedAt},
		&p.Misfire, &p.SchedulePaused)
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
	p.Misfire, p.SchedulePaused = misfireOrSkip(p.Misfire), false
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.insert(ctx, tx, "create pipeline", "pipelines", pipelineCols+`, schedule_since`,
			p.ID, p.Name, p.Description, p.Spec, p.Version, p.Schedule, p.Timezone, p.Enabled,
			p.CreatedBy, p.UpdatedBy, s.ts(now), s.ts(now), nil, p.Misfire, false, s.ts(now)); err != nil {
			return err
		}
		if err := s.insertVersion(ctx, tx, PipelineVersion{PipelineID: p.ID, Version: 1, Spec: p.Spec, CreatedBy: p.CreatedBy, CreatedAt: now,
			Problems: p.Problems}); err != nil {
			return s.mapErr(err, "create pipeline version")
		}
		return s.setDependencies(ctx, tx, p.ID, p.After)
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
	Misfire     string // the schedule's misfire policy ("" reads as skip)
	Comment     string // stored with the version
	Actor       string
	// ExpectedVersion, when > 0, must equal the current version, else
	// ErrConflict (someone else saved in between).
	ExpectedVersion int
	// Problems make the new version a draft (see PipelineVersion.Problems).
	Problems json.RawMessage
	// After replaces the pipelines this one runs after (see Pipeline.After).
	After []string
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
		// A changed schedule (cron or time zone) counts its ticks from now: ticks of the old one
		// are neither run nor missed. The pause flag is kept.
		res, err := tx.ExecContext(ctx, `UPDATE pipelines SET name = $1, description = $2, spec = $3, version = $4,
			schedule = $5, timezone = $6, enabled = $7, updated_by = $8, updated_at = $9, schedule_misfire = $12,
			schedule_since = CASE WHEN schedule <> $5 OR timezone <> $6 THEN $9 ELSE schedule_since END
			WHERE id = $10 AND version = $11`,
			u.Name, u.Description, u.Spec, next, u.Schedule, u.Timezone, u.Enabled, u.Actor, s.ts(now), id, current,
			misfireOrSkip(u.Misfire))
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
		return s.setDependencies(ctx, tx, id, u.After)
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

// where is the filter's condition on the pipelines table; col qualifies its
// columns ("p." when the query joins other tables).
func (f PipelineFilter) where(col string) where {
	var w where
	w.add(col + `deleted_at IS NULL`)
	if f.Search != "" {
		p := likePattern(f.Search)
		w.add(`(LOWER(`+col+`name) LIKE ? ESCAPE '\' OR LOWER(`+col+`description) LIKE ? ESCAPE '\')`, p, p)
	}
	if f.Scheduled {
		w.add(col+`enabled = ? AND `+col+`schedule <> ''`, true)
	}
	return w
}

// ListPipelines lists live pipelines by name, each with its spec text.
func (s *Store) ListPipelines(ctx context.Context, f PipelineFilter) ([]Pipeline, int, error) {
	return listQuery(ctx, s, "list pipelines", "pipelines", pipelineCols, f.where(""), "LOWER(name), id", f.Page, scanPipeline)
}

// PipelineSummary is a live pipeline as a list shows it: every field of
// Pipeline but the spec text (Spec is empty), whether its current version is
// a draft, and its latest run, if any.
type PipelineSummary struct {
	Pipeline
	Draft   bool // the current version has problems (PipelineVersion.Problems)
	LastRun *RunSummary
}

// RunSummary is what a list of pipelines shows of a run.
type RunSummary struct {
	ID         string
	Status     RunStatus
	CreatedAt  time.Time
	FinishedAt *time.Time
}

// ListPipelineSummaries lists live pipelines by name like ListPipelines,
// without their spec text and with their latest run (the newest by
// created_at), and the number of pipelines the filter selects. Two queries,
// prepared once on SQLite (see stmtCache): the count, and the page joined to
// each row's latest run.
func (s *Store) ListPipelineSummaries(ctx context.Context, f PipelineFilter) ([]PipelineSummary, int, error) {
	const op = "list pipelines"
	limit, offset := f.Page.norm()
	var total int
	c := f.where("")
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM pipelines`+c.sql(), c.args...).Scan(&total); err != nil {
		return nil, 0, s.mapErr(err, op)
	}
	// The live pipelines' LOWER(name) is unique (ux_pipelines_name), so it
	// orders them alone, as ListPipelines' "LOWER(name), id" does; without the
	// id the database walks that index in order and stops after the page,
	// looking up the latest run of the page's rows only.
	w := f.where("p.")
	q := fmt.Sprintf(`SELECT p.id, p.name, p.description, p.version, p.schedule, p.timezone, p.enabled, p.created_by,
		p.updated_by, p.created_at, p.updated_at, p.schedule_misfire, p.schedule_paused, v.problems, r.id, r.status, r.created_at, r.finished_at
	FROM pipelines p
	LEFT JOIN pipeline_versions v ON v.pipeline_id = p.id AND v.version = p.version
	LEFT JOIN pipeline_runs r ON r.id = (SELECT l.id FROM pipeline_runs l WHERE l.pipeline_id = p.id
		ORDER BY l.created_at DESC LIMIT 1)%s
	ORDER BY LOWER(p.name) LIMIT $%d OFFSET $%d`, w.sql(), w.next(), w.next()+1)
	args := append(append([]any(nil), w.args...), limit, offset)
	items, err := queryAll(ctx, s, op, q, args, func(row scanner) (PipelineSummary, error) {
		var (
			p                   PipelineSummary
			runID, runStatus    sql.NullString
			runCreated, runDone *time.Time
			problems            json.RawMessage
		)
		err := row.Scan(&p.ID, &p.Name, &p.Description, &p.Version, &p.Schedule, &p.Timezone, &p.Enabled,
			&p.CreatedBy, &p.UpdatedBy, timeCol{&p.CreatedAt}, timeCol{&p.UpdatedAt}, &p.Misfire, &p.SchedulePaused, jsonCol{&problems},
			&runID, &runStatus, nullTimeCol{&runCreated}, nullTimeCol{&runDone})
		p.Draft = len(problems) > 0 && string(problems) != "null"
		if err == nil && runID.Valid && runCreated != nil {
			p.LastRun = &RunSummary{ID: runID.String, Status: RunStatus(runStatus.String), CreatedAt: *runCreated, FinishedAt: runDone}
		}
		return p, err
	})
	if err != nil {
		return nil, 0, err
	}
	return items, total, nil
}

// DeletePipeline soft-deletes a live pipeline; its versions and runs stay. A pipeline that other
// live pipelines run after (triggers.after) is refused with *DependentsError naming them; the
// pipeline's own upstream edges and its webhook token go with it.
func (s *Store) DeletePipeline(ctx context.Context, id, actor string) error {
	now := s.ts(s.nowUTC())
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.lockDependencies(ctx, tx); err != nil {
			return err
		}
		var name string
		err := tx.QueryRowContext(ctx, `SELECT name FROM pipelines WHERE id = $1 AND deleted_at IS NULL`, id).Scan(&name)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("pipeline", id)
		}
		if err != nil {
			return s.mapErr(err, "delete pipeline")
		}
		var deps []string
		rows, err := tx.QueryContext(ctx, `SELECT p.name FROM pipeline_dependencies d JOIN pipelines p ON p.id = d.pipeline_id
			WHERE d.upstream_id = $1 AND d.pipeline_id <> $1 AND p.deleted_at IS NULL ORDER BY LOWER(p.name)`, id)
		if err != nil {
			return s.mapErr(err, "delete pipeline")
		}
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				rows.Close()
				return s.mapErr(err, "delete pipeline")
			}
			deps = append(deps, n)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return s.mapErr(err, "delete pipeline")
		}
		if len(deps) > 0 {
			return &DependentsError{Pipeline: name, Dependents: deps}
		}
		res, err := tx.ExecContext(ctx, `UPDATE pipelines SET deleted_at = $1, updated_at = $1, updated_by = $2
			WHERE id = $3 AND deleted_at IS NULL`, now, actor, id)
		if err := affectedOne(s, res, err, "delete pipeline", "pipeline", id); err != nil {
			return err
		}
		for _, q := range []string{`DELETE FROM pipeline_dependencies WHERE pipeline_id = $1 OR upstream_id = $1`,
			`DELETE FROM pipeline_trigger_tokens WHERE pipeline_id = $1`} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return s.mapErr(err, "delete pipeline")
			}
		}
		return nil
	})
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

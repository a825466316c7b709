package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// This file holds what starts runs besides a person or a schedule: the webhook token of a pipeline
// and the "run after these pipelines succeed" edges (the spec's triggers.after).

// TriggerToken is a pipeline's webhook token. Only its hash is stored; Prefix is the non-secret
// beginning shown in the UI. A pipeline has at most one: creating one again replaces it.
type TriggerToken struct {
	PipelineID string
	Prefix     string
	TokenHash  string
	CreatedBy  string
	CreatedAt  time.Time
	LastUsedAt *time.Time
}

const triggerTokenCols = `pipeline_id, prefix, token_hash, created_by, created_at, last_used_at`

func scanTriggerToken(row scanner) (TriggerToken, error) {
	var t TriggerToken
	err := row.Scan(&t.PipelineID, &t.Prefix, &t.TokenHash, &t.CreatedBy, timeCol{&t.CreatedAt}, nullTimeCol{&t.LastUsedAt})
	return t, err
}

// PutTriggerToken stores the webhook token of a live pipeline, replacing the one it had (the old
// token stops working at once). ErrNotFound when the pipeline is not live.
func (s *Store) PutTriggerToken(ctx context.Context, t TriggerToken) (TriggerToken, error) {
	if t.PipelineID == "" || t.Prefix == "" || t.TokenHash == "" {
		return TriggerToken{}, fmt.Errorf("put trigger token: %w: pipeline, prefix and hash are required", ErrInvalid)
	}
	t.CreatedAt, t.LastUsedAt = s.nowUTC(), nil
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM pipelines WHERE id = $1 AND deleted_at IS NULL`, t.PipelineID).Scan(&n); err != nil {
			return s.mapErr(err, "put trigger token")
		}
		if n == 0 {
			return notFound("pipeline", t.PipelineID)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO pipeline_trigger_tokens (`+triggerTokenCols+`) VALUES ($1, $2, $3, $4, $5, NULL)
			ON CONFLICT (pipeline_id) DO UPDATE SET prefix = $2, token_hash = $3, created_by = $4, created_at = $5, last_used_at = NULL`,
			t.PipelineID, t.Prefix, t.TokenHash, noNUL(t.CreatedBy), s.ts(t.CreatedAt))
		return s.mapErr(err, "put trigger token")
	})
	if err != nil {
		return TriggerToken{}, err
	}
	return t, nil
}

// GetTriggerToken returns the webhook token of a live pipeline (ErrNotFound when it has none).
func (s *Store) GetTriggerToken(ctx context.Context, pipelineID string) (TriggerToken, error) {
	return getOne(ctx, s, "get trigger token", "trigger token of pipeline", pipelineID, scanTriggerToken,
		`SELECT t.pipeline_id, t.prefix, t.token_hash, t.created_by, t.created_at, t.last_used_at
		FROM pipeline_trigger_tokens t JOIN pipelines p ON p.id = t.pipeline_id
		WHERE t.pipeline_id = $1 AND p.deleted_at IS NULL`, pipelineID)
}

// DeleteTriggerToken revokes a pipeline's webhook token (ErrNotFound when it has none).
func (s *Store) DeleteTriggerToken(ctx context.Context, pipelineID string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM pipeline_trigger_tokens WHERE pipeline_id = $1`, pipelineID)
	return affectedOne(s, res, err, "delete trigger token", "trigger token of pipeline", pipelineID)
}

// TouchTriggerToken records that the token with hash was used at at (nothing when it was replaced
// meanwhile).
func (s *Store) TouchTriggerToken(ctx context.Context, pipelineID, hash string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE pipeline_trigger_tokens SET last_used_at = $1 WHERE pipeline_id = $2 AND token_hash = $3`,
		s.ts(at), pipelineID, hash)
	return s.mapErr(err, "touch trigger token")
}

// DependencyError refuses the triggers.after of a save: names that are no live pipeline, or a
// cycle. errors.Is(err, ErrInvalid) holds.
type DependencyError struct {
	// Unknown are the names that are no live pipeline, as written.
	Unknown []string
	// Cycle is the loop the save would close, by pipeline name, from the saved pipeline back to it
	// ("a", "b", "a": a runs after b, which runs after a).
	Cycle []string
}

func (e *DependencyError) Error() string {
	if len(e.Unknown) > 0 {
		q := make([]string, len(e.Unknown))
		for i, n := range e.Unknown {
			q[i] = fmt.Sprintf("%q", n)
		}
		return "triggers.after: no pipeline named " + strings.Join(q, ", ")
	}
	return "triggers.after: the pipelines would run after each other in a cycle: " + strings.Join(e.Cycle, " -> ")
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *DependencyError) Is(target error) bool { return target == ErrInvalid }

// DependentsError refuses to delete a pipeline that others run after. errors.Is(err, ErrConflict)
// holds.
type DependentsError struct {
	Pipeline   string
	Dependents []string // their names
}

func (e *DependentsError) Error() string {
	return fmt.Sprintf("pipeline %s cannot be deleted: %s run after it (triggers.after); remove it from their triggers first",
		e.Pipeline, strings.Join(e.Dependents, ", "))
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *DependentsError) Is(target error) bool { return target == ErrConflict }

// PipelineRef names a pipeline.
type PipelineRef struct {
	ID   string
	Name string
}

// lockDependencies serialises the writers of the dependency graph (PostgreSQL: an advisory lock
// held to the end of tx; SQLite has one writer at a time), so that two saves cannot each close
// half of a cycle.
func (s *Store) lockDependencies(ctx context.Context, tx *sql.Tx) error {
	if s.dialect != Postgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('aggregator_pipeline_dependencies'))`)
	return s.mapErr(err, "lock pipeline dependencies")
}

// setDependencies replaces the upstreams of pipeline id with the live pipelines named after
// (case-insensitive), refusing unknown names and cycles (*DependencyError).
func (s *Store) setDependencies(ctx context.Context, tx *sql.Tx, id string, after []string) error {
	if err := s.lockDependencies(ctx, tx); err != nil {
		return err
	}
	ups, err := s.resolveDependencies(ctx, tx, id, "", after)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM pipeline_dependencies WHERE pipeline_id = $1`, id); err != nil {
		return s.mapErr(err, "write pipeline dependencies")
	}
	for _, up := range ups {
		if _, err := tx.ExecContext(ctx, `INSERT INTO pipeline_dependencies (pipeline_id, upstream_id) VALUES ($1, $2)`, id, up); err != nil {
			return s.mapErr(err, "write pipeline dependencies")
		}
	}
	return nil
}

// CheckDependencies says whether a save of the pipeline selfID ("" for a new one) named selfName
// with triggers.after would be refused, and why (*DependencyError; nil when it would not), without
// writing anything: the editor's validation as the user types. The save checks again.
func (s *Store) CheckDependencies(ctx context.Context, selfID, selfName string, after []string) error {
	_, err := s.resolveDependencies(ctx, s.db, selfID, selfName, after)
	return err
}

// newPipelineID stands for a pipeline not saved yet in resolveDependencies.
const newPipelineID = "(new pipeline)"

// resolveDependencies resolves after to pipeline ids, refusing unknown names and cycles. selfName,
// when set, names the pipeline selfID ("": a new one) whatever the store holds.
func (s *Store) resolveDependencies(ctx context.Context, q execer, selfID, selfName string, after []string) ([]string, error) {
	if selfID == "" {
		selfID = newPipelineID
	}
	var unknown, ups []string
	for _, name := range after {
		var up string
		err := q.QueryRowContext(ctx, `SELECT id FROM pipelines WHERE LOWER(name) = LOWER($1) AND deleted_at IS NULL`, strings.TrimSpace(name)).Scan(&up)
		switch {
		case selfName != "" && strings.EqualFold(strings.TrimSpace(name), strings.TrimSpace(selfName)):
			up = selfID
		case errors.Is(err, sql.ErrNoRows):
			unknown = append(unknown, name)
			continue
		case err != nil:
			return nil, s.mapErr(err, "resolve triggers.after")
		}
		if !slices.Contains(ups, up) {
			ups = append(ups, up)
		}
	}
	if len(unknown) > 0 {
		return nil, &DependencyError{Unknown: unknown}
	}
	if len(ups) == 0 {
		return nil, nil
	}
	edges := map[string][]string{selfID: ups}
	rows, err := q.QueryContext(ctx, `SELECT pipeline_id, upstream_id FROM pipeline_dependencies WHERE pipeline_id <> $1`, selfID)
	if err != nil {
		return nil, s.mapErr(err, "read pipeline dependencies")
	}
	for rows.Next() {
		var p, u string
		if err := rows.Scan(&p, &u); err != nil {
			rows.Close()
			return nil, s.mapErr(err, "read pipeline dependencies")
		}
		edges[p] = append(edges[p], u)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, s.mapErr(err, "read pipeline dependencies")
	}
	path := findCycle(edges, selfID)
	if path == nil {
		return ups, nil
	}
	names := make([]string, len(path))
	for i, pid := range path {
		switch {
		case pid == selfID && selfName != "":
			names[i] = selfName
		case q.QueryRowContext(ctx, `SELECT name FROM pipelines WHERE id = $1`, pid).Scan(&names[i]) != nil:
			names[i] = pid
		}
	}
	return nil, &DependencyError{Cycle: names}
}

// findCycle returns a path start -> ... -> start along edges (pipeline -> its upstreams), or nil.
// Depth first, upstreams in the order given, so the path is the same for the same graph.
func findCycle(edges map[string][]string, start string) []string {
	seen := map[string]bool{}
	var path []string
	var walk func(n string) bool
	walk = func(n string) bool {
		path = append(path, n)
		for _, u := range edges[n] {
			if u == start {
				path = append(path, u)
				return true
			}
			if !seen[u] {
				seen[u] = true
				if walk(u) {
					return true
				}
			}
		}
		path = path[:len(path)-1]
		return false
	}
	if walk(start) {
		return path
	}
	return nil
}

// ListUpstreams returns the live pipelines a pipeline runs after, by name.
func (s *Store) ListUpstreams(ctx context.Context, pipelineID string) ([]PipelineRef, error) {
	return queryAll(ctx, s, "list upstream pipelines", `SELECT p.id, p.name FROM pipeline_dependencies d
		JOIN pipelines p ON p.id = d.upstream_id WHERE d.pipeline_id = $1 AND p.deleted_at IS NULL ORDER BY LOWER(p.name)`,
		[]any{pipelineID}, scanRef)
}

// ListDependents returns the live pipelines that run after a pipeline succeeds, by name.
func (s *Store) ListDependents(ctx context.Context, pipelineID string) ([]PipelineRef, error) {
	return queryAll(ctx, s, "list dependent pipelines", `SELECT p.id, p.name FROM pipeline_dependencies d
		JOIN pipelines p ON p.id = d.pipeline_id WHERE d.upstream_id = $1 AND p.deleted_at IS NULL ORDER BY LOWER(p.name)`,
		[]any{pipelineID}, scanRef)
}

func scanRef(row scanner) (PipelineRef, error) {
	var r PipelineRef
	err := row.Scan(&r.ID, &r.Name)
	return r, err
}

// FinishRun is Store.FinishRun in the transaction.
func (t *Tx) FinishRun(ctx context.Context, id string, from []RunStatus, fin RunFinish) (Run, error) {
	return t.s.FinishRun(ctx, id, from, fin)
}

// ListDependents is Store.ListDependents in the transaction.
func (t *Tx) ListDependents(ctx context.Context, pipelineID string) ([]PipelineRef, error) {
	return t.s.ListDependents(ctx, pipelineID)
}

// GetPipeline is Store.GetPipeline in the transaction.
func (t *Tx) GetPipeline(ctx context.Context, id string) (Pipeline, error) {
	return t.s.GetPipeline(ctx, id)
}

// GetPipelineVersion is Store.GetPipelineVersion in the transaction.
func (t *Tx) GetPipelineVersion(ctx context.Context, pipelineID string, version int) (PipelineVersion, error) {
	return t.s.GetPipelineVersion(ctx, pipelineID, version)
}

// CountActiveRuns is Store.CountActiveRuns in the transaction.
func (t *Tx) CountActiveRuns(ctx context.Context, pipelineID string) (queued, running int, err error) {
	return t.s.CountActiveRuns(ctx, pipelineID)
}

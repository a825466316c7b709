package api

import (
	"context"
	"net/http"
	"time"

	"github.com/dataaggregator/aggregator/internal/store"
)

// buildInfo says which build of the binary answers.
type buildInfo struct{ Version, Commit, Date string }

type healthOutput struct {
	Body struct {
		Status  string `json:"status" example:"ok" doc:"ok when the check passed"`
		Version string `json:"version" example:"v1.4.0" doc:"Release version of the binary (dev for a local build)"`
		Commit  string `json:"commit,omitempty" example:"3f2c1e9a0b7d" doc:"Source commit of a release build"`
		Date    string `json:"date,omitempty" example:"2026-12-06T07:00:00Z" doc:"Commit time of a release build (UTC)"`
	}
}

type readyOutput struct {
	Body struct {
		Status        string `json:"status" example:"ready"`
		Database      string `json:"database" doc:"sqlite or postgres"`
		SchemaVersion int64  `json:"schema_version"`
	}
}

// healthz answers as long as the process serves HTTP.
func (s *Server) healthz(context.Context, *struct{}) (*healthOutput, error) {
	out := &healthOutput{}
	out.Body.Status = "ok"
	out.Body.Version, out.Body.Commit, out.Body.Date = s.build.Version, s.build.Commit, s.build.Date
	return out, nil
}

// readyz answers 200 when the store is reachable and its schema is current,
// 503 otherwise (with the reason, which names no secret).
func (s *Server) readyz(ctx context.Context, _ *struct{}) (*readyOutput, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.log.WarnContext(ctx, "readiness: store unreachable", "error", err)
		return nil, newProblem(http.StatusServiceUnavailable, "metadata store unreachable")
	}
	st, err := s.store.Status(ctx)
	if err != nil {
		s.log.WarnContext(ctx, "readiness: migration status", "error", err)
		return nil, newProblem(http.StatusServiceUnavailable, "cannot read the schema version")
	}
	if !st.UpToDate() {
		return nil, newProblem(http.StatusServiceUnavailable, store.ErrPendingMigrations.Error())
	}
	out := &readyOutput{}
	out.Body.Status = "ready"
	out.Body.Database = string(s.store.Dialect())
	out.Body.SchemaVersion = st.Current
	return out, nil
}

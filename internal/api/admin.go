package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/dataaggregator/aggregator/internal/retention"
)

// Administration: retention settings and the clean-up (internal/retention).

// RetentionSettings are how long each kind of data is kept, each a whole number of days or hours
// ("90d", "36h"), from 1h to 3650d.
type RetentionSettings struct {
	Runs          string `json:"runs" maxLength:"16" example:"90d" doc:"Finished runs (succeeded, failed, cancelled) are deleted this long after they finished, with their log lines, checkpoint and dead letters"`
	DeadLetters   string `json:"dead_letters" maxLength:"16" example:"30d" doc:"A finished run's dead letters are deleted this long after they were written (the run stays)"`
	ServerLogs    string `json:"server_logs" maxLength:"16" example:"30d" doc:"Server log lines that belong to no run are deleted this long after they were written"`
	Uploads       string `json:"uploads" maxLength:"16" example:"7d" doc:"An uploaded file that no saved pipeline (any version), connector or transformation refers to is deleted this long after it was uploaded"`
	StagedOutputs string `json:"staged_outputs" maxLength:"16" example:"1d" doc:"Files a file destination staged under DATA_DIR/files for a run that is no longer queued or running are deleted this long after they were last written"`
	Metrics1m     string `json:"metrics_1m,omitempty" maxLength:"16" example:"30d" doc:"1-minute points of the metrics history are deleted this long after their minute (left out: unchanged)"`
	Metrics1h     string `json:"metrics_1h,omitempty" maxLength:"16" example:"365d" doc:"1-hour points of the metrics history are deleted this long after their hour (left out: unchanged)"`
	Metrics1d     string `json:"metrics_1d,omitempty" maxLength:"16" example:"1825d" doc:"1-day points of the metrics history, and the figures of each finished run, are deleted this long after their day (left out: unchanged)"`
}

func toRetentionDTO(s retention.Settings) RetentionSettings {
	p := s.Periods()
	return RetentionSettings{Runs: p["runs"], DeadLetters: p["dead_letters"], ServerLogs: p["server_logs"],
		Uploads: p["uploads"], StagedOutputs: p["staged_outputs"], Metrics1m: p["metrics_1m"], Metrics1h: p["metrics_1h"], Metrics1d: p["metrics_1d"]}
}

// RetentionSettingsView are the settings in force with the defaults and who saved them.
type RetentionSettingsView struct {
	Settings  RetentionSettings `json:"settings" doc:"The settings in force"`
	Defaults  RetentionSettings `json:"defaults" doc:"What applies until an administrator saves other values"`
	UpdatedBy string            `json:"updated_by" doc:"Who saved them last (empty: never saved, the defaults apply)"`
	UpdatedAt *time.Time        `json:"updated_at,omitempty"`
	// CleanupInterval is how often the periodic clean-up runs.
	CleanupInterval string `json:"cleanup_interval" example:"1h" doc:"How often the clean-up runs by itself"`
}

func toRetentionView(st retention.Stored) RetentionSettingsView {
	v := RetentionSettingsView{Settings: toRetentionDTO(st.Settings), Defaults: toRetentionDTO(retention.Defaults()),
		UpdatedBy: st.UpdatedBy, CleanupInterval: retention.FormatPeriod(retention.Interval)}
	if !st.UpdatedAt.IsZero() {
		t := st.UpdatedAt
		v.UpdatedAt = &t
	}
	return v
}

type retentionOutput struct {
	Body RetentionSettingsView
}

func (s *Server) getRetention(ctx context.Context, _ *struct{}) (*retentionOutput, error) {
	st, err := s.retention.Settings(ctx)
	if err != nil {
		return nil, err
	}
	return &retentionOutput{Body: toRetentionView(st)}, nil
}

type putRetentionInput struct {
	Body RetentionSettings
}

func (s *Server) putRetention(ctx context.Context, in *putRetentionInput) (*retentionOutput, error) {
	infoFrom(ctx).setTarget("settings", retention.SettingsKey)
	b := in.Body
	p := retention.Periods{"runs": b.Runs, "dead_letters": b.DeadLetters, "server_logs": b.ServerLogs, "uploads": b.Uploads,
		"staged_outputs": b.StagedOutputs}
	for name, v := range map[string]string{"metrics_1m": b.Metrics1m, "metrics_1h": b.Metrics1h, "metrics_1d": b.Metrics1d} {
		if v != "" {
			p[name] = v
		}
	}
	cur, err := s.retention.Settings(ctx) // what the body leaves out stays as it is
	if err != nil {
		return nil, err
	}
	set, err := retention.ParseSettings(p, cur.Settings)
	if err != nil {
		return nil, retentionError(err)
	}
	st, err := s.retention.Save(ctx, set, principalFrom(ctx).Username)
	if err != nil {
		return nil, retentionError(err)
	}
	infoFrom(ctx).setExtra("settings", set.Periods())
	return &retentionOutput{Body: toRetentionView(st)}, nil
}

// retentionError turns settings problems into a 422 naming each field (body.<field>).
func retentionError(err error) error {
	var errs retention.Errors
	if !errors.As(err, &errs) {
		return err
	}
	fields := make([]*huma.ErrorDetail, len(errs))
	for i, e := range errs {
		fields[i] = fieldError("body."+e.Field, e.Message, nil)
	}
	return newProblem(http.StatusUnprocessableEntity, "invalid retention settings: "+errs.Error(), fields...)
}

// CleanupReport is what a clean-up removed.
type CleanupReport struct {
	RefreshTokens int       `json:"refresh_tokens" doc:"Expired refresh tokens"`
	Runs          int       `json:"runs" doc:"Finished runs past their retention"`
	RunLogs       int       `json:"run_logs" doc:"Log lines of those runs"`
	DeadLetters   int       `json:"dead_letters" doc:"Dead letters of those runs, and old dead letters of kept runs"`
	ServerLogs    int       `json:"server_logs" doc:"Server log lines that belong to no run"`
	Uploads       int       `json:"uploads" doc:"Unreferenced uploads and stray files in DATA_DIR/uploads"`
	UploadBytes   int64     `json:"upload_bytes"`
	StagedFiles   int       `json:"staged_files" doc:"Staged files of abandoned runs under DATA_DIR/files"`
	StagedBytes   int64     `json:"staged_bytes"`
	MetricPoints  int       `json:"metric_points" doc:"Metrics history points past their bucket size's retention"`
	MetricRuns    int       `json:"metric_runs" doc:"Figures of runs past the 1-day metrics retention"`
	Total         int       `json:"total" doc:"Everything removed"`
	StartedAt     time.Time `json:"started_at"`
	DurationMS    int64     `json:"duration_ms"`
}

type cleanupOutput struct {
	Body CleanupReport
}

func (s *Server) runCleanup(ctx context.Context, _ *struct{}) (*cleanupOutput, error) {
	infoFrom(ctx).setTarget("retention", "")
	rep, err := s.retention.Clean(ctx)
	infoFrom(ctx).setExtra("trigger", "manual")
	infoFrom(ctx).setExtra("removed", rep)
	infoFrom(ctx).setExtra("duration_ms", rep.Duration.Milliseconds())
	if err != nil {
		return nil, err
	}
	return &cleanupOutput{Body: CleanupReport{RefreshTokens: rep.RefreshTokens, Runs: rep.Runs, RunLogs: rep.RunLogs,
		DeadLetters: rep.DeadLetters, ServerLogs: rep.ServerLogs, Uploads: rep.Uploads, UploadBytes: rep.UploadBytes,
		StagedFiles: rep.StagedFiles, StagedBytes: rep.StagedBytes, MetricPoints: rep.MetricPoints, MetricRuns: rep.MetricRuns, Total: rep.Total(), StartedAt: rep.StartedAt,
		DurationMS: rep.Duration.Milliseconds()}}, nil
}

package retention_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/uuid"

	"github.com/dataaggregator/aggregator/internal/retention"
	"github.com/dataaggregator/aggregator/internal/store"
	"github.com/dataaggregator/aggregator/internal/store/storetest"
	"github.com/dataaggregator/aggregator/internal/testutil"
)

var ctx = context.Background()

const day = 24 * time.Hour

// clock is a settable test clock shared by the store and the service.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

type fixture struct {
	st      *store.Store
	clock   *clock
	svc     *retention.Service
	uploads string
	outputs string
}

// setup opens a migrated store (SQLite, or an isolated PostgreSQL schema) and a service with a
// batch size of 2, so that every step needs several batches.
func setup(t *testing.T, postgres bool) *fixture {
	t.Helper()
	c := &clock{t: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	opts := store.Options{Dialect: store.SQLite, DSN: filepath.Join(t.TempDir(), "aggregator.db"), Now: c.Now}
	if postgres {
		opts = store.Options{Dialect: store.Postgres, DSN: testutil.Postgres(t).URL, Now: c.Now, MaxOpenConns: 4}
	}
	st := storetest.Open(t, opts)
	dir := t.TempDir()
	f := &fixture{st: st, clock: c, uploads: filepath.Join(dir, "uploads"), outputs: filepath.Join(dir, "files")}
	for _, d := range []string{f.uploads, filepath.Join(f.outputs, "sub")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	f.svc, err = retention.New(retention.Options{Store: st, UploadDir: f.uploads, OutputDir: f.outputs, Clock: c.Now, BatchSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func eachBackend(t *testing.T, fn func(t *testing.T, f *fixture)) {
	for _, pg := range []bool{false, true} {
		name := "sqlite"
		if pg {
			name = "postgres"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, setup(t, pg))
		})
	}
}

// must(f())(t) returns f's value, failing the test on f's error.
func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// run creates a run of p and takes it to status (queued, running or a final state), with two log
// lines and two dead letters when it ran.
func (f *fixture) run(t *testing.T, p store.Pipeline, status store.RunStatus, replayOf string) store.Run {
	t.Helper()
	r := must(f.st.CreateRun(ctx, store.Run{PipelineID: p.ID, PipelineVersion: 1, ReplayOf: replayOf}))(t)
	if status == store.RunQueued {
		return r
	}
	r = must(f.st.ClaimRun(ctx, r.ID, "w1"))(t)
	if err := f.st.AppendLogs(ctx, []store.LogEntry{{Level: "info", Message: "a", RunID: r.ID}, {Level: "info", Message: "b", RunID: r.ID}}); err != nil {
		t.Fatal(err)
	}
	if err := f.st.AddDeadLetters(ctx, []store.DeadLetter{{RunID: r.ID, Reason: "bad"}, {RunID: r.ID, Reason: "worse"}}); err != nil {
		t.Fatal(err)
	}
	if status == store.RunRunning {
		return r
	}
	return must(f.st.FinishRun(ctx, r.ID, []store.RunStatus{store.RunRunning}, store.RunFinish{Status: status}))(t)
}

func (f *fixture) file(t *testing.T, path string, age time.Duration) {
	t.Helper()
	if err := os.WriteFile(path, []byte("0123456789"), 0o600); err != nil {
		t.Fatal(err)
	}
	at := f.clock.Now().Add(-age)
	if err := os.Chtimes(path, at, at); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) upload(t *testing.T, id string) {
	t.Helper()
	path := filepath.Join(f.uploads, id)
	f.file(t, path, 0)
	must(f.st.CreateUploadedFile(ctx, store.UploadedFile{ID: id, OriginalName: "x.csv", StoredPath: path, Size: 10, SHA256: "h"}))(t)
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

func TestCleanRemovesWhatIsPastRetentionAndNothingElse(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, f *fixture) {
		t0 := f.clock.Now()
		referenced, unreferenced, fresh := uuid.NewString(), uuid.NewString(), uuid.NewString()
		f.upload(t, referenced)
		f.upload(t, unreferenced)
		p := must(f.st.CreatePipeline(ctx, store.Pipeline{Name: "p", Spec: "sources: [{config: {upload: " + referenced + "}}]"}))(t)

		// At t0: five runs that will be past retention, one replayed by a queued replay, one
		// queued and one running run (never touched whatever their age).
		var old []store.Run
		for _, st := range []store.RunStatus{store.RunSucceeded, store.RunFailed, store.RunCancelled, store.RunSucceeded, store.RunFailed} {
			old = append(old, f.run(t, p, st, ""))
		}
		// Two of them were started by schedule ticks; the later tick is the pipeline's latest.
		for i, r := range old[:2] {
			if err := f.st.InTx(ctx, func(tx *store.Tx) error {
				_, err := tx.ClaimScheduleTick(ctx, store.ScheduleTick{PipelineID: p.ID, Tick: t0.Add(time.Duration(i) * time.Minute), RunID: r.ID})
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
		replayed := f.run(t, p, store.RunFailed, "")
		queued := f.run(t, p, store.RunQueued, "")
		running := f.run(t, p, store.RunRunning, "")
		replay := f.run(t, p, store.RunQueued, replayed.ID)
		if err := f.st.AppendLogs(ctx, []store.LogEntry{{Level: "info", Message: "old server line"}}); err != nil {
			t.Fatal(err)
		}
		u := must(f.st.CreateUser(ctx, store.User{Username: "u", Email: "u@example.com", PasswordHash: "h", Role: "admin", Active: true}))(t)
		must(f.st.CreateRefreshToken(ctx, store.RefreshToken{UserID: u.ID, FamilyID: "f1", TokenHash: "expired", ExpiresAt: t0.Add(day)}))(t)

		// At t0 + 60 days: a run finished then (its dead letters are 0 days old then, 40 days old
		// at the clean-up); a refresh token valid past the clean-up; a recent server line.
		f.clock.Set(t0.Add(60 * day))
		kept := f.run(t, p, store.RunSucceeded, "")
		must(f.st.CreateRefreshToken(ctx, store.RefreshToken{UserID: u.ID, FamilyID: "f2", TokenHash: "valid", ExpiresAt: t0.Add(200 * day)}))(t)

		// The clean-up at t0 + 100 days.
		now := t0.Add(100 * day)
		f.clock.Set(now)
		f.upload(t, fresh) // uploaded just now, not referenced: kept
		if err := f.st.AppendLogs(ctx, []store.LogEntry{{Level: "info", Message: "new server line"}}); err != nil {
			t.Fatal(err)
		}
		// Files: the uploads were written at t0 and t0 + 100 days (their records say so too).
		for _, id := range []string{referenced, unreferenced} {
			if err := os.Chtimes(filepath.Join(f.uploads, id), t0, t0); err != nil {
				t.Fatal(err)
			}
		}
		stray, partial, notes := filepath.Join(f.uploads, uuid.NewString()), filepath.Join(f.uploads, ".upload-123.part"), filepath.Join(f.uploads, "notes.txt")
		freshPartial := filepath.Join(f.uploads, ".upload-456.part")
		f.file(t, stray, 8*day)
		f.file(t, partial, 8*day)
		f.file(t, notes, 80*day)
		f.file(t, freshPartial, time.Hour)
		sub := filepath.Join(f.outputs, "sub")
		stagedFinished := filepath.Join(sub, ".out.csv."+old[0].ID+".tmp")
		stagedFinishedCommit := filepath.Join(sub, ".out.csv."+old[0].ID+".commit")
		stagedRunning := filepath.Join(f.outputs, ".out.csv."+running.ID+".commit")
		stagedUnknown := filepath.Join(f.outputs, ".orders.json."+uuid.NewString()+".commit.new")
		stagedRecent := filepath.Join(f.outputs, ".orders.json."+uuid.NewString()+".tmp")
		notStaged := filepath.Join(f.outputs, ".out.csv.not-a-run.tmp")
		f.file(t, stagedFinished, 2*day)
		f.file(t, stagedFinishedCommit, 2*day)
		f.file(t, stagedRunning, 50*day)
		f.file(t, stagedUnknown, 2*day)
		f.file(t, stagedRecent, time.Hour)
		f.file(t, notStaged, 50*day)

		rep, err := f.svc.Clean(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := retention.Report{
			RefreshTokens: 1,
			Runs:          5, RunLogs: 10,
			// Ten of the deleted runs, and the recent run's two (40 days old, 30 days kept); the
			// running run's stay, and so do the replayed run's, which its queued replay reads.
			DeadLetters: 10 + 2,
			ServerLogs:  1,
			Uploads:     3, UploadBytes: 30,
			StagedFiles: 3, StagedBytes: 30,
		}
		if diff := cmp.Diff(want, rep, cmpopts.IgnoreFields(retention.Report{}, "StartedAt", "Duration")); diff != "" {
			t.Fatalf("report (-want +got):\n%s", diff)
		}
		for _, r := range old {
			if _, err := f.st.GetRun(ctx, r.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("old run %s: %v, want deleted", r.Status, err)
			}
			if _, total, _ := f.st.ListLogs(ctx, store.LogFilter{RunID: r.ID}); total != 0 {
				t.Errorf("old run %s keeps %d log lines", r.Status, total)
			}
		}
		for name, r := range map[string]store.Run{"replayed": replayed, "queued": queued, "running": running, "replay": replay, "recent": kept} {
			if _, err := f.st.GetRun(ctx, r.ID); err != nil {
				t.Errorf("%s run: %v, want kept", name, err)
			}
		}
		// The older tick record went with its run; the latest stays for the scheduler's exactly-once check.
		if ticks := must(f.st.ListScheduleTicks(ctx, p.ID))(t); len(ticks) != 1 || ticks[0].RunID != old[1].ID {
			t.Errorf("schedule ticks after the clean-up = %+v, want only the latest", ticks)
		}
		if _, total, _ := f.st.ListLogs(ctx, store.LogFilter{RunID: running.ID}); total != 2 {
			t.Errorf("running run has %d log lines, want 2", total)
		}
		if n, _ := f.st.CountDeadLetters(ctx, running.ID); n != 2 {
			t.Errorf("running run has %d dead letters, want 2", n)
		}
		if n, _ := f.st.CountDeadLetters(ctx, kept.ID); n != 0 {
			t.Errorf("recent run has %d dead letters (40 days old), want 0", n)
		}
		if _, total, _ := f.st.ListLogs(ctx, store.LogFilter{RunID: kept.ID}); total != 2 {
			t.Errorf("recent run has %d log lines, want 2", total)
		}
		if _, err := f.st.GetRefreshTokenByHash(ctx, "valid"); err != nil {
			t.Errorf("valid refresh token: %v", err)
		}
		if _, err := f.st.GetRefreshTokenByHash(ctx, "expired"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("expired refresh token: %v, want deleted", err)
		}
		for path, keep := range map[string]bool{
			filepath.Join(f.uploads, referenced): true, filepath.Join(f.uploads, unreferenced): false,
			filepath.Join(f.uploads, fresh): true, stray: false, partial: false, notes: true, freshPartial: true,
			stagedFinished: false, stagedFinishedCommit: false, stagedRunning: true, stagedUnknown: false,
			stagedRecent: true, notStaged: true,
		} {
			if exists(path) != keep {
				t.Errorf("%s: exists %v, want %v", filepath.Base(path), !keep, keep)
			}
		}
		if _, err := f.st.GetUploadedFile(ctx, unreferenced); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unreferenced upload record: %v, want deleted", err)
		}

		// A second clean-up finds nothing more.
		again, err := f.svc.Clean(ctx)
		if err != nil || again.Total() != 0 {
			t.Fatalf("second clean-up removed %+v (%v), want nothing", again, err)
		}
		// When the replay finishes, the replayed run goes too.
		must(f.st.RequestCancel(ctx, replay.ID))(t)
		rep, err = f.svc.Clean(ctx)
		if err != nil || rep.Runs != 1 {
			t.Fatalf("after the replay finished: %+v (%v), want the replayed run deleted", rep, err)
		}
	})
}

func TestSettingsDefaultsSaveAndAudit(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, f *fixture) {
		got := must(f.svc.Settings(ctx))(t)
		if got.Settings != retention.Defaults() || !got.UpdatedAt.IsZero() {
			t.Fatalf("fresh settings = %+v, want the defaults", got)
		}
		set := retention.Defaults()
		set.Runs = 7 * day
		set.StagedOutputs = 6 * time.Hour
		must(f.svc.Save(ctx, set, "admin"))(t)
		got = must(f.svc.Settings(ctx))(t)
		if got.Settings != set || got.UpdatedBy != "admin" || got.UpdatedAt.IsZero() {
			t.Fatalf("saved settings read back as %+v, want %+v by admin", got, set)
		}
		bad := set
		bad.Uploads = 30 * time.Minute
		var errs retention.Errors
		if _, err := f.svc.Save(ctx, bad, "admin"); !errors.As(err, &errs) || errs[0].Field != "uploads" {
			t.Fatalf("Save(uploads 30m) = %v, want an error naming uploads", err)
		}

		// A periodic clean-up (now with a 7-day run retention) is audited with its counts.
		p := must(f.st.CreatePipeline(ctx, store.Pipeline{Name: "p", Spec: "x"}))(t)
		f.run(t, p, store.RunSucceeded, "")
		f.clock.Set(f.clock.Now().Add(8 * day))
		if err := f.svc.RunScheduled(ctx); err != nil {
			t.Fatal(err)
		}
		entries, _ := must2(f.st.ListAudit(ctx, store.AuditFilter{Action: retention.AuditAction}))(t)
		if len(entries) != 1 || entries[0].ActorName != "system" || entries[0].Result != "success" {
			t.Fatalf("audit entries = %+v, want one success by system", entries)
		}
		var details struct {
			Trigger string           `json:"trigger"`
			Removed retention.Report `json:"removed"`
		}
		if err := json.Unmarshal(entries[0].Details, &details); err != nil {
			t.Fatal(err)
		}
		if details.Trigger != "schedule" || details.Removed.Runs != 1 || details.Removed.RunLogs != 2 || details.Removed.DeadLetters != 2 {
			t.Fatalf("audit details = %s", entries[0].Details)
		}
	})
}

func must2[A, B any](a A, b B, err error) func(t *testing.T) (A, B) {
	return func(t *testing.T) (A, B) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return a, b
	}
}

func TestParseSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      retention.Periods
		want    retention.Settings
		wantErr map[string]string // field -> part of the message
	}{
		{"empty keeps the base", retention.Periods{}, retention.Defaults(), nil},
		{"days and hours", retention.Periods{"runs": "30d", "staged_outputs": " 12H "}, func() retention.Settings {
			s := retention.Defaults()
			s.Runs, s.StagedOutputs = 30*day, 12*time.Hour
			return s
		}(), nil},
		{"not a period", retention.Periods{"runs": "90 days", "uploads": "1.5d"}, retention.Settings{},
			map[string]string{"runs": `"90 days" is not a period`, "uploads": "such as 90d or 36h"}},
		{"zero and negative", retention.Periods{"dead_letters": "0d", "server_logs": "-1d"}, retention.Settings{},
			map[string]string{"dead_letters": "at least 1h", "server_logs": "not a period"}},
		{"too long", retention.Periods{"runs": "3651d"}, retention.Settings{}, map[string]string{"runs": "at most 3650d"}},
		{"unknown field", retention.Periods{"runz": "1d"}, retention.Settings{}, map[string]string{"runz": "unknown setting"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := retention.ParseSettings(tt.in, retention.Defaults())
			if tt.wantErr == nil {
				if err != nil || got != tt.want {
					t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
				}
				return
			}
			var errs retention.Errors
			if !errors.As(err, &errs) || len(errs) != len(tt.wantErr) {
				t.Fatalf("error %v, want one per field of %v", err, tt.wantErr)
			}
			for _, e := range errs {
				if want, ok := tt.wantErr[e.Field]; !ok || !strings.Contains(e.Message, want) {
					t.Errorf("%s: %q, want it to contain %q", e.Field, e.Message, want)
				}
			}
		})
	}
	for d, text := range map[time.Duration]string{90 * day: "90d", 36 * time.Hour: "36h", day: "1d", time.Hour: "1h"} {
		if got := retention.FormatPeriod(d); got != text {
			t.Errorf("FormatPeriod(%v) = %q, want %q", d, got, text)
		}
		if back, err := retention.ParsePeriod(text); err != nil || back != d {
			t.Errorf("ParsePeriod(%q) = %v, %v", text, back, err)
		}
	}
}

// The metrics history is cleaned per bucket size: 1-minute points after Metrics1m, 1-hour points
// after Metrics1h, 1-day points and run figures after Metrics1d.
func TestCleanMetricsPerBucketSize(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, f *fixture) {
		now := f.clock.Now()
		ago := func(d time.Duration) time.Time { return now.Add(-d) }
		var points []store.MetricPoint
		for _, age := range []time.Duration{time.Hour, 40 * day, 400 * day, 2000 * day} {
			points = append(points, store.MetricPoint{PipelineID: "p", Bucket: ago(age), RowsIn: 1})
		}
		oldStart, newStart := ago(2000*day), ago(10*day)
		if err := f.st.AddMetrics(ctx, store.MetricBatch{Points: points, Runs: []store.MetricRun{
			{RunID: "old", PipelineID: "p", Status: store.RunSucceeded, StartedAt: &oldStart, FinishedAt: oldStart},
			{RunID: "new", PipelineID: "p", Status: store.RunSucceeded, StartedAt: &newStart, FinishedAt: newStart},
		}}); err != nil {
			t.Fatal(err)
		}
		rep, err := f.svc.Clean(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// Defaults 30d / 365d / 1825d: 1m loses 3 points, 1h 2 points, 1d 1 point; 1 run figure.
		if rep.MetricPoints != 6 || rep.MetricRuns != 1 {
			t.Errorf("removed %d points and %d run figures, want 6 and 1", rep.MetricPoints, rep.MetricRuns)
		}
		count := func(step int64) int {
			vs := must(f.st.MetricSeries(ctx, store.MetricSeriesQuery{Column: store.MetricRowsIn, Step: step, From: ago(3000 * day), To: now.Add(time.Hour),
				PerPipeline: true}))(t)
			return len(vs)
		}
		if got := []int{count(60), count(3600), count(86400)}; !cmp.Equal(got, []int{1, 2, 3}) {
			t.Errorf("points left per 1m/1h/1d = %v, want [1 2 3]", got)
		}
		figs := must(f.st.PipelineRunFigures(ctx, ago(3000*day), now))(t)
		if figs["p"].Runs != 1 {
			t.Errorf("run figures left: %+v, want the recent run only", figs["p"])
		}
		// Shorter periods saved by an administrator apply at the next clean-up.
		set := retention.Defaults()
		set.Metrics1h, set.Metrics1d = 30*day, 100*day
		if _, err := f.svc.Save(ctx, set, "admin"); err != nil {
			t.Fatal(err)
		}
		if rep, err := f.svc.Clean(ctx); err != nil || rep.MetricPoints != 2 || rep.MetricRuns != 0 {
			t.Errorf("second clean-up: %+v (%v), want 2 points (the 40-day hour, the 400-day day)", rep, err)
		}
		if got := []int{count(60), count(3600), count(86400)}; !cmp.Equal(got, []int{1, 1, 2}) {
			t.Errorf("points left after shorter periods = %v, want [1 1 2]", got)
		}
	})
}

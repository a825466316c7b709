package retention

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/dataaggregator/aggregator/internal/store"
)

// Store is what the clean-up needs from the metadata store (*store.Store implements it).
type Store interface {
	GetSetting(ctx context.Context, key string) (store.Setting, error)
	PutSetting(ctx context.Context, key string, value json.RawMessage, by string) (store.Setting, error)
	DeleteExpiredRefreshTokensBatch(ctx context.Context, cutoff time.Time, limit int) (int, error)
	DeleteFinishedRuns(ctx context.Context, cutoff time.Time, limit int) (store.PurgedRuns, error)
	DeleteDeadLettersBefore(ctx context.Context, cutoff time.Time, limit int) (int, error)
	DeleteServerLogsBefore(ctx context.Context, cutoff time.Time, limit int) (int, error)
	DeleteMetricPointsBefore(ctx context.Context, step int64, cutoff time.Time, limit int) (int, error)
	DeleteMetricRunsBefore(ctx context.Context, cutoff time.Time, limit int) (int, error)
	UploadedFilesBefore(ctx context.Context, cutoff time.Time, afterID string, limit int) ([]store.UploadedFile, error)
	UploadReferenced(ctx context.Context, id string) (bool, error)
	GetUploadedFile(ctx context.Context, id string) (store.UploadedFile, error)
	DeleteUploadedFile(ctx context.Context, id string) error
	GetRun(ctx context.Context, id string) (store.Run, error)
	AppendAudit(ctx context.Context, a store.AuditEntry) (store.AuditEntry, error)
}

var _ Store = (*store.Store)(nil)

// Interval is how often the periodic clean-up runs.
const Interval = time.Hour

// DefaultBatchSize is the most rows one delete statement removes.
const DefaultBatchSize = 500

// AuditAction is the audit action of every clean-up.
const AuditAction = "retention.cleanup"

// Options configure a Service.
type Options struct {
	Store Store
	// UploadDir is DATA_DIR/uploads ("": uploads are not swept).
	UploadDir string
	// OutputDir is DATA_DIR/files, where the server's file destinations write and stage ("": not swept).
	OutputDir string
	// Clock; time.Now when nil.
	Clock func() time.Time
	// Logger; discarded when nil.
	Logger *slog.Logger
	// BatchSize bounds each delete statement (DefaultBatchSize when 0).
	BatchSize int
}

// Service holds the retention settings and runs the clean-up. Build it with New; it is safe for
// concurrent use.
type Service struct {
	opts Options
	log  *slog.Logger
}

// New builds the service.
func New(opts Options) (*Service, error) {
	if opts.Store == nil {
		return nil, errors.New("retention: Options.Store is required")
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatchSize
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{opts: opts, log: log}, nil
}

// Stored are the settings in force with who saved them last (UpdatedAt zero: the defaults).
type Stored struct {
	Settings  Settings
	UpdatedBy string
	UpdatedAt time.Time
}

// Settings returns the settings in force: the saved ones, the defaults for what was never saved.
func (s *Service) Settings(ctx context.Context) (Stored, error) {
	st, err := s.opts.Store.GetSetting(ctx, SettingsKey)
	if errors.Is(err, store.ErrNotFound) {
		return Stored{Settings: Defaults()}, nil
	}
	if err != nil {
		return Stored{}, fmt.Errorf("retention settings: %w", err)
	}
	set, err := decodeStored(st.Value)
	if err != nil {
		s.log.WarnContext(ctx, "retention settings", "error", err)
	}
	return Stored{Settings: set, UpdatedBy: st.UpdatedBy, UpdatedAt: st.UpdatedAt}, nil
}

// Save validates and stores the settings (the error is Errors, each naming its field).
func (s *Service) Save(ctx context.Context, set Settings, by string) (Stored, error) {
	if err := set.Validate(); err != nil {
		return Stored{}, err
	}
	raw, err := json.Marshal(set.Periods())
	if err != nil {
		return Stored{}, err
	}
	st, err := s.opts.Store.PutSetting(ctx, SettingsKey, raw, by)
	if err != nil {
		return Stored{}, fmt.Errorf("save retention settings: %w", err)
	}
	return Stored{Settings: set, UpdatedBy: st.UpdatedBy, UpdatedAt: st.UpdatedAt}, nil
}

// Report is what one clean-up removed.
type Report struct {
	RefreshTokens int   `json:"refresh_tokens"` // expired refresh tokens
	Runs          int   `json:"runs"`           // finished runs past their retention
	RunLogs       int   `json:"run_logs"`       // log lines of those runs
	DeadLetters   int   `json:"dead_letters"`   // dead letters (of deleted runs, and old ones of kept runs)
	ServerLogs    int   `json:"server_logs"`    // log lines of no run
	Uploads       int   `json:"uploads"`        // unreferenced uploads and stray upload files
	UploadBytes   int64 `json:"upload_bytes"`
	StagedFiles   int   `json:"staged_files"` // staged files of abandoned runs
	StagedBytes   int64 `json:"staged_bytes"`
	MetricPoints  int   `json:"metric_points"` // metrics history points past their bucket size's retention
	MetricRuns    int   `json:"metric_runs"`   // run figures past the 1-day retention

	StartedAt time.Time     `json:"started_at"`
	Duration  time.Duration `json:"-"`
}

// Total is the number of things removed.
func (r Report) Total() int {
	return r.RefreshTokens + r.Runs + r.RunLogs + r.DeadLetters + r.ServerLogs + r.Uploads + r.StagedFiles + r.MetricPoints + r.MetricRuns
}

// AuditDetails are the audit entry's details of a clean-up: the counts, how it was started
// ("manual" or "schedule") and its error, if any.
func (r Report) AuditDetails(trigger string, err error) json.RawMessage {
	d := map[string]any{"trigger": trigger, "removed": r, "duration_ms": r.Duration.Milliseconds()}
	if err != nil {
		d["error"] = err.Error()
	}
	raw, _ := json.Marshal(d)
	return raw
}

// Clean deletes everything older than its retention and returns what it removed. A failing step
// does not stop the others: the error joins every step's error, and the report counts what was
// removed anyway.
func (s *Service) Clean(ctx context.Context) (Report, error) {
	start := s.opts.Clock()
	rep := Report{StartedAt: start.UTC()}
	stored, err := s.Settings(ctx)
	if err != nil {
		return rep, err
	}
	set := stored.Settings
	var errs []error
	step := func(name string, fn func() error) {
		if ctx.Err() != nil {
			return
		}
		if err := fn(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	step("refresh tokens", func() error {
		return s.batches(ctx, func() (int, error) {
			n, err := s.opts.Store.DeleteExpiredRefreshTokensBatch(ctx, start, s.opts.BatchSize)
			rep.RefreshTokens += n
			return n, err
		})
	})
	step("runs", func() error {
		for ctx.Err() == nil {
			p, err := s.opts.Store.DeleteFinishedRuns(ctx, start.Add(-set.Runs), s.opts.BatchSize)
			rep.Runs += p.Runs
			rep.RunLogs += p.Logs
			rep.DeadLetters += p.DeadLetters
			if err != nil || p.Runs < s.opts.BatchSize {
				return err
			}
		}
		return ctx.Err()
	})
	step("dead letters", func() error {
		return s.batches(ctx, func() (int, error) {
			n, err := s.opts.Store.DeleteDeadLettersBefore(ctx, start.Add(-set.DeadLetters), s.opts.BatchSize)
			rep.DeadLetters += n
			return n, err
		})
	})
	step("server logs", func() error {
		return s.batches(ctx, func() (int, error) {
			n, err := s.opts.Store.DeleteServerLogsBefore(ctx, start.Add(-set.ServerLogs), s.opts.BatchSize)
			rep.ServerLogs += n
			return n, err
		})
	})
	for _, m := range []struct {
		step   int64
		period time.Duration
	}{{store.MetricStepMinute, set.Metrics1m}, {store.MetricStepHour, set.Metrics1h}, {store.MetricStepDay, set.Metrics1d}} {
		step(fmt.Sprintf("metrics (%ds buckets)", m.step), func() error {
			return s.batches(ctx, func() (int, error) {
				n, err := s.opts.Store.DeleteMetricPointsBefore(ctx, m.step, start.Add(-m.period), s.opts.BatchSize)
				rep.MetricPoints += n
				return n, err
			})
		})
	}
	step("run figures", func() error {
		return s.batches(ctx, func() (int, error) {
			n, err := s.opts.Store.DeleteMetricRunsBefore(ctx, start.Add(-set.Metrics1d), s.opts.BatchSize)
			rep.MetricRuns += n
			return n, err
		})
	})
	step("uploads", func() error { return s.cleanUploads(ctx, start.Add(-set.Uploads), &rep) })
	step("staged outputs", func() error { return s.cleanStaged(ctx, start.Add(-set.StagedOutputs), &rep) })
	if err := ctx.Err(); err != nil {
		errs = append(errs, err)
	}
	rep.Duration = s.opts.Clock().Sub(start)
	err = errors.Join(errs...)
	s.log.InfoContext(ctx, "clean-up finished", "removed", rep.Total(), "runs", rep.Runs, "run_logs", rep.RunLogs,
		"dead_letters", rep.DeadLetters, "server_logs", rep.ServerLogs, "refresh_tokens", rep.RefreshTokens,
		"uploads", rep.Uploads, "staged_files", rep.StagedFiles, "metric_points", rep.MetricPoints, "metric_runs", rep.MetricRuns,
		"duration", rep.Duration, "error", err)
	return rep, err
}

// batches repeats fn until it removes less than a batch.
func (s *Service) batches(ctx context.Context, fn func() (int, error)) error {
	for ctx.Err() == nil {
		n, err := fn()
		if err != nil || n < s.opts.BatchSize {
			return err
		}
	}
	return ctx.Err()
}

// RunScheduled is the periodic job: a clean-up, audited as the system's, with "schedule" as its
// trigger. It returns the clean-up's error.
func (s *Service) RunScheduled(ctx context.Context) error {
	rep, err := s.Clean(ctx)
	result := "success"
	if err != nil {
		result = "failure"
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, aerr := s.opts.Store.AppendAudit(actx, store.AuditEntry{ActorName: "system", Action: AuditAction,
		TargetType: "retention", Result: result, Details: rep.AuditDetails("schedule", err)}); aerr != nil {
		return errors.Join(err, fmt.Errorf("audit the clean-up: %w", aerr))
	}
	return err
}

// cleanUploads removes uploads created before cutoff that nothing refers to (record first, then
// the file), then stray files in the upload directory older than cutoff: interrupted uploads
// (".upload-*.part") and files named like an upload id whose record is gone.
func (s *Service) cleanUploads(ctx context.Context, cutoff time.Time, rep *Report) error {
	after := ""
	var errs []error
	for ctx.Err() == nil {
		list, err := s.opts.Store.UploadedFilesBefore(ctx, cutoff, after, s.opts.BatchSize)
		if err != nil {
			return err
		}
		for _, f := range list {
			after = f.ID
			used, err := s.opts.Store.UploadReferenced(ctx, f.ID)
			if err != nil {
				return err
			}
			if used {
				continue
			}
			if err := s.opts.Store.DeleteUploadedFile(ctx, f.ID); err != nil {
				if errors.Is(err, store.ErrNotFound) {
					continue // removed meanwhile
				}
				return err
			}
			rep.Uploads++
			rep.UploadBytes += f.Size
			if p, ok := s.inUploadDir(f.StoredPath); ok {
				if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
					errs = append(errs, fmt.Errorf("remove %s: %w", filepath.Base(p), err))
				}
			}
		}
		if len(list) < s.opts.BatchSize {
			break
		}
	}
	if s.opts.UploadDir == "" {
		return errors.Join(errs...)
	}
	entries, err := os.ReadDir(s.opts.UploadDir)
	if errors.Is(err, fs.ErrNotExist) {
		return errors.Join(errs...)
	}
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, e := range entries {
		if ctx.Err() != nil {
			break
		}
		name := e.Name()
		partial := strings.HasPrefix(name, ".upload-") && strings.HasSuffix(name, ".part")
		if !e.Type().IsRegular() || !(partial || uuidRE.MatchString(name)) {
			continue
		}
		info, err := e.Info()
		if err != nil || !info.ModTime().Before(cutoff) {
			continue
		}
		if !partial {
			_, err := s.opts.Store.GetUploadedFile(ctx, name)
			if err == nil {
				continue // its record decides
			}
			if !errors.Is(err, store.ErrNotFound) {
				return errors.Join(append(errs, err)...)
			}
		}
		if err := os.Remove(filepath.Join(s.opts.UploadDir, name)); err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, fmt.Errorf("remove %s: %w", name, err))
			}
			continue
		}
		rep.Uploads++
		rep.UploadBytes += info.Size()
	}
	return errors.Join(errs...)
}

// inUploadDir returns p made absolute when it lies directly in the upload directory.
func (s *Service) inUploadDir(p string) (string, bool) {
	if s.opts.UploadDir == "" {
		return "", false
	}
	dir, err := filepath.Abs(s.opts.UploadDir)
	if err != nil {
		return "", false
	}
	abs, err := filepath.Abs(p)
	if err != nil || filepath.Dir(abs) != dir {
		return "", false
	}
	return abs, true
}

var (
	uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	// stagedRE matches what a file destination stages beside its file: ".<name>.<run id>.tmp" (an
	// overwrite's new content) and ".<name>.<run id>.commit" (its commit record, and the ".new"
	// file a crash may leave while writing one).
	stagedRE = regexp.MustCompile(`^\..+\.([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.(tmp|commit|commit\.new)$`)
)

// cleanStaged removes, under the output directory, staged files last written before cutoff whose
// run is not queued or running (finished, or unknown to the store: deleted, or a command-line run).
func (s *Service) cleanStaged(ctx context.Context, cutoff time.Time, rep *Report) error {
	if s.opts.OutputDir == "" {
		return nil
	}
	if _, err := os.Lstat(s.opts.OutputDir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	live := map[string]bool{}
	var errs []error
	err := filepath.WalkDir(s.opts.OutputDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			errs = append(errs, err)
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !d.Type().IsRegular() {
			return nil // directories are walked; symbolic links are never followed
		}
		m := stagedRE.FindStringSubmatch(d.Name())
		if m == nil {
			return nil
		}
		info, err := d.Info()
		if err != nil || !info.ModTime().Before(cutoff) {
			return nil
		}
		runID := m[1]
		active, seen := live[runID]
		if !seen {
			r, err := s.opts.Store.GetRun(ctx, runID)
			switch {
			case err == nil:
				active = !r.Status.Terminal()
			case errors.Is(err, store.ErrNotFound):
				active = false
			default:
				return err
			}
			live[runID] = active
		}
		if active {
			return nil
		}
		if err := os.Remove(p); err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, fmt.Errorf("remove %s: %w", d.Name(), err))
			}
			return nil
		}
		rep.StagedFiles++
		rep.StagedBytes += info.Size()
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

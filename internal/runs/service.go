package runs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/pipeline"
	"github.com/dataaggregator/aggregator/internal/store"
	"github.com/dataaggregator/aggregator/internal/transform"
)

// Queue hands queued runs to executors. The in-process Dispatcher is one; a River client that
// inserts a job calling Executor.Execute is the other the design plans for. Enqueue is called after
// the run was stored as queued; it must not run the pipeline itself.
type Queue interface {
	Enqueue(ctx context.Context, run store.Run) error
}

// Options configure a Service. Store, Connectors and Transforms are required.
type Options struct {
	Store      *store.Store
	Connectors *connector.Registry
	Transforms *transform.Registry
	// Env is given to connectors (file roots, upload directory); ResolveUpload is filled in from the
	// store when nil.
	Env    connector.Env
	Logger *slog.Logger
	// Events receives run events; a new Broker when nil.
	Events Publisher

	// WorkerID names this process in claimed runs; hostname-pid-random when empty.
	WorkerID string
	// Heartbeat is how often a running run's heartbeat is refreshed and cancel requests are
	// checked (default 5s). StaleAfter is how old a heartbeat must be for the run to count as
	// abandoned by a dead process (default 1m, at least 3 heartbeats).
	Heartbeat  time.Duration
	StaleAfter time.Duration

	// Engine settings (0: the engine's defaults).
	BatchSize        int
	CommitRows       int64
	CommitInterval   time.Duration
	ProgressInterval time.Duration
}

// Service creates, cancels and executes runs. Build it with New.
type Service struct {
	st       *store.Store
	conns    *connector.Registry
	trs      *transform.Registry
	env      connector.Env
	log      *slog.Logger
	events   Publisher
	broker   *Broker
	workerID string
	opts     Options
	queue    Queue

	mu     sync.Mutex
	active map[string]*execution // runs executing in this process, by id
}

// New checks the options and builds the service. Call SetQueue (or build a Dispatcher with it)
// before Start.
func New(o Options) (*Service, error) {
	var problems []string
	if o.Store == nil {
		problems = append(problems, "Store is required")
	}
	if o.Connectors == nil {
		problems = append(problems, "Connectors is required")
	}
	if o.Transforms == nil {
		problems = append(problems, "Transforms is required")
	}
	if o.Heartbeat < 0 || o.StaleAfter < 0 {
		problems = append(problems, "Heartbeat and StaleAfter must not be negative")
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("runs: %s", strings.Join(problems, "; "))
	}
	if o.Heartbeat == 0 {
		o.Heartbeat = 5 * time.Second
	}
	if o.StaleAfter == 0 {
		o.StaleAfter = time.Minute
	}
	o.StaleAfter = max(o.StaleAfter, 3*o.Heartbeat)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.WorkerID == "" {
		host, _ := os.Hostname()
		o.WorkerID = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), uuid.NewString()[:8])
	}
	s := &Service{st: o.Store, conns: o.Connectors, trs: o.Transforms, env: o.Env, log: o.Logger,
		workerID: o.WorkerID, opts: o, active: map[string]*execution{}}
	if o.Events == nil {
		s.broker = NewBroker()
		s.events = s.broker
	} else {
		s.events = o.Events
		if b, ok := o.Events.(*Broker); ok {
			s.broker = b
		}
	}
	if s.env.Logger == nil {
		s.env.Logger = o.Logger
	}
	if s.env.ResolveUpload == nil {
		s.env.ResolveUpload = s.resolveUpload
	}
	return s, nil
}

// SetQueue sets where Start sends new runs.
func (s *Service) SetQueue(q Queue) { s.queue = q }

// Broker is the in-process event fan-out, or nil when Options.Events was another Publisher.
func (s *Service) Broker() *Broker { return s.broker }

// WorkerID names this process in the runs it claims.
func (s *Service) WorkerID() string { return s.workerID }

// Env is what connectors are given (for check, discover and previews).
func (s *Service) Env() connector.Env { return s.env }

// Connectors is the connector registry.
func (s *Service) Connectors() *connector.Registry { return s.conns }

// Transforms is the transformation registry.
func (s *Service) Transforms() *transform.Registry { return s.trs }

// resolveUpload maps an upload id to its stored file, which must lie in the upload directory.
func (s *Service) resolveUpload(ctx context.Context, id string) (string, error) {
	f, err := s.st.GetUploadedFile(ctx, id)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return "", fmt.Errorf("no uploaded file with id %q: %w", id, connector.ErrNotFound)
		}
		return "", err
	}
	if s.env.UploadDir == "" {
		return "", connector.ConfigError(errors.New("uploads are not configured"))
	}
	dir, err := filepath.Abs(s.env.UploadDir)
	if err != nil {
		return "", err
	}
	p, err := filepath.Abs(f.StoredPath)
	if err != nil {
		return "", err
	}
	if rel, err := filepath.Rel(dir, p); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("uploaded file %q is stored outside the upload directory", id)
	}
	return p, nil
}

// ParseSpec parses a spec document (YAML or JSON text).
func ParseSpec(text []byte) (*pipeline.Spec, error) { return pipeline.Parse(text) }

// Plan validates a spec against the registries and the saved connectors and transformations; the
// error is pipeline.Problems when the spec is wrong.
func (s *Service) Plan(ctx context.Context, spec *pipeline.Spec) (*pipeline.Plan, error) {
	return pipeline.Validate(ctx, spec, pipeline.Env{Connectors: s.conns, Transforms: s.trs, Resolver: Resolver{Store: s.st}})
}

// Actor is who started a run.
type Actor struct {
	ID   string
	Name string
}

// Start records a queued run of the pipeline at version (0: its current version) and queues it.
// The spec is checked first: a spec that cannot run is refused with pipeline.Problems and no run is
// created.
func (s *Service) Start(ctx context.Context, pipelineID string, version int, trigger string, actor Actor) (store.Run, error) {
	if s.queue == nil {
		return store.Run{}, errors.New("runs: no queue configured")
	}
	p, err := s.st.GetPipeline(ctx, pipelineID)
	if err != nil {
		return store.Run{}, err
	}
	text := p.Spec
	if version == 0 {
		version = p.Version
	} else if version != p.Version {
		v, err := s.st.GetPipelineVersion(ctx, pipelineID, version)
		if err != nil {
			return store.Run{}, err
		}
		text = v.Spec
	}
	spec, err := pipeline.Parse([]byte(text))
	if err != nil {
		return store.Run{}, err
	}
	if _, err := s.Plan(ctx, spec); err != nil {
		return store.Run{}, err
	}
	run, err := s.st.CreateRun(ctx, store.Run{PipelineID: pipelineID, PipelineVersion: version, Trigger: trigger,
		ActorID: actor.ID, ActorName: actor.Name})
	if err != nil {
		return store.Run{}, err
	}
	s.publishStatus(run, "")
	if err := s.queue.Enqueue(ctx, run); err != nil {
		// The run stays queued in the store; a dispatcher's poll picks it up.
		s.log.WarnContext(ctx, "enqueue run", "run_id", run.ID, "error", err)
	}
	return run, nil
}

// Cancel cancels a queued run at once, or asks the worker of a running run to stop (at once when
// it runs in this process, else at its next heartbeat). A finished run is store.ErrConflict.
func (s *Service) Cancel(ctx context.Context, runID string) (store.Run, error) {
	run, err := s.st.RequestCancel(ctx, runID)
	if err != nil {
		return store.Run{}, err
	}
	if run.Status == store.RunCancelled {
		s.publishStatus(run, run.Error)
		return run, nil
	}
	s.mu.Lock()
	ex := s.active[runID]
	s.mu.Unlock()
	if ex != nil {
		ex.cancel(errCancelRequested)
	}
	return run, nil
}

func (s *Service) publishStatus(r store.Run, msg string) {
	s.events.Publish(Event{Type: EventStatus, RunID: r.ID, PipelineID: r.PipelineID, Status: r.Status, Error: msg, Time: time.Now().UTC()})
}

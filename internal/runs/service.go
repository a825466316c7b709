package runs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/pipeline"
	"github.com/dataaggregator/aggregator/internal/pipelines"
	"github.com/dataaggregator/aggregator/internal/store"
	"github.com/dataaggregator/aggregator/internal/transform"
)

// Options configure a Service. Store, Connectors and Transforms are required.
type Options struct {
	Store      *store.Store
	Connectors *connector.Registry
	Transforms *transform.Registry
	// Env is given to connectors (file roots, upload directory); ResolveUpload is filled in from the
	// store when nil.
	Env connector.Env
	// SavedConnectors resolves `connector: <name>` with the connector's secrets opened
	// (connections.Service); without it, saved connectors with sealed secrets are refused.
	SavedConnectors SavedConnectors
	Logger          *slog.Logger
	// Clock is the time of events and rates; time.Now when nil.
	Clock func() time.Time
	// Events carries run events to the subscribers of every process (the composition root picks
	// the Bus for the store); a new in-process Broker when nil.
	Events Bus
	// Metrics also receives every event this process publishes, before the bus (the metrics
	// recorder, internal/metrics); nil: none. Its Publish must not block.
	Metrics Publisher

	// Engine settings (0: the engine's defaults).
	BatchSize        int
	CommitRows       int64
	CommitInterval   time.Duration
	ProgressInterval time.Duration
	// MemoryBudget, SpillDir and SpillLimit bound the state of stateful transforms (engine.Options).
	MemoryBudget int64
	SpillDir     string
	SpillLimit   int64
	// PositionInterval is how often a streaming run reports its sources' positions and lag
	// (EventInstance); 0: the engine's default (5s).
	PositionInterval time.Duration
}

// Service creates, cancels and executes runs. Build it with New.
type Service struct {
	st     *store.Store
	conns  *connector.Registry
	trs    *transform.Registry
	env    connector.Env
	log    *slog.Logger
	events Bus
	opts   Options
	queue  Queue

	// enqueuing is held for reading by enqueue from creating a run until its queued event is
	// published, and taken for writing once by execute before a run's first event: a worker that
	// claims a run the moment its transaction commits still publishes "running" after "queued".
	enqueuing sync.RWMutex
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
	if len(problems) > 0 {
		return nil, fmt.Errorf("runs: %s", strings.Join(problems, "; "))
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	s := &Service{st: o.Store, conns: o.Connectors, trs: o.Transforms, env: o.Env, log: o.Logger,
		opts: o, events: o.Events}
	if s.events == nil {
		s.events = NewBroker()
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

// Events is the bus the service publishes run events to (subscribe to it for every process's).
func (s *Service) Events() Bus { return s.events }

// Broker is the bus when it is the in-process Broker, else nil.
func (s *Service) Broker() *Broker {
	b, _ := s.events.(*Broker)
	return b
}

// Live returns the latest progress event of a running run (per-node counters and rows per second,
// newer than its last checkpoint), from whichever process runs it, when the bus has one.
func (s *Service) Live(runID string) (Event, bool) { return s.events.Latest(runID) }

// Env is what connectors are given (for check, discover and previews), with uploads resolved
// through the store.
func (s *Service) Env() connector.Env { return s.env }

// now is the service's clock in UTC.
func (s *Service) now() time.Time { return s.opts.Clock().UTC() }

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

// Plan validates a spec against the registries and the saved connectors and transformations; the
// error is pipeline.Problems when the spec is wrong.
func (s *Service) Plan(ctx context.Context, spec *pipeline.Spec) (*pipeline.Plan, error) {
	return pipeline.Validate(ctx, spec, pipeline.Env{Connectors: s.conns, Transforms: s.trs, Resolver: Resolver{Store: s.st, Connectors: s.opts.SavedConnectors}})
}

// Actor is who started a run.
type Actor struct {
	ID   string
	Name string
	// RequestID is the API request through which the run was asked for ("" outside the API); it
	// is stored on the run so that the System logs page leads from a request to its run.
	RequestID string
}

// Start records a queued run of the pipeline at version (0: its current version) and queues it.
// The version must exist and not be a draft (*pipelines.DraftError). Start does not plan the spec: it was planned when it was saved, and the
// executor parses and plans it once per run (a spec that no longer plans, e.g. after a saved
// connector it names was deleted, fails its run with every problem).
func (s *Service) Start(ctx context.Context, pipelineID string, version int, trigger string, actor Actor) (store.Run, error) {
	return s.StartRun(ctx, pipelineID, StartRequest{Version: version, Trigger: trigger, Actor: actor})
}

// Guard is called in the transaction that creates a run, after the run is inserted and before its
// job: an error from it rolls both back and is returned by StartGuarded.
type Guard func(ctx context.Context, tx *store.Tx, run store.Run) error

// StartGuarded is StartRun of the pipeline's current version with req.Guard in the run's
// transaction, without the on_busy refusal: the schedules service records the tick a run starts for
// there, so that a tick claimed by another process rolls the run back.
func (s *Service) StartGuarded(ctx context.Context, pipelineID string, req StartRequest) (store.Run, error) {
	if s.queue == nil {
		return store.Run{}, errors.New("runs: no queue configured")
	}
	p, err := s.st.GetPipeline(ctx, pipelineID)
	if err != nil {
		return store.Run{}, err
	}
	v, err := s.st.GetPipelineVersion(ctx, pipelineID, p.Version)
	if err != nil {
		return store.Run{}, err
	}
	if err := pipelines.Runnable(v); err != nil {
		return store.Run{}, err
	}
	detail, err := req.Detail.encode()
	if err != nil {
		return store.Run{}, err
	}
	return s.enqueueGuarded(ctx, store.Run{PipelineID: pipelineID, PipelineVersion: p.Version, Trigger: req.Trigger,
		TriggerDetail: detail, ActorID: req.Actor.ID, ActorName: req.Actor.Name, RequestID: req.Actor.RequestID}, req.Guard)
}

// enqueue creates the run and its job in one transaction (together or not at all) and publishes
// its queued event (SeqQueued) before any worker of this process can publish another event of it.
// A worker of another process numbers its events from SeqQueued+1 on: should its "running" arrive
// first, a subscriber sees the numbers go back and re-reads the run.
func (s *Service) enqueue(ctx context.Context, r store.Run) (store.Run, error) {
	return s.enqueueGuarded(ctx, r, nil)
}

// enqueueGuarded is enqueue with guard (when not nil) called in the transaction after the run is
// created.
func (s *Service) enqueueGuarded(ctx context.Context, r store.Run, guard Guard) (store.Run, error) {
	s.enqueuing.RLock()
	defer s.enqueuing.RUnlock()
	var run store.Run
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if run, err = tx.CreateRun(ctx, r); err != nil {
			return err
		}
		if guard != nil {
			if err := guard(ctx, tx, run); err != nil {
				return err
			}
		}
		if err := s.queue.Enqueue(ctx, tx, run); err != nil {
			return fmt.Errorf("enqueue run: %w", err)
		}
		return nil
	})
	if err != nil {
		return store.Run{}, err
	}
	s.publish(Event{Type: EventStatus, RunID: run.ID, Seq: SeqQueued, PipelineID: run.PipelineID, Status: run.Status, Time: s.now()})
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
	if s.queue != nil {
		s.queue.Cancel(runID)
	}
	s.cancelChunks(ctx, runID) // a partitioned run: its queued chunks end now
	return run, nil
}

func (s *Service) publishStatus(r store.Run, msg string) {
	s.publish(Event{Type: EventStatus, RunID: r.ID, PipelineID: r.PipelineID, Status: r.Status, Error: msg, Time: s.now()})
}

// publish hands e to the bus, which numbers it within its run unless it is the run's first
// event (SeqQueued) and delivers it to the subscribers of every process.
func (s *Service) publish(e Event) {
	if s.opts.Metrics != nil {
		s.opts.Metrics.Publish(e)
	}
	s.events.Publish(e)
}

package runs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dataaggregator/aggregator/internal/pipeline"
	"github.com/dataaggregator/aggregator/internal/pipelines"
	"github.com/dataaggregator/aggregator/internal/store"
)

// What started a run (store.Run.Trigger).
const (
	// TriggerManual: a person asked for it (the Run button, `aggregator trigger`).
	TriggerManual = "manual"
	// TriggerAPI: a program asked for it with an API token (POST /pipelines/{id}/run).
	TriggerAPI = "api"
	// TriggerSchedule: a tick of the pipeline's schedule (internal/schedules).
	TriggerSchedule = "schedule"
	// TriggerWebhook: POST /pipelines/{id}/trigger with the pipeline's webhook token.
	TriggerWebhook = "webhook"
	// TriggerDependency: a run of a pipeline this one runs after (triggers.after) succeeded.
	TriggerDependency = "dependency"
	// TriggerReplay: a replay of a run's dead letters.
	TriggerReplay = "replay"
)

// TriggerDetail is what started a run beyond its kind, stored with the run (store.Run.TriggerDetail)
// and shown by GET /runs/{id}. Only the fields of its kind are set.
type TriggerDetail struct {
	// User who asked for a manual or api run.
	User string `json:"user,omitempty" doc:"manual and api: who asked for the run"`
	// Via is how a manual or api run was asked for: ui, cli or api.
	Via string `json:"via,omitempty" doc:"manual and api: ui (the Run button), cli (aggregator trigger) or api" enum:"ui,cli,api"`
	// TokenPrefix is the non-secret beginning of the webhook token used.
	TokenPrefix string `json:"token_prefix,omitempty" doc:"webhook: the beginning of the token used (the token itself is never stored)"`
	// Upstream run of a dependency run: the run that succeeded, and its pipeline.
	UpstreamRunID        string `json:"upstream_run_id,omitempty" doc:"dependency: the run whose success started this one"`
	UpstreamPipelineID   string `json:"upstream_pipeline_id,omitempty" doc:"dependency: the pipeline of that run"`
	UpstreamPipelineName string `json:"upstream_pipeline_name,omitempty" doc:"dependency: its name when the run started"`
	// Payload is the JSON body a webhook call sent (at most MaxWebhookPayload bytes), kept as sent.
	Payload json.RawMessage `json:"payload,omitempty" doc:"webhook: the JSON body of the call, as sent (at most 16 KiB; other bodies are not kept)"`
	// Tick is the schedule time a scheduled run was started for; CatchUp says it was the one run of
	// missed ticks (misfire: run_once).
	Tick    *time.Time `json:"tick,omitempty" doc:"schedule: the tick (scheduled time, UTC) the run was started for"`
	CatchUp bool       `json:"catch_up,omitempty" doc:"schedule: the one run for ticks missed while no process was running (misfire: run_once)"`
}

// MaxWebhookPayload bounds the webhook body a run keeps in its trigger detail.
const MaxWebhookPayload = 16 << 10

// encode is the detail as stored (nil when empty).
func (d TriggerDetail) encode() (json.RawMessage, error) {
	if d.User == "" && d.Via == "" && d.TokenPrefix == "" && d.UpstreamRunID == "" && d.UpstreamPipelineID == "" &&
		d.UpstreamPipelineName == "" && len(d.Payload) == 0 && d.Tick == nil && !d.CatchUp {
		return nil, nil
	}
	b, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("encode trigger detail: %w", err)
	}
	return b, nil
}

// DecodeTriggerDetail reads a run's stored trigger detail (zero when it has none or it is unreadable).
func DecodeTriggerDetail(raw json.RawMessage) TriggerDetail {
	var d TriggerDetail
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &d)
	}
	return d
}

// StartRequest is what StartRun needs besides the pipeline.
type StartRequest struct {
	// Version to run (0: the current one).
	Version int
	// Trigger is the kind (TriggerManual, TriggerWebhook, ...); Detail the rest.
	Trigger string
	Detail  TriggerDetail
	Actor   Actor
	// Guard, when set, runs in the run's transaction (see StartGuarded).
	Guard Guard
}

// StartRun records a queued run of the pipeline and queues it, as Start does (a draft cannot run;
// a pipeline whose policy says on_busy: refuse and that has its maximum of queued and running runs
// is refused with *BusyError), recording what triggered it.
func (s *Service) StartRun(ctx context.Context, pipelineID string, req StartRequest) (store.Run, error) {
	if s.queue == nil {
		return store.Run{}, errors.New("runs: no queue configured")
	}
	p, err := s.st.GetPipeline(ctx, pipelineID)
	if err != nil {
		return store.Run{}, err
	}
	version := req.Version
	if version == 0 {
		version = p.Version
	}
	v, err := s.st.GetPipelineVersion(ctx, pipelineID, version)
	if err != nil {
		return store.Run{}, err
	}
	if err := pipelines.Runnable(v); err != nil { // a draft cannot run
		return store.Run{}, err
	}
	if err := s.refuseBusy(ctx, s.st, p, v); err != nil {
		return store.Run{}, err
	}
	detail, err := req.Detail.encode()
	if err != nil {
		return store.Run{}, err
	}
	return s.enqueueGuarded(ctx, store.Run{PipelineID: pipelineID, PipelineVersion: version, Trigger: req.Trigger,
		TriggerDetail: detail, ActorID: req.Actor.ID, ActorName: req.Actor.Name, RequestID: req.Actor.RequestID}, req.Guard)
}

// activeCounter counts a pipeline's queued and running runs (the store, or a transaction of it).
type activeCounter interface {
	CountActiveRuns(ctx context.Context, pipelineID string) (queued, running int, err error)
}

// refuseBusy returns *BusyError when the version's policy says on_busy: refuse and the pipeline
// has its maximum of queued and running runs.
func (s *Service) refuseBusy(ctx context.Context, c activeCounter, p store.Pipeline, v store.PipelineVersion) error {
	spec, err := pipeline.Parse([]byte(v.Spec))
	if err != nil {
		return nil // it fails when it is planned
	}
	pol := spec.Policy.Effective()
	if !pol.Refuse {
		return nil
	}
	queued, running, err := c.CountActiveRuns(ctx, p.ID)
	if err != nil {
		return err
	}
	if queued+running >= pol.MaxConcurrentRuns {
		return &BusyError{Pipeline: p.Name, Queued: queued, Running: running, MaxConcurrentRun: pol.MaxConcurrentRuns}
	}
	return nil
}

// finishRun is store.FinishRun for the queue's outcomes. When the run succeeds, the same
// transaction starts one run (trigger "dependency") of every live pipeline that runs after the
// run's pipeline (triggers.after): the outcome is recorded once (FinishRun is fenced by worker and
// attempt), so each success starts its dependents exactly once whatever the number of workers. A
// dependent whose current version is a draft, or whose policy refuses a run while it is busy, is
// not started; the upstream run's log says why.
func (s *Service) finishRun(ctx context.Context, id string, from []store.RunStatus, fin store.RunFinish) (store.Run, error) {
	if fin.Status != store.RunSucceeded || s.queue == nil {
		return s.st.FinishRun(ctx, id, from, fin)
	}
	s.enqueuing.RLock()
	defer s.enqueuing.RUnlock()
	var done store.Run
	var after func()
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		done, after, err = s.finishRunTx(ctx, tx, id, from, fin)
		return err
	})
	if err != nil {
		return store.Run{}, err
	}
	after()
	return done, nil
}

// finishRunTx is finishRun in tx (the caller holds s.enqueuing for reading when fin succeeds);
// after, called once tx has committed, publishes the dependent runs it started and logs why others
// were not.
func (s *Service) finishRunTx(ctx context.Context, tx *store.Tx, id string, from []store.RunStatus, fin store.RunFinish) (store.Run, func(), error) {
	var (
		started []store.Run
		notes   []string
	)
	done, err := tx.FinishRun(ctx, id, from, fin)
	if err != nil {
		return store.Run{}, nil, err
	}
	after := func() {
		for _, r := range started {
			s.publish(Event{Type: EventStatus, RunID: r.ID, Seq: SeqQueued, PipelineID: r.PipelineID, Status: r.Status, Time: s.now()})
		}
		for _, n := range notes {
			s.runLogLine(ctx, done.ID, "info", n)
		}
	}
	if fin.Status != store.RunSucceeded || s.queue == nil {
		return done, after, nil
	}
	err = func() error {
		deps, err := tx.ListDependents(ctx, done.PipelineID)
		if err != nil || len(deps) == 0 {
			return err
		}
		up, err := tx.GetPipeline(ctx, done.PipelineID)
		if err != nil {
			return fmt.Errorf("start dependent pipelines: %w", err)
		}
		detail, err := TriggerDetail{UpstreamRunID: done.ID, UpstreamPipelineID: up.ID, UpstreamPipelineName: up.Name}.encode()
		if err != nil {
			return err
		}
		for _, d := range deps {
			p, err := tx.GetPipeline(ctx, d.ID)
			if err != nil {
				return fmt.Errorf("start dependent pipeline %s: %w", d.Name, err)
			}
			v, err := tx.GetPipelineVersion(ctx, p.ID, p.Version)
			if err != nil {
				return fmt.Errorf("start dependent pipeline %s: %w", d.Name, err)
			}
			if err := pipelines.Runnable(v); err != nil {
				notes = append(notes, fmt.Sprintf("pipeline %s runs after this one but was not started: its current version %d is a draft", p.Name, p.Version))
				continue
			}
			if err := s.refuseBusy(ctx, tx, p, v); err != nil {
				var busy *BusyError
				if !errors.As(err, &busy) {
					return err
				}
				notes = append(notes, fmt.Sprintf("pipeline %s runs after this one but was not started: %s", p.Name, busy.Error()))
				continue
			}
			r, err := tx.CreateRun(ctx, store.Run{PipelineID: p.ID, PipelineVersion: p.Version, Trigger: TriggerDependency, TriggerDetail: detail})
			if err != nil {
				return fmt.Errorf("start dependent pipeline %s: %w", p.Name, err)
			}
			if err := s.queue.Enqueue(ctx, tx, r); err != nil {
				return fmt.Errorf("enqueue run of dependent pipeline %s: %w", p.Name, err)
			}
			started = append(started, r)
			notes = append(notes, fmt.Sprintf("started run %s of pipeline %s, which runs after this one (triggers.after)", r.ID, p.Name))
		}
		return nil
	}()
	if err != nil {
		return store.Run{}, nil, err
	}
	return done, after, nil
}

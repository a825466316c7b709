package alerts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dataaggregator/aggregator/internal/engine"
	"github.com/dataaggregator/aggregator/internal/runs"
	"github.com/dataaggregator/aggregator/internal/store"
)

// finding is a subject for which a rule's condition holds.
type finding struct {
	subject, pipelineID, runID, title, message string
}

// Watch evaluates the run conditions on every run that ends, and run_awaiting_approval on every
// run that pauses for a review or leaves the pause (queued again on approval, failed on rejection,
// cancelled), as the bus reports it, until ctx is cancelled. Several processes may watch the same
// bus: the store lets one of them raise (or resolve) each alert.
func (s *Service) Watch(ctx context.Context, bus runs.Bus) {
	ch, stop := bus.Subscribe(func(e runs.Event) bool {
		return e.Type == runs.EventStatus && (e.Status.Terminal() || e.Status == store.RunAwaitingApproval || e.Status == store.RunQueued)
	}, 1024)
	defer stop()
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-ch:
			if !ok {
				return
			}
			if e.Status.Terminal() {
				if err := s.RunEnded(ctx, e.RunID); err != nil && ctx.Err() == nil {
					s.log.Error("evaluate alert rules on a run's end", "run_id", e.RunID, "error", err)
				}
			}
			if err := s.ReviewsChanged(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("evaluate run_awaiting_approval rules", "run_id", e.RunID, "error", err)
			}
		}
	}
}

// ReviewsChanged evaluates every enabled run_awaiting_approval rule at once: each run awaiting
// approval fires its alert, and the alerts of runs that no longer wait resolve.
func (s *Service) ReviewsChanged(ctx context.Context) error {
	rules, err := s.st.ListAlertRules(ctx, true, RunAwaitingApproval)
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range rules {
		rule := toRule(r)
		findings, err := s.periodicFindings(ctx, rule)
		if err != nil {
			errs = append(errs, fmt.Errorf("rule %s: %w", rule.Name, err))
			continue
		}
		errs = append(errs, s.apply(ctx, rule, findings))
	}
	return errors.Join(errs...)
}

// RunEnded evaluates the run conditions (run_failed, run_duration_over, reject_ratio_over) of
// every enabled rule that covers the run's pipeline on a run that ended. A rule that cannot be
// evaluated is skipped (and reported by Evaluate); the others go on.
func (s *Service) RunEnded(ctx context.Context, runID string) error {
	run, err := s.st.GetRun(ctx, runID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if !run.Status.Terminal() {
		return nil
	}
	rules, err := s.st.ListAlertRules(ctx, true, runConditions...)
	if err != nil {
		return err
	}
	name := run.PipelineID
	if p, err := s.st.GetPipeline(ctx, run.PipelineID); err == nil {
		name = p.Name
	}
	var errs []error
	for _, r := range rules {
		rule := toRule(r)
		if rule.PipelineID != "" && rule.PipelineID != run.PipelineID {
			continue
		}
		over, resolve, f := runFinding(rule.Cond, run, name)
		switch {
		case over:
			errs = append(errs, s.fire(ctx, rule, f))
		case resolve:
			errs = append(errs, s.resolve(ctx, rule, run.PipelineID, fmt.Sprintf("run %s of %s %s", run.ID, name, run.Status)))
		}
	}
	return errors.Join(errs...)
}

// runFinding says whether cond holds on a run that ended (over), or no longer holds (resolve).
func runFinding(c Condition, run store.Run, name string) (over, resolve bool, f finding) {
	f = finding{subject: run.PipelineID, pipelineID: run.PipelineID, runID: run.ID}
	switch c.Type {
	case RunFailed:
		switch run.Status {
		case store.RunFailed:
			f.title = "Pipeline " + name + " failed"
			f.message = fmt.Sprintf("Run %s of %s failed: %s", run.ID, name, run.Error)
			return true, false, f
		case store.RunSucceeded:
			return false, true, f
		}
	case RunDurationOver:
		if run.StartedAt == nil || run.FinishedAt == nil || run.Status == store.RunCancelled {
			return false, false, f
		}
		d := run.FinishedAt.Sub(*run.StartedAt)
		if d.Seconds() > c.Seconds {
			f.title = "Pipeline " + name + " ran too long"
			f.message = fmt.Sprintf("Run %s of %s took %s (limit %gs)", run.ID, name, d.Round(time.Millisecond), c.Seconds)
			return true, false, f
		}
		return false, true, f
	case RejectRatioOver:
		if run.Status == store.RunCancelled {
			return false, false, f
		}
		var stats []engine.NodeStats
		_ = json.Unmarshal(run.NodeStats, &stats)
		var read, rejected int64
		for _, n := range stats {
			if n.Kind == "source" {
				read += n.Out + n.Rejected
			}
			rejected += n.Rejected
		}
		if read > 0 && float64(rejected)/float64(read) > c.Ratio {
			f.title = "Pipeline " + name + " rejected too many rows"
			f.message = fmt.Sprintf("Run %s of %s rejected %d of %d rows read (%.1f%%, limit %g%%)", run.ID, name, rejected, read,
				100*float64(rejected)/float64(read), 100*c.Ratio)
			return true, false, f
		}
		return false, true, f
	}
	return false, false, f
}

// Evaluate is the periodic evaluation: it checks that every enabled rule's pipeline still exists
// (a rule naming a deleted pipeline gets a problem, shown on the rule, and is skipped), then
// evaluates freshness_over, worker_down, queue_depth_over, stream_lag_over and
// run_awaiting_approval. One rule's error
// does not stop the others.
func (s *Service) Evaluate(ctx context.Context) error {
	rules, err := s.st.ListAlertRules(ctx, true)
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range rules {
		rule := toRule(r)
		if rule.PipelineID != "" {
			_, err := s.st.GetPipeline(ctx, rule.PipelineID)
			if errors.Is(err, store.ErrNotFound) {
				problem := fmt.Sprintf("pipeline %s does not exist (deleted?): edit the rule or delete it", rule.PipelineID)
				if r.Problem != problem {
					s.log.WarnContext(ctx, "alert rule names a pipeline that does not exist", "rule", rule.Name, "pipeline_id", rule.PipelineID)
				}
				errs = append(errs, s.st.SetAlertRuleProblem(ctx, rule.ID, problem))
				continue
			}
			if err != nil {
				errs = append(errs, err)
				continue
			}
		}
		if r.Problem != "" {
			errs = append(errs, s.st.SetAlertRuleProblem(ctx, rule.ID, ""))
		}
		if !slices.Contains(periodicConditions, rule.ConditionType) {
			continue
		}
		findings, err := s.periodicFindings(ctx, rule)
		if err != nil {
			errs = append(errs, fmt.Errorf("rule %s: %w", rule.Name, err))
			continue
		}
		errs = append(errs, s.apply(ctx, rule, findings))
	}
	return errors.Join(errs...)
}

// apply fires an alert for each finding and resolves the rule's firing alerts whose subject has
// none.
func (s *Service) apply(ctx context.Context, rule Rule, findings []finding) error {
	var errs []error
	over := map[string]bool{}
	for _, f := range findings {
		over[f.subject] = true
		errs = append(errs, s.fire(ctx, rule, f))
	}
	firing, err := s.st.FiringAlerts(ctx, rule.ID)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, a := range firing {
		if !over[a.Subject] {
			errs = append(errs, s.resolve(ctx, rule, a.Subject, "the condition no longer holds"))
		}
	}
	return errors.Join(errs...)
}

func (s *Service) pipelines(ctx context.Context, rule Rule) ([]store.Pipeline, error) {
	if rule.PipelineID != "" {
		p, err := s.st.GetPipeline(ctx, rule.PipelineID)
		if err != nil {
			return nil, err
		}
		return []store.Pipeline{p}, nil
	}
	ps, _, err := s.st.ListPipelines(ctx, store.PipelineFilter{Page: store.Page{Limit: store.MaxLimit}})
	return ps, err
}

func (s *Service) periodicFindings(ctx context.Context, rule Rule) ([]finding, error) {
	now := s.now()
	c := rule.Cond
	var out []finding
	switch c.Type {
	case FreshnessOver:
		ps, err := s.pipelines(ctx, rule)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			if rule.PipelineID == "" && !p.Enabled {
				continue
			}
			last, _, err := s.st.ListRuns(ctx, store.RunFilter{PipelineID: p.ID, Status: []store.RunStatus{store.RunSucceeded}, Page: store.Page{Limit: 1}})
			if err != nil {
				return nil, err
			}
			since, what := p.CreatedAt, "created"
			if len(last) > 0 && last[0].FinishedAt != nil {
				since, what = *last[0].FinishedAt, "last succeeded"
			}
			if age := now.Sub(since); age.Minutes() > c.Minutes {
				out = append(out, finding{subject: p.ID, pipelineID: p.ID, title: "Pipeline " + p.Name + " is stale",
					message: fmt.Sprintf("%s %s ago (limit %g minutes)", p.Name+" "+what, age.Round(time.Second), c.Minutes)})
			}
		}
	case WorkerDown:
		ws, err := s.st.ListWorkers(ctx, now.Add(-time.Hour))
		if err != nil {
			return nil, err
		}
		for _, w := range ws {
			if w.StoppedAt == nil && now.Sub(w.HeartbeatAt) > s.opts.WorkerLease {
				out = append(out, finding{subject: w.ID, title: "Worker " + w.ID + " is down",
					message: fmt.Sprintf("Worker %s on %s (pid %d) sent no heartbeat for %s", w.ID, w.Host, w.PID, now.Sub(w.HeartbeatAt).Round(time.Second))})
			}
		}
	case QueueDepthOver:
		f, err := s.st.QueueFigures(ctx)
		if err != nil {
			return nil, err
		}
		subject, n := "all queues", 0
		if c.Queue != "" {
			subject, n = "queue "+c.Queue, f.Waiting[c.Queue]
		} else {
			for _, v := range f.Waiting {
				n += v
			}
		}
		if n > c.Depth {
			out = append(out, finding{subject: subject, title: fmt.Sprintf("%d jobs waiting in %s", n, subject),
				message: fmt.Sprintf("%d jobs wait in %s (limit %d)", n, subject, c.Depth)})
		}
	case RunAwaitingApproval:
		paused, _, err := s.st.ListRuns(ctx, store.RunFilter{PipelineID: rule.PipelineID, Status: []store.RunStatus{store.RunAwaitingApproval},
			Page: store.Page{Limit: store.MaxLimit}})
		if err != nil {
			return nil, err
		}
		for _, r := range paused {
			name := r.PipelineID
			if p, err := s.st.GetPipeline(ctx, r.PipelineID); err == nil {
				name = p.Name
			}
			msg := fmt.Sprintf("Run %s of %s is paused awaiting approval of schema changes", r.ID, name)
			if rv, err := runs.ReviewOf(r); err == nil && rv != nil {
				parts := make([]string, len(rv.Changes))
				for i, c := range rv.Changes {
					parts[i] = c.String()
				}
				msg = fmt.Sprintf("Run %s of %s is paused: destination %s (%s) has %d schema change(s) awaiting approval: %s. "+
					"Review them on the run page (Review changes) or with POST /api/v1/runs/%s/schema-review/approve or reject",
					r.ID, name, rv.Node, rv.Target, len(rv.Changes), strings.Join(parts, "; "), r.ID)
			}
			out = append(out, finding{subject: "run " + r.ID, pipelineID: r.PipelineID, runID: r.ID,
				title: "Pipeline " + name + " awaits approval of schema changes", message: msg})
		}
	case StreamLagOver:
		running, _, err := s.st.ListRuns(ctx, store.RunFilter{PipelineID: rule.PipelineID, Status: []store.RunStatus{store.RunRunning},
			Page: store.Page{Limit: store.MaxLimit}})
		if err != nil {
			return nil, err
		}
		seen := map[string]bool{}
		for _, r := range running {
			lag := now.Sub(r.UpdatedAt)
			if seen[r.PipelineID] || lag.Seconds() <= c.Seconds {
				continue
			}
			seen[r.PipelineID] = true
			name := r.PipelineID
			if p, err := s.st.GetPipeline(ctx, r.PipelineID); err == nil {
				name = p.Name
			}
			out = append(out, finding{subject: r.PipelineID, pipelineID: r.PipelineID, runID: r.ID, title: "Pipeline " + name + " lags",
				message: fmt.Sprintf("Run %s of %s last committed a checkpoint %s ago (limit %gs)", r.ID, name, lag.Round(time.Second), c.Seconds)})
		}
	}
	return out, nil
}

// fire raises the alert of a finding; when it is new, it is notified unless its rule and subject
// are silenced (a silence carries over from the previous alert) or were notified less than the
// rule's throttle ago.
func (s *Service) fire(ctx context.Context, rule Rule, f finding) error {
	a, created, err := s.st.FireAlert(ctx, store.Alert{RuleID: rule.ID, RuleName: rule.Name, Subject: f.subject, PipelineID: f.pipelineID,
		RunID: f.runID, Title: f.title, Message: f.message})
	if err != nil || !created {
		return err
	}
	now := s.now()
	prev, err := s.st.PreviousAlert(ctx, rule.ID, f.subject, a.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err == nil && prev.SilencedUntil != nil && prev.SilencedUntil.After(now) {
		_, err := s.st.SilenceAlert(ctx, a.ID, "", prev.SilencedUntil)
		return err
	}
	if rule.ThrottleMinutes > 0 {
		last, err := s.st.LastNotifiedFiring(ctx, rule.ID, f.subject, a.ID)
		if err != nil {
			return err
		}
		if last != nil && now.Sub(*last) < time.Duration(rule.ThrottleMinutes)*time.Minute {
			return s.st.AddAlertEvent(ctx, a.ID, "throttled", "",
				fmt.Sprintf("not notified: the last notification of this rule and subject was %s ago (throttle %d minutes)",
					now.Sub(*last).Round(time.Second), rule.ThrottleMinutes))
		}
	}
	if err := s.st.MarkAlertNotified(ctx, a.ID); err != nil {
		return err
	}
	return s.notify(ctx, a, "firing", rule.Channels)
}

// resolve resolves the firing alert of rule and subject; its resolution is notified when its
// firing was and it is not silenced.
func (s *Service) resolve(ctx context.Context, rule Rule, subject, msg string) error {
	a, ok, err := s.st.ResolveFiringAlert(ctx, rule.ID, subject, msg)
	if err != nil || !ok {
		return err
	}
	if !a.Notified || (a.SilencedUntil != nil && a.SilencedUntil.After(s.now())) {
		return nil
	}
	return s.notify(ctx, a, "resolved", rule.Channels)
}

// notify records one delivery per channel and queues it. A channel that was deleted, or a
// delivery that cannot be queued, is recorded as failed; the other channels go on.
func (s *Service) notify(ctx context.Context, a store.Alert, event string, channels []string) error {
	var errs []error
	for _, chID := range channels {
		did, err := store.NewAlertID()
		if err != nil {
			return err
		}
		name := chID
		c, cerr := s.st.GetAlertChannel(ctx, chID)
		if cerr == nil {
			name = c.Name
		}
		d, err := s.st.CreateAlertDelivery(ctx, store.AlertDelivery{ID: did, AlertID: a.ID, ChannelID: chID, ChannelName: name, Event: event})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if errors.Is(cerr, store.ErrNotFound) {
			_, err := s.st.RecordDeliveryAttempt(ctx, d.ID, store.DeliveryFailed, "the channel was deleted: edit the rule")
			errs = append(errs, err)
			continue
		}
		q := s.enqueuer()
		if q == nil {
			_, err := s.st.RecordDeliveryAttempt(ctx, d.ID, store.DeliveryFailed, "no delivery queue in this process")
			errs = append(errs, err)
			continue
		}
		if err := q.EnqueueDelivery(ctx, d.ID); err != nil {
			_, rerr := s.st.RecordDeliveryAttempt(ctx, d.ID, store.DeliveryFailed, "could not be queued: "+err.Error())
			errs = append(errs, fmt.Errorf("queue delivery to %s: %w", name, err), rerr)
		}
	}
	return errors.Join(errs...)
}

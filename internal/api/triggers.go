package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dataaggregator/aggregator/internal/auth"
	"github.com/dataaggregator/aggregator/internal/runs"
	"github.com/dataaggregator/aggregator/internal/store"
)

// Triggers: a pipeline's webhook token (created or rotated, shown once; revoked; its state) and the
// webhook itself, which is authenticated by that token instead of a user's credentials.

// TriggerToken is the state of a pipeline's webhook token; the token itself is never shown again.
type TriggerToken struct {
	Exists     bool       `json:"exists" doc:"The pipeline has a webhook token"`
	Prefix     string     `json:"prefix,omitempty" doc:"The token's first characters, to recognise it"`
	CreatedBy  string     `json:"created_by,omitempty"`
	CreatedAt  *time.Time `json:"created_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty" doc:"When a call last presented this token"`
	URL        string     `json:"url" doc:"Where to POST to trigger a run (relative to the server when PUBLIC_URL is not set)"`
}

func (s *Server) triggerURL(pipelineID string) string {
	return strings.TrimRight(s.publicURL, "/") + "/api/v1/pipelines/" + pipelineID + "/trigger"
}

func (s *Server) toTriggerTokenDTO(pipelineID string, t *store.TriggerToken) TriggerToken {
	d := TriggerToken{URL: s.triggerURL(pipelineID)}
	if t != nil {
		created := t.CreatedAt
		d.Exists, d.Prefix, d.CreatedBy, d.CreatedAt, d.LastUsedAt = true, t.Prefix, t.CreatedBy, &created, t.LastUsedAt
	}
	return d
}

func (s *Server) getTriggerToken(ctx context.Context, in *pipelineIDInput) (*struct{ Body TriggerToken }, error) {
	if _, err := s.store.GetPipeline(ctx, in.ID); err != nil {
		return nil, err
	}
	t, err := s.store.GetTriggerToken(ctx, in.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return &struct{ Body TriggerToken }{Body: s.toTriggerTokenDTO(in.ID, nil)}, nil
	case err != nil:
		return nil, err
	}
	return &struct{ Body TriggerToken }{Body: s.toTriggerTokenDTO(in.ID, &t)}, nil
}

type createTriggerTokenOutput struct {
	Body struct {
		TriggerToken
		Token string `json:"token" doc:"The token itself. Shown once: it cannot be read again. Send it as Authorization: Bearer <token> or X-Trigger-Token: <token>"`
	}
}

func (s *Server) createTriggerToken(ctx context.Context, in *pipelineIDInput) (*createTriggerTokenOutput, error) {
	plain, t, err := s.auth.CreateTriggerToken(ctx, in.ID, principalFrom(ctx).Username)
	if err != nil {
		return nil, err
	}
	infoFrom(ctx).setExtra("token_prefix", t.Prefix)
	out := &createTriggerTokenOutput{}
	out.Body.TriggerToken = s.toTriggerTokenDTO(in.ID, &t)
	out.Body.Token = plain
	return out, nil
}

func (s *Server) deleteTriggerToken(ctx context.Context, in *pipelineIDInput) (*noContent, error) {
	if _, err := s.store.GetPipeline(ctx, in.ID); err != nil {
		return nil, err
	}
	if err := s.store.DeleteTriggerToken(ctx, in.ID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, notFound("a webhook token of this pipeline was")
		}
		return nil, err
	}
	return &noContent{}, nil
}

type webhookInput struct {
	ID            string `path:"id" maxLength:"64"`
	Authorization string `header:"Authorization" doc:"Bearer <the pipeline's webhook token>"`
	TriggerToken  string `header:"X-Trigger-Token" doc:"The pipeline's webhook token (instead of Authorization)"`
}

// WebhookRun is the run a webhook call started.
type WebhookRun struct {
	RunID      string    `json:"run_id"`
	PipelineID string    `json:"pipeline_id"`
	Status     string    `json:"status"`
	Trigger    string    `json:"trigger"`
	CreatedAt  time.Time `json:"created_at"`
}

// webhookToken is the token a webhook call presents (Authorization: Bearer, or X-Trigger-Token).
func webhookToken(in *webhookInput) string {
	if t := strings.TrimSpace(in.TriggerToken); t != "" {
		return t
	}
	if scheme, t, ok := strings.Cut(strings.TrimSpace(in.Authorization), " "); ok && strings.EqualFold(scheme, "Bearer") {
		return strings.TrimSpace(t)
	}
	return ""
}

// webhook starts a run of a pipeline for a caller that holds its webhook token. Wrong or missing
// tokens are 401 (audited as denied) and count against the caller's address and the pipeline:
// after too many, every call from there is 429 until the lock ends.
func (s *Server) webhook(ctx context.Context, in *webhookInput) (*struct{ Body WebhookRun }, error) {
	ri := infoFrom(ctx)
	key := ri.ip + "|" + in.ID
	if wait, err := s.triggerLimiter.Check(ctx, key); err != nil {
		s.log.WarnContext(ctx, "webhook limiter unavailable; call allowed", "error", err)
	} else if wait > 0 {
		ri.setDetail("too many wrong webhook tokens from this address")
		return nil, tooMany(fmt.Sprintf("too many calls with a wrong token from this address for this pipeline; retry after %ds",
			retrySeconds(wait)), retrySeconds(wait))
	}
	t, err := s.auth.CheckTriggerToken(ctx, in.ID, webhookToken(in))
	if errors.Is(err, auth.ErrInvalidToken) {
		if _, ferr := s.triggerLimiter.Fail(ctx, key); ferr != nil {
			s.log.WarnContext(ctx, "webhook limiter unavailable", "error", ferr)
		}
		ri.deny("wrong or missing webhook token")
		return nil, unauthorized("wrong or missing webhook token: send the pipeline's token as Authorization: Bearer <token> or X-Trigger-Token: <token>")
	}
	if err != nil {
		return nil, err
	}
	_ = s.triggerLimiter.Reset(ctx, key)
	actor := "webhook " + t.Prefix + "…"
	ri.setActor("", actor)
	ri.setExtra("token_prefix", t.Prefix)
	detail := runs.TriggerDetail{TokenPrefix: t.Prefix}
	if body := optionalBody(ctx); len(body) > 0 && json.Valid(body) {
		detail.Payload = json.RawMessage(body)
	}
	run, err := s.data.Runs.StartRun(ctx, in.ID, runs.StartRequest{Trigger: runs.TriggerWebhook, Detail: detail,
		Actor: runs.Actor{Name: actor, RequestID: RequestID(ctx)}})
	if err != nil {
		return nil, specError(err)
	}
	ri.setExtra("run_id", run.ID)
	return &struct{ Body WebhookRun }{Body: WebhookRun{RunID: run.ID, PipelineID: run.PipelineID, Status: string(run.Status),
		Trigger: run.Trigger, CreatedAt: run.CreatedAt}}, nil
}

// webhookDescription documents POST /pipelines/{id}/trigger.
const webhookDescription = "Authenticated by the pipeline's webhook token (create it with POST /api/v1/pipelines/{id}/trigger-token), " +
	"not by a user: send it as `Authorization: Bearer <token>` or `X-Trigger-Token: <token>`. 202 with the queued run (trigger `webhook`). " +
	"A wrong or missing token is 401 and is audited; after 10 wrong tokens from one address for one pipeline within 10 minutes, " +
	"every call from that address for that pipeline is 429 for 10 minutes. A draft cannot run (409); a pipeline whose policy says " +
	"`on_busy: refuse` and that has its maximum of runs is 409. An optional JSON body (at most 16 KiB) is kept with the run as " +
	"`trigger_detail.payload`; other bodies are ignored."

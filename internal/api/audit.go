package api

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/dataaggregator/aggregator/internal/store"
)

// audit appends one entry for every state-changing API request that reached a
// route (whatever its outcome, including 401, 403, 422 and 429), and every
// request refused by authentication or RBAC whatever its method, after the
// handler has run. Results: success (< 400), denied (refused by
// authentication, RBAC or an ownership rule: 401 from the auth check, 403),
// failure (any other error, including a wrong password at login). The entry is written before the response completes, so a
// client that reads the audit log after a response sees its entry.
func (s *Server) audit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		ri := infoFrom(r.Context()).snapshot()
		status := sw.code()
		if ri.route == "" || (!ri.auditable && status != http.StatusForbidden && !ri.denied) {
			return
		}
		result := "success"
		switch {
		case ri.denied || status == http.StatusForbidden:
			result = "denied"
		case status >= 400:
			result = "failure"
		}
		details := map[string]any{"status": status, "method": r.Method, "path": r.URL.Path}
		if ri.detail != "" {
			details["reason"] = ri.detail
		}
		for k, v := range ri.extra {
			details[k] = v
		}
		raw, _ := json.Marshal(details)
		entry := store.AuditEntry{
			ActorID: ri.actorID, ActorName: ri.actorName,
			Action:     ri.operation,
			TargetType: ri.targetType, TargetID: ri.targetID,
			IP: ri.ip, UserAgent: truncate(ri.userAgent, 512),
			Result: result, RequestID: ri.id, Details: raw,
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
		defer cancel()
		if _, err := s.store.AppendAudit(ctx, entry); err != nil {
			s.log.ErrorContext(ctx, "audit entry not written", "action", entry.Action, "error", err)
		}
	})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// AuditEntry is an audit entry as the API shows it.
type AuditEntry struct {
	ID         int64           `json:"id"`
	Time       time.Time       `json:"time"`
	ActorID    string          `json:"actor_id"`
	ActorName  string          `json:"actor_name"`
	Action     string          `json:"action"`
	TargetType string          `json:"target_type"`
	TargetID   string          `json:"target_id"`
	IP         string          `json:"ip"`
	UserAgent  string          `json:"user_agent"`
	Result     string          `json:"result" enum:"success,failure,denied"`
	RequestID  string          `json:"request_id"`
	Details    json.RawMessage `json:"details,omitempty"`
}

type listAuditInput struct {
	PageQuery
	Actor      string    `query:"actor" maxLength:"100" doc:"Actor user id"`
	Action     string    `query:"action" maxLength:"100" doc:"Exact action, or a prefix ending with '.' (\"user.\")"`
	TargetType string    `query:"target_type" maxLength:"100"`
	TargetID   string    `query:"target_id" maxLength:"200"`
	Result     string    `query:"result" enum:"success,failure,denied" doc:"success, failure or denied"`
	RequestID  string    `query:"request_id" maxLength:"100" doc:"Only the entries of this API request (its X-Request-ID)"`
	From       time.Time `query:"from" doc:"Inclusive start (RFC 3339)"`
	To         time.Time `query:"to" doc:"Exclusive end (RFC 3339)"`
}

type listAuditOutput struct {
	Body Page[AuditEntry]
}

func (s *Server) listAudit(ctx context.Context, in *listAuditInput) (*listAuditOutput, error) {
	if !in.From.IsZero() && !in.To.IsZero() && !in.From.Before(in.To) {
		return nil, invalid("query.to", "must be after from", in.To)
	}
	entries, total, err := s.store.ListAudit(ctx, store.AuditFilter{
		ActorID: in.Actor, Action: in.Action, TargetType: in.TargetType, TargetID: in.TargetID,
		Result: in.Result, RequestID: in.RequestID, From: in.From, To: in.To, Page: in.store(),
	})
	if err != nil {
		return nil, err
	}
	items := make([]AuditEntry, len(entries))
	for i, e := range entries {
		items[i] = toAuditDTO(e)
	}
	return &listAuditOutput{Body: newPage(items, total, in.PageQuery)}, nil
}

func toAuditDTO(e store.AuditEntry) AuditEntry {
	return AuditEntry{
		ID: e.ID, Time: e.Time, ActorID: e.ActorID, ActorName: e.ActorName, Action: e.Action,
		TargetType: e.TargetType, TargetID: e.TargetID, IP: e.IP, UserAgent: e.UserAgent,
		Result: e.Result, RequestID: e.RequestID, Details: e.Details,
	}
}

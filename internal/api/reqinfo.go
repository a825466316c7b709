package api

import (
	"context"
	"log/slog"
	"sync"
)

// reqInfo is the per-request record shared by the outer net/http middleware
// (which creates it) and the per-operation middleware and handlers (which fill
// it in). The access log, metrics and audit read it after the handler returns.
type reqInfo struct {
	id        string
	ip        string
	userAgent string

	mu         sync.Mutex
	route      string // "GET /api/v1/users/{id}"; empty when no route matched
	operation  string // operation id, the audit action
	auditable  bool
	actorID    string
	actorName  string
	targetType string
	targetID   string
	detail     string
	extra      map[string]any // more secret-free audit details (the counts of a clean-up)
	denied     bool           // refused by authentication or RBAC
}

type reqInfoKey struct{}

func withReqInfo(ctx context.Context, ri *reqInfo) context.Context {
	return context.WithValue(ctx, reqInfoKey{}, ri)
}

// infoFrom returns the request record, or a throw-away one when ctx did not
// come through the middleware (so callers never need a nil check).
func infoFrom(ctx context.Context) *reqInfo {
	if ri, ok := ctx.Value(reqInfoKey{}).(*reqInfo); ok {
		return ri
	}
	return &reqInfo{}
}

// RequestID returns the request id carried by ctx, or "".
func RequestID(ctx context.Context) string {
	if ri, ok := ctx.Value(reqInfoKey{}).(*reqInfo); ok {
		return ri.id
	}
	return ""
}

// RequestUser returns the request id carried by ctx and the name of its signed-in user ("" when
// not known yet); internal/app tees log records with them into the system log store.
func RequestUser(ctx context.Context) (id, user string) {
	ri, ok := ctx.Value(reqInfoKey{}).(*reqInfo)
	if !ok {
		return "", ""
	}
	ri.mu.Lock()
	defer ri.mu.Unlock()
	return ri.id, ri.actorName
}

func (ri *reqInfo) setRoute(route, operation string, auditable bool) {
	ri.mu.Lock()
	ri.route, ri.operation, ri.auditable = route, operation, auditable
	ri.mu.Unlock()
}

func (ri *reqInfo) setActor(id, name string) {
	ri.mu.Lock()
	ri.actorID, ri.actorName = id, name
	ri.mu.Unlock()
}

// setTarget names what the request acted on, for the audit entry.
func (ri *reqInfo) setTarget(typ, id string) {
	ri.mu.Lock()
	ri.targetType, ri.targetID = typ, id
	ri.mu.Unlock()
}

// deny marks the request as refused by authentication or RBAC, with a
// secret-free reason.
func (ri *reqInfo) deny(reason string) {
	ri.mu.Lock()
	ri.denied, ri.detail = true, reason
	ri.mu.Unlock()
}

// setDetail adds a short, secret-free note to the audit entry (such as the
// reason a login failed).
func (ri *reqInfo) setDetail(d string) {
	ri.mu.Lock()
	ri.detail = d
	ri.mu.Unlock()
}

// setExtra adds a secret-free value to the audit entry's details under key.
func (ri *reqInfo) setExtra(key string, v any) {
	ri.mu.Lock()
	if ri.extra == nil {
		ri.extra = map[string]any{}
	}
	ri.extra[key] = v
	ri.mu.Unlock()
}

func (ri *reqInfo) snapshot() reqInfo {
	ri.mu.Lock()
	defer ri.mu.Unlock()
	return reqInfo{
		id: ri.id, ip: ri.ip, userAgent: ri.userAgent,
		route: ri.route, operation: ri.operation, auditable: ri.auditable,
		actorID: ri.actorID, actorName: ri.actorName,
		targetType: ri.targetType, targetID: ri.targetID, detail: ri.detail, extra: ri.extra, denied: ri.denied,
	}
}

// ContextHandler wraps a slog.Handler so that every record logged with a
// request's context carries its request_id. internal/app builds the process
// logger with it, so packages below the API get the id for free when they log
// with the request context.
func ContextHandler(h slog.Handler) slog.Handler { return ctxHandler{h} }

type ctxHandler struct{ slog.Handler }

func (h ctxHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h ctxHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return ctxHandler{h.Handler.WithAttrs(attrs)}
}

func (h ctxHandler) WithGroup(name string) slog.Handler {
	return ctxHandler{h.Handler.WithGroup(name)}
}

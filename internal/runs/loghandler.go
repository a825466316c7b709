package runs

import (
	"context"
	"log/slog"
	"strings"
)

// runLogHandler passes the engine's log records to the application logger and copies those at
// info level and above into the run log, so GET /runs/{id}/logs shows what the engine said.
type runLogHandler struct {
	next  slog.Handler
	log   *runLog
	attrs []slog.Attr
}

func (h *runLogHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelInfo || h.next.Enabled(ctx, l)
}

func (h *runLogHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelInfo {
		details := map[string]any{}
		node := ""
		add := func(a slog.Attr) bool {
			if a.Key == "node" {
				node = a.Value.String()
			}
			details[a.Key] = a.Value.Resolve().Any()
			if err, ok := details[a.Key].(error); ok {
				details[a.Key] = err.Error()
			}
			return true
		}
		for _, a := range h.attrs {
			add(a)
		}
		r.Attrs(add)
		delete(details, "run_id")
		h.log.add(levelName(r.Level), node, r.Message, details)
	}
	if h.next.Enabled(ctx, r.Level) {
		return h.next.Handle(ctx, r)
	}
	return nil
}

func (h *runLogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &runLogHandler{next: h.next.WithAttrs(as), log: h.log, attrs: append(append([]slog.Attr(nil), h.attrs...), as...)}
}

func (h *runLogHandler) WithGroup(name string) slog.Handler {
	return &runLogHandler{next: h.next.WithGroup(name), log: h.log, attrs: h.attrs}
}

func levelName(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return "error"
	case l >= slog.LevelWarn:
		return "warn"
	case l >= slog.LevelInfo:
		return "info"
	}
	return strings.ToLower(l.String())
}

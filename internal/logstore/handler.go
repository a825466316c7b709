package logstore

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dataaggregator/aggregator/internal/store"
)

// Bounds of one stored record.
const (
	MaxMessage   = 8 << 10 // bytes of the message
	MaxAttrValue = 2 << 10 // bytes of one attribute's text
	MaxAttrs     = 32      // attributes kept per record
)

// Redacted replaces the value of an attribute whose name says it holds a secret.
const Redacted = "[REDACTED]"

// RequestFunc returns the request id and the signed-in user's name carried by ctx ("" when none).
type RequestFunc func(ctx context.Context) (requestID, user string)

// NewHandler returns a handler that passes every record to inner and also enqueues it on w. It
// keeps inner's level (Enabled is inner's). request names the request and user of a record logged
// with a request's context (nil: none). A record's "component", "run_id", "request_id" and "user"
// attributes fill the stored columns; the others are kept as JSON, LogValuer values resolved (so
// types that redact themselves, such as config.Config, stay redacted) and secret-named attributes
// ("password", "secret", "token", "authorization", ...) replaced by Redacted.
func NewHandler(inner slog.Handler, w *Writer, request RequestFunc) slog.Handler {
	return &handler{inner: inner, w: w, request: request}
}

type handler struct {
	inner   slog.Handler
	w       *Writer
	request RequestFunc
	attrs   []slog.Attr // from WithAttrs, keys already prefixed with their groups
	prefix  string      // "group." of WithGroup
}

func (h *handler) Enabled(ctx context.Context, l slog.Level) bool { return h.inner.Enabled(ctx, l) }

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	err := h.inner.Handle(ctx, r)
	h.w.Enqueue(h.entry(ctx, r))
	return err
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.inner = h.inner.WithAttrs(attrs)
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), prefixed(h.prefix, attrs)...)
	return &c
}

func (h *handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.inner = h.inner.WithGroup(name)
	c.prefix = h.prefix + name + "."
	return &c
}

func prefixed(prefix string, attrs []slog.Attr) []slog.Attr {
	if prefix == "" {
		return attrs
	}
	out := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		out[i] = slog.Attr{Key: prefix + a.Key, Value: a.Value}
	}
	return out
}

// entry turns a record into what is stored.
func (h *handler) entry(ctx context.Context, r slog.Record) store.ServerLog {
	e := store.ServerLog{Time: r.Time, Level: levelName(r.Level), Message: clip(r.Message, MaxMessage)}
	if e.Message == "" {
		e.Message = "(no message)"
	}
	if h.request != nil {
		e.RequestID, e.User = h.request(ctx)
	}
	attrs := map[string]any{}
	add := func(a slog.Attr) {
		a.Value = a.Value.Resolve()
		switch a.Key {
		case "component":
			e.Component = clip(a.Value.String(), 100)
			return
		case "run_id":
			e.RunID = clip(a.Value.String(), 100)
			return
		case "request_id":
			if e.RequestID == "" {
				e.RequestID = clip(a.Value.String(), 100)
			}
			return
		case "user":
			if e.User == "" {
				e.User = clip(a.Value.String(), 200)
			}
			return
		}
		flatten(attrs, "", a)
	}
	for _, a := range h.attrs {
		add(a)
	}
	if h.prefix == "" {
		r.Attrs(func(a slog.Attr) bool { add(a); return true })
	} else {
		r.Attrs(func(a slog.Attr) bool {
			flatten(attrs, h.prefix, slog.Attr{Key: a.Key, Value: a.Value.Resolve()})
			return true
		})
	}
	if len(attrs) > 0 {
		if raw, err := json.Marshal(attrs); err == nil {
			e.Attrs = raw
		}
	}
	return e
}

// flatten adds a (groups as "group.key") to m, at most MaxAttrs keys, secrets redacted.
func flatten(m map[string]any, prefix string, a slog.Attr) {
	if a.Key == "" && a.Value.Kind() != slog.KindGroup {
		return
	}
	key := prefix + a.Key
	if a.Value.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p = key + "."
		}
		for _, g := range a.Value.Group() {
			g.Value = g.Value.Resolve()
			flatten(m, p, g)
		}
		return
	}
	if len(m) >= MaxAttrs {
		return
	}
	if secretName(a.Key) {
		m[key] = Redacted
		return
	}
	switch v := a.Value; v.Kind() {
	case slog.KindBool:
		m[key] = v.Bool()
	case slog.KindInt64:
		m[key] = v.Int64()
	case slog.KindUint64:
		m[key] = v.Uint64()
	case slog.KindFloat64:
		m[key] = v.Float64()
	case slog.KindDuration:
		m[key] = v.Duration().String()
	case slog.KindTime:
		m[key] = v.Time().UTC().Format(time.RFC3339Nano)
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			m[key] = clip(x.Error(), MaxAttrValue)
		case fmt.Stringer:
			m[key] = clip(x.String(), MaxAttrValue)
		default:
			raw, err := json.Marshal(x)
			if err != nil || len(raw) > MaxAttrValue {
				m[key] = clip(fmt.Sprint(x), MaxAttrValue)
			} else {
				m[key] = json.RawMessage(raw)
			}
		}
	default:
		m[key] = clip(v.String(), MaxAttrValue)
	}
}

// secretName reports whether an attribute's name says it holds a secret.
func secretName(key string) bool {
	k := strings.ToLower(key)
	if i := strings.LastIndexByte(k, '.'); i >= 0 {
		k = k[i+1:]
	}
	switch k {
	case "token", "authorization", "cookie", "set-cookie", "api_key", "apikey", "private_key", "dsn":
		return true
	}
	for _, s := range []string{"password", "passwd", "secret", "_token", "credential"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
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
	return "debug"
}

// clip cuts s to at most n bytes on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

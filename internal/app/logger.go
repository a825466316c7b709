package app

import (
	"io"
	"log/slog"

	"github.com/dataaggregator/aggregator/internal/api"
	"github.com/dataaggregator/aggregator/internal/config"
)

// NewLogger builds the process logger: JSON (or text) on w at LOG_LEVEL,
// adding the request id to every record logged with a request's context.
func NewLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.SlogLevel()}
	var h slog.Handler
	if cfg.LogFormat == "text" {
		h = slog.NewTextHandler(w, opts)
	} else {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(api.ContextHandler(h))
}

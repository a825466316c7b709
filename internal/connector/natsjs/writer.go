package natsjs

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/streamkit"
	"github.com/dataaggregator/aggregator/internal/record"
)

type writer struct {
	cfg     Config
	nc      *nats.Conn
	js      jetstream.JetStream
	enc     *streamkit.Encoder
	idField int
	prefix  string
	n       int64
	futures []jetstream.PubAckFuture
}

// OpenWriter connects and, with create_stream, creates the stream.
func (c *Connector) OpenWriter(ctx context.Context, env connector.Env, raw map[string]any, req connector.WriteRequest) (connector.Writer, error) {
	cfg, err := decode(raw, false)
	if err != nil {
		return nil, err
	}
	if req.Mode != "" && req.Mode != connector.Append {
		return nil, fmt.Errorf("nats_jetstream: write mode %s: %w (a stream is appended to; use append)", req.Mode, connector.ErrUnsupported)
	}
	if req.Schema == nil {
		return nil, errors.New("nats_jetstream: no input schema")
	}
	enc, err := streamkit.NewEncoder(cfg.Payload, req.Schema)
	if err != nil {
		return nil, connector.ConfigError(err)
	}
	w := &writer{cfg: cfg, enc: enc, idField: -1, prefix: req.RunID + "-" + req.Node + "-"}
	if cfg.MsgIDField != "" {
		if w.idField = req.Schema.Index(cfg.MsgIDField); w.idField < 0 {
			return nil, connector.ConfigError(fmt.Errorf("msg_id_field: the input has no field %q (fields: %s)", cfg.MsgIDField, strings.Join(req.Schema.Names(), ", ")))
		}
	}
	if w.nc, err = cfg.connect(env, logger(env), "destination"); err != nil {
		return nil, err
	}
	if w.js, err = jetstream.New(w.nc, jetstream.WithPublishAsyncMaxPending(16384)); err != nil {
		w.nc.Close()
		return nil, err
	}
	if _, err := w.js.Stream(ctx, cfg.Stream); err != nil {
		if !errors.Is(err, jetstream.ErrStreamNotFound) || !cfg.CreateStream {
			w.nc.Close()
			if errors.Is(err, jetstream.ErrStreamNotFound) {
				return nil, fmt.Errorf("nats: stream %s does not exist (set create_stream: true to create it): %w", cfg.Stream, connector.ErrNotFound)
			}
			return nil, fmt.Errorf("nats: stream %s: %w", cfg.Stream, err)
		}
		if _, err := w.js.CreateStream(ctx, jetstream.StreamConfig{Name: cfg.Stream, Subjects: []string{cfg.Subject}}); err != nil {
			w.nc.Close()
			return nil, fmt.Errorf("nats: create stream %s: %w", cfg.Stream, err)
		}
	}
	return w, nil
}

// Write publishes every row asynchronously (at most 16,384 unacknowledged: then it waits).
func (w *writer) Write(ctx context.Context, b *record.Batch) error {
	for _, row := range b.Rows {
		w.n++
		id := w.prefix + strconv.FormatInt(w.n, 10)
		if w.idField >= 0 {
			id = row[w.idField].String()
		}
		m := &nats.Msg{Subject: w.cfg.Subject, Data: w.enc.Append(nil, row)}
		f, err := w.js.PublishMsgAsync(m, jetstream.WithMsgID(id), jetstream.WithExpectStream(w.cfg.Stream))
		if err != nil {
			return fmt.Errorf("nats: publish to %s: %w", w.cfg.Subject, err)
		}
		w.futures = append(w.futures, f)
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return nil
}

// Commit waits for the stream's acknowledgement of every message published so far.
func (w *writer) Commit(ctx context.Context) error {
	fs := w.futures
	w.futures = nil
	for _, f := range fs {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return fmt.Errorf("nats: publish to %s (stream %s): %w", w.cfg.Subject, w.cfg.Stream, err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (w *writer) Close(ctx context.Context) error {
	defer w.nc.Close()
	return w.Commit(ctx)
}

// Abort stops publishing; acknowledged messages stay in the stream.
func (w *writer) Abort(context.Context) error {
	w.nc.Close()
	return nil
}

package mqtt

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/streamkit"
	"github.com/dataaggregator/aggregator/internal/record"
)

// ackTimeout bounds the wait for one message's PUBACK.
const ackTimeout = 30 * time.Second

type writer struct {
	cfg     Config
	cl      paho.Client
	enc     *streamkit.Encoder
	topic   int // -1: the topic of the config
	pending []paho.Token
	err     error
}

// OpenWriter connects with a clean session. A message not acknowledged when the connection drops
// fails the commit with a transient error (the run fails and its source is not acknowledged, so the
// rows are sent again by the next run): paho's own resending of a persistent session's messages is
// not relied on, since it cannot tell the writer which of them the broker finally took.
func (c *Connector) OpenWriter(ctx context.Context, env connector.Env, raw map[string]any, req connector.WriteRequest) (connector.Writer, error) {
	cfg, err := decode(raw, false)
	if err != nil {
		return nil, err
	}
	if req.Mode != "" && req.Mode != connector.Append {
		return nil, fmt.Errorf("mqtt: write mode %s: %w (messages are published; use append)", req.Mode, connector.ErrUnsupported)
	}
	if req.Schema == nil {
		return nil, fmt.Errorf("mqtt: no input schema")
	}
	enc, err := streamkit.NewEncoder(cfg.Payload, req.Schema)
	if err != nil {
		return nil, connector.ConfigError(err)
	}
	w := &writer{cfg: cfg, enc: enc, topic: -1}
	if cfg.TopicField != "" {
		if w.topic = req.Schema.Index(cfg.TopicField); w.topic < 0 {
			return nil, connector.ConfigError(fmt.Errorf("topic_field: the input has no field %q (fields: %s)", cfg.TopicField, strings.Join(req.Schema.Names(), ", ")))
		}
	}
	if cfg.ClientID == "" {
		cfg.ClientID = randomID("aggregator-")
		w.cfg.ClientID = cfg.ClientID
	}
	o, err := cfg.options(env)
	if err != nil {
		return nil, err
	}
	o.SetCleanSession(true)
	o.SetAutoReconnect(false)
	log := env.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	o.SetConnectionLostHandler(func(_ paho.Client, err error) {
		log.Warn("mqtt: destination lost the broker; the messages not yet acknowledged fail the commit", "broker", cfg.where(), "err", err)
	})
	w.cl = paho.NewClient(o)
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := wait(cctx, w.cl.Connect()); err != nil {
		return nil, cfg.connectError(err)
	}
	return w, nil
}

// Write publishes every row with QoS 1; it waits for acknowledgements only when max_in_flight are
// outstanding.
func (w *writer) Write(ctx context.Context, b *record.Batch) error {
	if w.err != nil {
		return w.err
	}
	for _, row := range b.Rows {
		if len(w.pending) >= w.cfg.MaxInFlight {
			if err := w.settle(ctx, len(w.pending)/2+1); err != nil {
				return err
			}
		}
		if !w.cl.IsConnectionOpen() {
			return w.fail(fmt.Errorf("mqtt: publish to %s: the connection to the broker was lost (%w)", w.cfg.where(), connector.ErrTransient))
		}
		topic := w.cfg.Topic
		if w.topic >= 0 {
			topic = string(row[w.topic].AppendText(nil))
			if topic == "" || strings.ContainsAny(topic, "+#") {
				return w.fail(fmt.Errorf("mqtt: topic_field %s: %q is not a topic to publish to", w.cfg.TopicField, topic))
			}
		}
		w.pending = append(w.pending, w.cl.Publish(topic, 1, w.cfg.Retain, w.enc.Append(nil, row)))
	}
	return nil
}

func (w *writer) fail(err error) error {
	if w.err == nil {
		w.err = err
	}
	return w.err
}

// settle waits for the PUBACKs of the oldest n messages (at most ackTimeout for each).
func (w *writer) settle(ctx context.Context, n int) error {
	for i, t := range w.pending[:n] {
		tctx, cancel := context.WithTimeout(ctx, ackTimeout)
		err := wait(tctx, t)
		cancel()
		if err != nil && ctx.Err() == nil && tctx.Err() != nil {
			err = fmt.Errorf("no acknowledgement (PUBACK) within %s", ackTimeout)
		}
		if err != nil {
			w.pending = w.pending[i:]
			if ctx.Err() != nil {
				return err
			}
			return w.fail(fmt.Errorf("mqtt: publish to %s: %v (%w)", w.cfg.where(), err, connector.ErrTransient))
		}
	}
	w.pending = append(w.pending[:0], w.pending[n:]...)
	return nil
}

// Commit waits until the broker acknowledged every message published so far.
func (w *writer) Commit(ctx context.Context) error {
	if w.err != nil {
		return w.err
	}
	return w.settle(ctx, len(w.pending))
}

func (w *writer) Close(ctx context.Context) error {
	defer w.cl.Disconnect(250)
	return w.Commit(ctx)
}

// Abort disconnects; messages already acknowledged stay published.
func (w *writer) Abort(context.Context) error {
	w.cl.Disconnect(0)
	return nil
}

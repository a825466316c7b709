package amqp

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/streamkit"
	"github.com/dataaggregator/aggregator/internal/record"
)

type writer struct {
	cfg     Config
	conn    *amqp091.Connection
	ch      *amqp091.Channel
	enc     *streamkit.Encoder
	ctype   string
	key     int // -1: routing_key
	msgID   int // -1: no message id
	headers []int
	now     func() time.Time

	pending []*amqp091.DeferredConfirmation // published since the last Commit, not yet confirmed
	returns chan amqp091.Return
	err     error // the first failure since the last Commit
}

// OpenWriter connects, puts the channel in confirm mode and declares (or checks) the queue.
func (c *Connector) OpenWriter(ctx context.Context, env connector.Env, raw map[string]any, req connector.WriteRequest) (connector.Writer, error) {
	cfg, err := decode(raw, false)
	if err != nil {
		return nil, err
	}
	if req.Mode != "" && req.Mode != connector.Append {
		return nil, fmt.Errorf("amqp: write mode %s: %w (messages are appended to a queue; use append)", req.Mode, connector.ErrUnsupported)
	}
	if req.Schema == nil {
		return nil, fmt.Errorf("amqp: no input schema")
	}
	enc, err := streamkit.NewEncoder(cfg.Payload, req.Schema)
	if err != nil {
		return nil, connector.ConfigError(err)
	}
	w := &writer{cfg: cfg, enc: enc, key: -1, msgID: -1, now: env.Now}
	switch cfg.Format {
	case streamkit.CSV:
		w.ctype = "text/csv"
	case streamkit.Raw:
		w.ctype = "text/plain"
	case streamkit.NDJSON:
		w.ctype = "application/x-ndjson"
	default:
		w.ctype = "application/json"
	}
	field := func(name, key string) (int, error) {
		i := req.Schema.Index(name)
		if i < 0 {
			return 0, connector.ConfigError(fmt.Errorf("%s: the input has no field %q (fields: %s)", key, name, strings.Join(req.Schema.Names(), ", ")))
		}
		return i, nil
	}
	if cfg.RoutingKeyField != "" {
		if w.key, err = field(cfg.RoutingKeyField, "routing_key_field"); err != nil {
			return nil, err
		}
	}
	if cfg.MessageIDField != "" {
		if w.msgID, err = field(cfg.MessageIDField, "message_id_field"); err != nil {
			return nil, err
		}
	}
	for i, h := range cfg.HeaderFields {
		j, err := field(h, fmt.Sprintf("header_fields[%d]", i))
		if err != nil {
			return nil, err
		}
		w.headers = append(w.headers, j)
	}
	if w.cfg.RoutingKey == "" && w.cfg.Exchange == "" {
		w.cfg.RoutingKey = cfg.Queue // the default exchange routes by queue name
	}
	conn, err := cfg.dial(ctx, env)
	if err != nil {
		return nil, err
	}
	ch, err := conn.Channel()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("amqp: open a channel on %s: %v (%w)", cfg.where(), err, connector.ErrTransient)
	}
	keys := []string(nil)
	if cfg.RoutingKey != "" {
		keys = []string{cfg.RoutingKey}
	}
	if err := cfg.declare(ch, keys); err != nil {
		conn.Close()
		return nil, err
	}
	if err := ch.Confirm(false); err != nil {
		conn.Close()
		return nil, fmt.Errorf("amqp: confirm mode on %s: %v", cfg.where(), err)
	}
	// Returns (unroutable mandatory messages) come before the confirm of their message; the buffer
	// holds every return of the messages in flight, so the client never blocks on it.
	w.returns = ch.NotifyReturn(make(chan amqp091.Return, 2*cfg.MaxInFlight+1))
	w.conn, w.ch = conn, ch
	return w, nil
}

// Write publishes every row; it waits for confirms only when max_in_flight messages are unconfirmed.
func (w *writer) Write(ctx context.Context, b *record.Batch) error {
	if w.err != nil {
		return w.err
	}
	ts := time.Now()
	if w.now != nil {
		ts = w.now()
	}
	for _, row := range b.Rows {
		if len(w.pending) >= w.cfg.MaxInFlight {
			if err := w.settle(ctx, len(w.pending)/2+1); err != nil {
				return err
			}
		}
		p := amqp091.Publishing{ContentType: w.ctype, Body: w.enc.Append(nil, row), Timestamp: ts.UTC()}
		if w.cfg.Persistent {
			p.DeliveryMode = amqp091.Persistent
		}
		if w.msgID >= 0 && !row[w.msgID].IsNull() {
			p.MessageId = string(row[w.msgID].AppendText(nil))
		}
		if len(w.headers) > 0 {
			p.Headers = amqp091.Table{}
			for j, h := range w.headers {
				if !row[h].IsNull() {
					p.Headers[w.cfg.HeaderFields[j]] = string(row[h].AppendText(nil))
				}
			}
		}
		key := w.cfg.RoutingKey
		if w.key >= 0 {
			key = string(row[w.key].AppendText(nil))
		}
		dc, err := w.ch.PublishWithDeferredConfirmWithContext(ctx, w.cfg.Exchange, key, w.cfg.Mandatory, false, p)
		if err != nil {
			return w.fail(fmt.Errorf("amqp: publish to %s: %w", w.target(key), w.lost(err)))
		}
		w.pending = append(w.pending, dc)
	}
	return w.checkReturns()
}

func (w *writer) target(key string) string {
	if w.cfg.Exchange == "" {
		return fmt.Sprintf("queue %q", key)
	}
	return fmt.Sprintf("exchange %q (routing key %q)", w.cfg.Exchange, key)
}

// lost marks a failure of a closed connection as transient.
func (w *writer) lost(err error) error {
	if w.conn.IsClosed() || errors.Is(err, amqp091.ErrClosed) {
		return fmt.Errorf("%v: the connection to %s was lost (%w)", err, w.cfg.where(), connector.ErrTransient)
	}
	return err
}

func (w *writer) fail(err error) error {
	if w.err == nil {
		w.err = err
	}
	return w.err
}

// settle waits for the confirms of the oldest n messages in flight.
func (w *writer) settle(ctx context.Context, n int) error {
	for i, dc := range w.pending[:n] {
		ack, err := dc.WaitContext(ctx)
		if err != nil {
			w.pending = w.pending[i:]
			return err
		}
		if !ack {
			w.pending = w.pending[i+1:]
			if w.conn.IsClosed() || w.ch.IsClosed() {
				return w.fail(fmt.Errorf("amqp: %s closed before confirming message %d: (%w)", w.cfg.where(), dc.DeliveryTag, connector.ErrTransient))
			}
			return w.fail(fmt.Errorf("amqp: %s refused (nacked) message %d", w.cfg.where(), dc.DeliveryTag))
		}
	}
	w.pending = append(w.pending[:0], w.pending[n:]...)
	return w.checkReturns()
}

// checkReturns fails on the first message the broker returned as unroutable.
func (w *writer) checkReturns() error {
	select {
	case ret := <-w.returns:
		id := ""
		if ret.MessageId != "" {
			id = fmt.Sprintf(" (message-id %s)", ret.MessageId)
		}
		return w.fail(fmt.Errorf("amqp: message%s returned by %s: %s %d: no queue is bound to exchange %q for routing key %q (declare and bind one, or set mandatory: false to let the broker drop such messages)",
			id, w.cfg.where(), ret.ReplyText, ret.ReplyCode, ret.Exchange, ret.RoutingKey))
	default:
		return w.err
	}
}

// Commit waits until the broker confirmed every message published so far.
func (w *writer) Commit(ctx context.Context) error {
	if w.err != nil {
		return w.err
	}
	return w.settle(ctx, len(w.pending))
}

func (w *writer) Close(ctx context.Context) error {
	defer w.conn.Close()
	return w.Commit(ctx)
}

// Abort closes the connection; messages already confirmed stay in their queues.
func (w *writer) Abort(context.Context) error {
	return w.conn.Close()
}

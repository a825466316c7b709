package amqp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/streamkit"
	"github.com/dataaggregator/aggregator/internal/record"
)

// state is a source's checkpoint: the last delivery tag returned on the channel session. Delivery
// tags mean something only on their channel: a state of another session (an earlier connection, an
// earlier process) acknowledges nothing, and the broker redelivers what that session left unacked.
type state struct {
	Session     string `json:"session,omitempty"`
	DeliveryTag uint64 `json:"delivery_tag,omitempty"`
}

const defaultBatch = 1000

type reader struct {
	cfg   Config
	env   connector.Env
	dec   *streamkit.Decoder
	log   *slog.Logger
	batch int

	mu      sync.Mutex
	conn    *amqp091.Connection
	ch      *amqp091.Channel
	session string
	last    uint64 // the last delivery tag Next returned on session
	acked   uint64 // the last delivery tag acknowledged on session
	total   int64  // deliveries acknowledged by this reader, over every session
	down    bool   // the broker was lost; logged once until it returns

	deliveries <-chan amqp091.Delivery
}

// Open connects, checks (or declares) the queue and starts consuming it.
func (c *Connector) Open(ctx context.Context, env connector.Env, raw map[string]any, req connector.ReadRequest) (connector.Reader, error) {
	cfg, err := decode(raw, true)
	if err != nil {
		return nil, err
	}
	dec, err := streamkit.NewDecoder(cfg.Payload, metaFields(cfg.Metadata))
	if err != nil {
		return nil, connector.ConfigError(err)
	}
	log := env.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &reader{cfg: cfg, env: env, dec: dec, log: log, batch: req.BatchSize}
	if r.batch <= 0 {
		r.batch = defaultBatch
	}
	if err := r.connect(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// connect opens a connection and a channel with the prefetch bound and starts the consumer.
func (r *reader) connect(ctx context.Context) error {
	conn, err := r.cfg.dial(ctx, r.env)
	if err != nil {
		return err
	}
	ch, err := conn.Channel()
	if err != nil {
		conn.Close()
		return fmt.Errorf("amqp: open a channel on %s: %v (%w)", r.cfg.where(), err, connector.ErrTransient)
	}
	if err := r.cfg.declare(ch, r.cfg.BindingKeys); err != nil {
		conn.Close()
		return err
	}
	if err := ch.Qos(r.cfg.Prefetch, 0, false); err != nil {
		conn.Close()
		return fmt.Errorf("amqp: set prefetch %d on %s: %v", r.cfg.Prefetch, r.cfg.where(), err)
	}
	d, err := ch.ConsumeWithContext(ctx, r.cfg.Queue, r.cfg.ConsumerTag, false, false, false, false, nil)
	if err != nil {
		conn.Close()
		return fmt.Errorf("amqp: consume queue %q on %s: %v", r.cfg.Queue, r.cfg.where(), err)
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	r.mu.Lock()
	r.conn, r.ch, r.deliveries = conn, ch, d
	r.session, r.last, r.acked = hex.EncodeToString(id[:]), 0, 0
	r.mu.Unlock()
	return nil
}

// reconnect waits until the broker can be reached again (or ctx is done). The deliveries the lost
// channel had not acknowledged are redelivered by the broker on the new one.
func (r *reader) reconnect(ctx context.Context, cause error) error {
	r.mu.Lock()
	if r.conn != nil {
		r.conn.Close()
	}
	r.conn, r.ch, r.deliveries, r.session = nil, nil, nil, ""
	if !r.down {
		r.down = true
		r.log.Warn("amqp: lost the broker; paused, retrying until it returns (unacknowledged deliveries will be redelivered)",
			"broker", r.cfg.where(), "queue", r.cfg.Queue, "err", cause)
	}
	r.mu.Unlock()
	wait := 200 * time.Millisecond
	for {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		err := r.connect(ctx)
		if err == nil {
			r.mu.Lock()
			r.down = false
			r.mu.Unlock()
			r.log.Info("amqp: broker reachable again; resuming", "broker", r.cfg.where(), "queue", r.cfg.Queue)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, connector.ErrNotFound) || errors.Is(err, connector.ErrConfig) {
			return err // the queue was deleted, the credentials changed: waiting cannot help
		}
		r.log.Debug("amqp: reconnect failed", "broker", r.cfg.where(), "err", err)
		wait = min(2*wait, 10*time.Second)
	}
}

func (r *reader) Schema() *record.Schema { return r.dec.Schema() }

// Next blocks until deliveries arrive (or ctx is done) and returns those at hand as one batch.
func (r *reader) Next(ctx context.Context) (*record.Batch, error) {
	b := record.NewBuilder(r.dec.Schema(), r.batch)
	for {
		r.mu.Lock()
		d := r.deliveries
		r.mu.Unlock()
		if d == nil {
			if err := r.reconnect(ctx, fmt.Errorf("not connected")); err != nil {
				return nil, err
			}
			continue
		}
		var first amqp091.Delivery
		var ok bool
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case first, ok = <-d:
		}
		if !ok {
			if err := r.reconnect(ctx, r.closeReason()); err != nil {
				return nil, err
			}
			continue
		}
		r.add(b, &first)
		n := 1
	drain:
		for n < r.batch {
			select {
			case m, ok := <-d:
				if !ok {
					break drain // the next call reconnects
				}
				r.add(b, &m)
				n++
			default:
				break drain
			}
		}
		if out := b.Take(); out != nil {
			return out, nil
		}
	}
}

// closeReason is why the channel closed, as far as the client knows.
func (r *reader) closeReason() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ch != nil && r.ch.IsClosed() {
		if r.conn != nil && r.conn.IsClosed() {
			return fmt.Errorf("connection closed")
		}
		return fmt.Errorf("channel closed")
	}
	return fmt.Errorf("consumer cancelled")
}

func (r *reader) add(b *record.Builder, m *amqp091.Delivery) {
	src := r.cfg.Queue + "@" + strconv.FormatUint(m.DeliveryTag, 10)
	if m.MessageId != "" {
		src += " (message-id " + m.MessageId + ")"
	}
	meta := r.cfg.Metadata
	r.dec.Add(b, m.Body, int64(m.DeliveryTag), src, func(row record.Row) {
		if !meta {
			return
		}
		row[0] = record.Int(int64(m.DeliveryTag))
		if m.MessageId != "" {
			row[1] = record.String(m.MessageId)
		}
		row[2] = record.String(m.RoutingKey)
		row[3] = record.String(m.Exchange)
		if len(m.Headers) > 0 {
			if js, err := json.Marshal(map[string]any(m.Headers)); err == nil {
				row[4] = record.JSON(string(js))
			}
		}
		if !m.Timestamp.IsZero() {
			row[5] = record.Timestamp(m.Timestamp)
		}
		row[6] = record.Bool(m.Redelivered)
	})
	r.mu.Lock()
	r.last = m.DeliveryTag
	r.mu.Unlock()
}

// State is the last delivery tag returned, on the current channel session.
func (r *reader) State() (json.RawMessage, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.session == "" || r.last == 0 {
		return json.RawMessage(`{}`), nil
	}
	return json.Marshal(state{Session: r.session, DeliveryTag: r.last})
}

// Ack acknowledges every delivery up to the checkpoint's tag (multiple=true). A checkpoint of an
// earlier session acknowledges nothing: that channel is gone and its deliveries come again.
func (r *reader) Ack(_ context.Context, raw json.RawMessage) error {
	var st state
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &st); err != nil {
			return fmt.Errorf("amqp: checkpoint state: %w", err)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if st.Session == "" || st.Session != r.session || st.DeliveryTag <= r.acked || r.ch == nil {
		return nil
	}
	if err := r.ch.Ack(st.DeliveryTag, true); err != nil {
		return fmt.Errorf("amqp: acknowledge queue %q up to delivery tag %d: %w", r.cfg.Queue, st.DeliveryTag, err)
	}
	r.total += int64(st.DeliveryTag - r.acked)
	r.acked = st.DeliveryTag
	return nil
}

var _ connector.PositionReporter = (*reader)(nil)

// Positions reports the queue: a queue keeps no position, so the committed count is the deliveries
// this reader acknowledged, and the lag is the messages ready in the queue (asked of the broker on a
// channel of its own) plus those this reader returned and has not acknowledged yet (deliveries the
// client holds and has not returned, at most prefetch, are counted by neither).
func (r *reader) Positions(context.Context) ([]connector.Position, error) {
	r.mu.Lock()
	conn, out, total := r.conn, int64(r.last-r.acked), r.total
	r.mu.Unlock()
	if conn == nil || conn.IsClosed() {
		return nil, fmt.Errorf("amqp: not connected to %s", r.cfg.where())
	}
	ch, err := conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("amqp: open a channel on %s: %v", r.cfg.where(), err)
	}
	defer ch.Close()
	q, err := ch.QueueDeclarePassive(r.cfg.Queue, true, false, false, false, nil)
	if err != nil {
		return nil, fmt.Errorf("amqp: inspect queue %q on %s: %v", r.cfg.Queue, r.cfg.where(), err)
	}
	return []connector.Position{{
		Partition: r.cfg.Queue,
		Committed: strconv.FormatInt(total, 10) + " acknowledged",
		Offset:    total,
		Lag:       int64(q.Messages) + out,
		LagUnit:   connector.LagRecords,
	}}, nil
}

// Close closes the connection; the broker requeues every delivery not acknowledged.
func (r *reader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conn != nil {
		r.conn.Close()
		r.conn, r.ch, r.deliveries = nil, nil, nil
	}
	return nil
}

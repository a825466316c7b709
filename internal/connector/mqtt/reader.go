package mqtt

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/streamkit"
	"github.com/dataaggregator/aggregator/internal/record"
)

// state is a source's checkpoint: the number of messages returned on the connection session. A
// message can only be acknowledged on the connection it arrived on: a state of another session
// acknowledges nothing, and the broker sends that session's unacknowledged messages again.
type state struct {
	Session string `json:"session,omitempty"`
	Seq     uint64 `json:"seq,omitempty"`
}

const defaultBatch = 1000

type item struct {
	msg paho.Message
	gen uint64
}

type returned struct {
	seq uint64
	msg paho.Message
}

type reader struct {
	cfg   Config
	dec   *streamkit.Decoder
	log   *slog.Logger
	batch int
	cl    paho.Client
	// flushTopic is a filter the client never subscribes to: its UNSUBACK tells that the broker
	// processed the PUBACKs sent before it (Close).
	flushTopic string
	in         chan item // received, not yet returned: at most max_inflight
	done       chan struct{}
	gen        atomic.Uint64 // the connection generation; bumped when the connection is lost

	mu         sync.Mutex
	session    string
	seq        uint64     // messages returned in session
	pending    []returned // returned in session, not acknowledged
	down       bool
	subscribed bool
	closeOnce  sync.Once
}

// Open connects with a persistent session under client_id and subscribes with QoS 1.
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
	r := &reader{cfg: cfg, dec: dec, log: log, batch: req.BatchSize, in: make(chan item, cfg.MaxInflight),
		done: make(chan struct{}), session: randomID(""), flushTopic: "aggregator/ack-barrier/" + randomID("")}
	if r.batch <= 0 {
		r.batch = defaultBatch
	}
	o, err := cfg.options(env)
	if err != nil {
		return nil, err
	}
	o.SetCleanSession(false)
	o.SetAutoAckDisabled(true)
	o.SetAutoReconnect(true)
	o.SetResumeSubs(true)
	// A resumed session's messages may arrive before the subscription is made again: the default
	// handler takes them.
	o.SetDefaultPublishHandler(r.handle)
	o.SetConnectionLostHandler(r.lost)
	o.SetOnConnectHandler(r.connected)
	r.cl = paho.NewClient(o)
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := wait(cctx, r.cl.Connect()); err != nil {
		r.Close()
		return nil, cfg.connectError(err)
	}
	if err := r.subscribe(cctx); err != nil {
		r.Close()
		return nil, err
	}
	r.mu.Lock()
	r.subscribed = true
	r.mu.Unlock()
	return r, nil
}

func (r *reader) subscribe(ctx context.Context) error {
	filters := map[string]byte{}
	for _, t := range r.cfg.Topics {
		filters[t] = 1
	}
	t := r.cl.SubscribeMultiple(filters, r.handle)
	if err := wait(ctx, t); err != nil {
		return fmt.Errorf("mqtt: subscribe to %v on %s: %v (%w)", r.cfg.Topics, r.cfg.where(), err, connector.ErrTransient)
	}
	if err := subscribeRefused(t); err != nil {
		return connector.ConfigError(fmt.Errorf("mqtt: %s: %v", r.cfg.where(), err))
	}
	return nil
}

// handle receives a message (paho's router goroutine, in order). It waits while max_inflight
// messages wait for Next: the broker's in-flight window then stops sending.
func (r *reader) handle(_ paho.Client, m paho.Message) {
	select {
	case r.in <- item{msg: m, gen: r.gen.Load()}:
	case <-r.done:
	}
}

// lost starts a new session: what the old connection delivered and was not acknowledged comes
// again from the broker once the session resumes.
func (r *reader) lost(_ paho.Client, err error) {
	r.gen.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.session, r.seq, r.pending = randomID(""), 0, nil
	if !r.down {
		r.down = true
		r.log.Warn("mqtt: lost the broker; paused, retrying until it returns (unacknowledged messages will be sent again)",
			"broker", r.cfg.where(), "client_id", r.cfg.ClientID, "err", err)
	}
}

func (r *reader) connected(paho.Client) {
	r.mu.Lock()
	wasDown, subscribed := r.down, r.subscribed
	r.down = false
	r.mu.Unlock()
	if !wasDown || !subscribed {
		return
	}
	r.log.Info("mqtt: broker reachable again; resuming", "broker", r.cfg.where(), "client_id", r.cfg.ClientID)
	go func() { // a broker that lost the session needs the subscriptions again
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := r.subscribe(ctx); err != nil {
			r.log.Warn("mqtt: subscribe again after reconnecting", "broker", r.cfg.where(), "err", err)
		}
	}()
}

func (r *reader) Schema() *record.Schema { return r.dec.Schema() }

// Next blocks until messages arrive (or ctx is done) and returns those at hand as one batch.
func (r *reader) Next(ctx context.Context) (*record.Batch, error) {
	b := record.NewBuilder(r.dec.Schema(), r.batch)
	for {
		var it item
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-r.done:
			return nil, fmt.Errorf("mqtt: the reader was closed")
		case it = <-r.in:
		}
		r.mu.Lock()
		r.add(b, it)
	drain:
		for n := 1; n < r.batch; n++ {
			select {
			case it = <-r.in:
				r.add(b, it)
			default:
				break drain
			}
		}
		r.mu.Unlock()
		if out := b.Take(); out != nil {
			return out, nil
		}
	}
}

// add decodes one message (r.mu held). A message of an earlier connection is skipped: it cannot be
// acknowledged any more, and the broker sends it again.
func (r *reader) add(b *record.Builder, it item) {
	if it.gen != r.gen.Load() {
		return
	}
	m := it.msg
	src := m.Topic() + " (message id " + strconv.Itoa(int(m.MessageID())) + ")"
	meta := r.cfg.Metadata
	r.dec.Add(b, m.Payload(), int64(m.MessageID()), src, func(row record.Row) {
		if !meta {
			return
		}
		row[0] = record.String(m.Topic())
		row[1] = record.Int(int64(m.MessageID()))
		row[2] = record.Bool(m.Duplicate())
		row[3] = record.Bool(m.Retained())
	})
	r.seq++
	r.pending = append(r.pending, returned{seq: r.seq, msg: m})
}

// State is the number of messages returned on the current session.
func (r *reader) State() (json.RawMessage, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seq == 0 {
		return json.RawMessage(`{}`), nil
	}
	return json.Marshal(state{Session: r.session, Seq: r.seq})
}

// Ack acknowledges (PUBACK), in arrival order, the messages the checkpoint's state covers. paho
// sends them without saying when they are written; Close makes sure they reached the broker.
func (r *reader) Ack(_ context.Context, raw json.RawMessage) error {
	var st state
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &st); err != nil {
			return fmt.Errorf("mqtt: checkpoint state: %w", err)
		}
	}
	r.mu.Lock()
	if st.Session == "" || st.Session != r.session {
		r.mu.Unlock()
		return nil
	}
	n := 0
	for n < len(r.pending) && r.pending[n].seq <= st.Seq {
		n++
	}
	acks := make([]paho.Message, n)
	for i := range n {
		acks[i] = r.pending[i].msg
	}
	r.pending = append(r.pending[:0], r.pending[n:]...)
	r.mu.Unlock()
	for _, m := range acks {
		m.Ack()
	}
	return nil
}

// Close disconnects; the broker keeps the session and the unacknowledged messages for the next run.
// Before it disconnects it makes sure the broker processed the PUBACKs sent so far: it sends an
// UNSUBSCRIBE of a filter the client never subscribed to and waits for its UNSUBACK (a broker
// handles a connection's packets in order). Without that, a process that exits right after its last
// checkpoint could close the connection before its PUBACKs left, and the broker would send those
// messages again. Messages received and not returned are dropped: they were not acknowledged.
func (r *reader) Close() error {
	r.closeOnce.Do(func() {
		close(r.done) // the handler stops waiting, so paho reads on up to the UNSUBACK
		if r.cl.IsConnectionOpen() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := wait(ctx, r.cl.Unsubscribe(r.flushTopic)); err != nil {
				r.log.Warn("mqtt: the broker did not confirm the last acknowledgements before the disconnect; those messages may come again", "broker", r.cfg.where(), "err", err)
			}
			cancel()
		}
		r.cl.Disconnect(250)
	})
	return nil
}

package natsjs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/streamkit"
	"github.com/dataaggregator/aggregator/internal/record"
)

// Config is the decoded configuration (one for the source and the sink).
type Config struct {
	URL      string
	Stream   string
	User     string
	Password string
	Token    string
	TLS      streamkit.TLS

	// source
	Subjects      []string
	Durable       string
	Start         string
	StartTime     string
	AckWaitSec    int
	MaxAckPending int
	MaxWaitMS     int
	Metadata      bool
	streamkit.Payload

	// sink
	Subject      string
	CreateStream bool
	MsgIDField   string
}

var configSpec = configspec.Describe(func(c *Config, b *configspec.Builder) {
	b.String(&c.URL, "url").Required().Min(1).Doc("Server URL(s), comma-separated.").Example("nats://127.0.0.1:4222")
	b.String(&c.Stream, "stream").Required().Min(1).Doc("JetStream stream name.").Example("ORDERS")
	b.String(&c.User, "user").Doc("User name (with password).")
	b.String(&c.Password, "password").Secret().Doc("Password.")
	b.String(&c.Token, "token").Secret().Doc("Authentication token.")
	c.TLS.Bind(b)
	// source
	b.Strings(&c.Subjects, "subjects").Doc("Source: subjects to read (filter of the consumer; default: every subject of the stream).").Example([]string{"orders.>"})
	b.String(&c.Durable, "durable").Doc("Source: durable consumer name; its acknowledged position survives restarts and is shared by every instance using it. Required for a source.")
	b.String(&c.Start, "start").Default("all").Enum("all", "new", "time").Doc("Source: where a new durable consumer starts: all (the first message), new (messages published from now), time (start_time).")
	b.String(&c.StartTime, "start_time").Doc("Source: RFC 3339 time for start: time.")
	b.Int(&c.AckWaitSec, "ack_wait").Default(60).Min(1).Doc("Source: seconds the server waits for an acknowledgement before delivering a message again; keep it above the commit interval.")
	b.Int(&c.MaxAckPending, "max_ack_pending").Default(200000).Min(1).Doc("Source: most messages delivered and not yet acknowledged (they are acknowledged at each checkpoint).")
	b.Int(&c.MaxWaitMS, "max_wait_ms").Default(5).Min(1).Doc("Source: how long a batch waits for more messages once one has arrived.")
	b.Bool(&c.Metadata, "metadata").Default(true).Doc("Source: add the fields _subject, _stream_seq, _timestamp and _headers after the payload fields.")
	c.Payload.Bind(b)
	// sink
	b.String(&c.Subject, "subject").Doc("Destination: subject to publish to.").Example("orders.new")
	b.Bool(&c.CreateStream, "create_stream").Default(false).Doc("Destination: create the stream (capturing subject) when it does not exist.")
	b.String(&c.MsgIDField, "msg_id_field").Doc("Destination: field whose text is the Nats-Msg-Id (the stream drops a repeated id within its duplicate window); default: the run id and the row's number in the run.")
})

// Connector is the nats_jetstream connector.
type Connector struct{}

// New returns the connector.
func New() *Connector { return &Connector{} }

var (
	_ connector.Source      = (*Connector)(nil)
	_ connector.Destination = (*Connector)(nil)
	_ connector.Checker     = (*Connector)(nil)
	_ connector.Acker       = (*reader)(nil)
)

// Spec describes the connector.
func (c *Connector) Spec() connector.Spec {
	return connector.Spec{
		Name: "nats_jetstream", Title: "NATS JetStream", Category: "stream",
		Description: "Read a stream through a durable consumer (acknowledged after the destinations commit) and publish with dedup ids.",
		Source:      true, Destination: true, Unbounded: true, ConsumerGroups: true,
		Config:     configSpec,
		WriteModes: []connector.WriteMode{connector.Append},
	}
}

func decode(raw map[string]any, source bool) (Config, error) {
	var c Config
	if err := connector.DecodeConfig(connector.Spec{Config: configSpec}, raw, &c); err != nil {
		return c, err
	}
	var errs []string
	if _, err := c.TLS.Config(); err != nil {
		errs = append(errs, err.Error())
	}
	if source {
		if c.Durable == "" {
			errs = append(errs, "durable: required for a source (the consumer whose acknowledged position survives restarts)")
		}
		if c.Start == "time" {
			if _, err := time.Parse(time.RFC3339, c.StartTime); err != nil {
				errs = append(errs, fmt.Sprintf("start_time: an RFC 3339 time is required with start: time (%q)", c.StartTime))
			}
		}
		if _, err := streamkit.NewDecoder(c.Payload, metaFields(c.Metadata)); err != nil {
			errs = append(errs, err.Error())
		}
	} else if c.Subject == "" {
		errs = append(errs, "subject: required for a destination")
	}
	if len(errs) > 0 {
		return c, connector.ConfigError(errors.New(strings.Join(errs, "; ")))
	}
	return c, nil
}

type dialer struct{ dial connector.DialFunc }

func (d dialer) Dial(network, address string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return d.dial(ctx, network, address)
}

// connect opens the connection; it reconnects by itself forever and logs losing and regaining the
// server once each.
func (c Config) connect(env connector.Env, log *slog.Logger, what string) (*nats.Conn, error) {
	opts := []nats.Option{
		nats.Name("aggregator"),
		nats.SetCustomDialer(dialer{env.Dialer()}),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			log.Warn("nats: disconnected from the server; paused, reconnecting until it returns", "what", what, "err", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("nats: reconnected; resuming", "what", what, "server", nc.ConnectedUrlRedacted())
		}),
	}
	if c.User != "" {
		opts = append(opts, nats.UserInfo(c.User, c.Password))
	}
	if c.Token != "" {
		opts = append(opts, nats.Token(c.Token))
	}
	tc, err := c.TLS.Config()
	if err != nil {
		return nil, connector.ConfigError(err)
	}
	if tc != nil {
		opts = append(opts, nats.Secure(tc))
	}
	nc, err := nats.Connect(c.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("nats: connect to %s: %v (%w)", redactURL(c.URL), c.redact(err), connector.ErrTransient)
	}
	return nc, nil
}

func redactURL(s string) string {
	if i := strings.Index(s, "@"); i >= 0 {
		if j := strings.Index(s, "://"); j >= 0 && j < i {
			return s[:j+3] + "***" + s[i:]
		}
	}
	return s
}

func (c Config) redact(err error) string {
	msg := err.Error()
	for _, s := range []string{c.Password, c.Token} {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "***")
		}
	}
	return msg
}

func logger(env connector.Env) *slog.Logger {
	if env.Logger != nil {
		return env.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Check connects and looks the stream up (a sink with create_stream may lack it).
func (c *Connector) Check(ctx context.Context, env connector.Env, raw map[string]any) error {
	src := raw["subject"] == nil
	cfg, err := decode(raw, src)
	if err != nil {
		return err
	}
	nc, err := cfg.connect(env, logger(env), "check")
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	if _, err := js.Stream(ctx, cfg.Stream); err != nil {
		if errors.Is(err, jetstream.ErrStreamNotFound) && !src && cfg.CreateStream {
			return nil
		}
		return fmt.Errorf("nats: stream %s: %w", cfg.Stream, err)
	}
	return nil
}

// Metadata field names.
const (
	FieldSubject   = "_subject"
	FieldStreamSeq = "_stream_seq"
	FieldTimestamp = "_timestamp"
	FieldHeaders   = "_headers"
)

func metaFields(on bool) []record.Field {
	if !on {
		return nil
	}
	return []record.Field{
		{Name: FieldSubject, Kind: record.KindString},
		{Name: FieldStreamSeq, Kind: record.KindInt},
		{Name: FieldTimestamp, Kind: record.KindTimestamp},
		{Name: FieldHeaders, Kind: record.KindJSON, Nullable: true},
	}
}

// state is the source's checkpoint: the reader that returned the messages, how many it returned,
// and the last stream sequence among them.
type state struct {
	Reader    string `json:"reader"`
	Returned  int64  `json:"returned"`
	StreamSeq uint64 `json:"stream_seq"`
}

type reader struct {
	cfg   Config
	nc    *nats.Conn
	it    jetstream.MessagesContext
	cons  jetstream.Consumer
	dec   *streamkit.Decoder
	log   *slog.Logger
	batch int
	id    string

	mu       sync.Mutex
	unacked  []jetstream.Msg // returned, not yet acknowledged, in order
	acked    int64           // messages acknowledged (index of unacked[0])
	returned int64
	seq      uint64
	lastErr  string
}

const defaultBatch = 1024

// Open creates or updates the durable consumer and starts pulling.
func (c *Connector) Open(ctx context.Context, env connector.Env, raw map[string]any, req connector.ReadRequest) (connector.Reader, error) {
	cfg, err := decode(raw, true)
	if err != nil {
		return nil, err
	}
	dec, err := streamkit.NewDecoder(cfg.Payload, metaFields(cfg.Metadata))
	if err != nil {
		return nil, connector.ConfigError(err)
	}
	log := logger(env)
	nc, err := cfg.connect(env, log, "source")
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	cc := jetstream.ConsumerConfig{
		Durable:       cfg.Durable,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       time.Duration(cfg.AckWaitSec) * time.Second,
		MaxAckPending: cfg.MaxAckPending,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}
	switch len(cfg.Subjects) {
	case 0:
	case 1:
		cc.FilterSubject = cfg.Subjects[0]
	default:
		cc.FilterSubjects = cfg.Subjects
	}
	switch cfg.Start {
	case "new":
		cc.DeliverPolicy = jetstream.DeliverNewPolicy
	case "time":
		ts, _ := time.Parse(time.RFC3339, cfg.StartTime)
		cc.DeliverPolicy, cc.OptStartTime = jetstream.DeliverByStartTimePolicy, &ts
	}
	cons, err := js.Consumer(ctx, cfg.Stream, cfg.Durable)
	switch {
	case errors.Is(err, jetstream.ErrConsumerNotFound):
		cons, err = js.CreateConsumer(ctx, cfg.Stream, cc)
	case err == nil:
		cons, err = js.UpdateConsumer(ctx, cfg.Stream, cc) // ack_wait, max_ack_pending, subjects may change
	}
	if err != nil {
		nc.Close()
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			return nil, fmt.Errorf("nats: stream %s does not exist: %w", cfg.Stream, connector.ErrNotFound)
		}
		return nil, fmt.Errorf("nats: consumer %s of stream %s: %w", cfg.Durable, cfg.Stream, err)
	}
	batch := req.BatchSize
	if batch <= 0 {
		batch = defaultBatch
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(2 * batch))
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("nats: consumer %s: %w", cfg.Durable, err)
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	r := &reader{cfg: cfg, nc: nc, it: it, cons: cons, dec: dec, log: log, batch: batch, id: hex.EncodeToString(id[:])}
	if st, err := parseState(req.State); err == nil {
		r.seq = st.StreamSeq
	}
	return r, nil
}

func parseState(raw json.RawMessage) (state, error) {
	var st state
	if len(raw) == 0 || string(raw) == "null" {
		return st, nil
	}
	err := json.Unmarshal(raw, &st)
	return st, err
}

func (r *reader) Schema() *record.Schema { return r.dec.Schema() }

// Next blocks until a message arrives, then takes what else arrives within max_wait_ms, up to the
// batch size.
func (r *reader) Next(ctx context.Context) (*record.Batch, error) {
	b := record.NewBuilder(r.dec.Schema(), r.batch)
	var msgs []jetstream.Msg
	for len(msgs) == 0 {
		m, err := r.it.Next(jetstream.NextContext(ctx))
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return nil, fmt.Errorf("nats: consumer %s stopped: %w", r.cfg.Durable, connector.ErrTransient)
			}
			if msg := err.Error(); msg != r.lastErr {
				r.lastErr = msg
				r.log.Warn("nats: pull failed; retrying", "stream", r.cfg.Stream, "durable", r.cfg.Durable, "err", err)
			}
			continue
		}
		r.lastErr = ""
		msgs = append(msgs, m)
	}
	for len(msgs) < r.batch {
		m, err := r.it.Next(jetstream.NextMaxWait(time.Duration(r.cfg.MaxWaitMS) * time.Millisecond))
		if err != nil {
			break
		}
		msgs = append(msgs, m)
	}
	meta := r.cfg.Metadata
	var last uint64
	for _, m := range msgs {
		md, err := m.Metadata()
		var seq uint64
		var ts time.Time
		if err == nil {
			seq, ts = md.Sequence.Stream, md.Timestamp
		}
		last = max(last, seq)
		src := r.cfg.Stream + "#" + strconv.FormatUint(seq, 10)
		r.dec.Add(b, m.Data(), int64(seq), src, func(row record.Row) {
			if !meta {
				return
			}
			row[0] = record.String(m.Subject())
			row[1] = record.Int(int64(seq))
			row[2] = record.Timestamp(ts)
			if h := m.Headers(); len(h) > 0 {
				row[3] = record.JSON(headersJSON(h))
			}
		})
	}
	r.mu.Lock()
	r.unacked = append(r.unacked, msgs...)
	r.returned += int64(len(msgs))
	r.seq = max(r.seq, last)
	r.mu.Unlock()
	out := b.Take()
	if out == nil {
		out = &record.Batch{Schema: r.dec.Schema()}
	}
	return out, nil
}

func headersJSON(h nats.Header) string {
	m := map[string]string{}
	for k, v := range h {
		if len(v) > 0 {
			m[k] = v[len(v)-1]
		}
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func (r *reader) State() (json.RawMessage, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return json.Marshal(state{Reader: r.id, Returned: r.returned, StreamSeq: r.seq})
}

// Ack acknowledges the messages returned before the state was taken (by this reader: a state of
// another reader, before a reopen, names messages that reader held; they are delivered again).
func (r *reader) Ack(ctx context.Context, raw json.RawMessage) error {
	st, err := parseState(raw)
	if err != nil {
		return fmt.Errorf("nats: checkpoint state: %w", err)
	}
	if st.Reader != r.id {
		return nil
	}
	r.mu.Lock()
	n := min(st.Returned-r.acked, int64(len(r.unacked)))
	if n <= 0 {
		r.mu.Unlock()
		return nil
	}
	todo := r.unacked[:n]
	r.unacked = append([]jetstream.Msg(nil), r.unacked[n:]...)
	r.acked += n
	r.mu.Unlock()
	var first error
	for _, m := range todo {
		if err := m.Ack(); err != nil && first == nil {
			first = err
		}
	}
	fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := r.nc.FlushWithContext(fctx); err != nil && first == nil {
		first = err
	}
	if first != nil {
		return fmt.Errorf("nats: acknowledge %d messages of consumer %s: %w (they are delivered again after ack_wait)", n, r.cfg.Durable, first)
	}
	return nil
}

var _ connector.PositionReporter = (*reader)(nil)

// Positions reports the durable consumer's acknowledgement floor (the stream sequence up to which
// every message is acknowledged) and its lag: messages not yet delivered plus those delivered and
// not yet acknowledged.
func (r *reader) Positions(ctx context.Context) ([]connector.Position, error) {
	info, err := r.cons.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("nats: consumer %s of stream %s: %w", r.cfg.Durable, r.cfg.Stream, err)
	}
	seq := info.AckFloor.Stream
	return []connector.Position{{
		Partition: r.cfg.Stream + "/" + r.cfg.Durable,
		Committed: "stream sequence " + strconv.FormatUint(seq, 10),
		Offset:    int64(seq),
		Lag:       int64(info.NumPending) + int64(info.NumAckPending),
		LagUnit:   connector.LagRecords,
	}}, nil
}

func (r *reader) Close() error {
	r.it.Stop()
	r.nc.Close()
	return nil
}

package kafka

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/streamkit"
	"github.com/dataaggregator/aggregator/internal/record"
)

// state is a source's checkpoint: the next offset to read of every partition it returned records
// of (topic -> partition -> offset).
type state struct {
	Offsets map[string]map[int32]int64 `json:"offsets"`
}

func parseState(raw json.RawMessage) (state, error) {
	var st state
	if len(raw) == 0 || string(raw) == "null" {
		return st, nil
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		return st, fmt.Errorf("kafka: checkpoint state: %w", err)
	}
	return st, nil
}

const defaultBatch = 2048

type reader struct {
	cfg   Config
	cl    *kgo.Client
	dec   *streamkit.Decoder
	log   *slog.Logger
	batch int

	mu    sync.Mutex
	pos   map[string]map[int32]int64 // next offset of each partition, after the last batch returned
	start map[string]map[int32]int64 // the checkpoint's offsets, not yet applied to an assignment
	owned map[string]map[int32]bool  // group: the partitions assigned to this member
	hwm   map[string]map[int32]int64 // the high watermark of each partition in its latest fetch
	acked map[string]map[int32]int64 // without a group: the offsets of the last acknowledged state

	lastErr string
}

// Open joins the group (or assigns every partition) and starts fetching.
func (c *Connector) Open(ctx context.Context, env connector.Env, raw map[string]any, req connector.ReadRequest) (connector.Reader, error) {
	cfg, err := decode(raw, true)
	if err != nil {
		return nil, err
	}
	dec, err := streamkit.NewDecoder(cfg.Payload, metaFields(cfg.Metadata))
	if err != nil {
		return nil, connector.ConfigError(err)
	}
	st, err := parseState(req.State)
	if err != nil {
		return nil, err
	}
	log := env.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &reader{cfg: cfg, dec: dec, log: log, batch: req.BatchSize, pos: map[string]map[int32]int64{},
		start: st.Offsets, owned: map[string]map[int32]bool{},
		hwm: map[string]map[int32]int64{}, acked: map[string]map[int32]int64{}}
	if r.batch <= 0 {
		r.batch = defaultBatch
	}
	for t, ps := range st.Offsets {
		r.pos[t] = maps.Clone(ps)
	}
	opts, err := cfg.clientOpts(env)
	if err != nil {
		return nil, err
	}
	reset := kgo.NewOffset().AtStart()
	switch cfg.Start {
	case StartLatest:
		reset = kgo.NewOffset().AtEnd()
	case StartTimestamp:
		ts, _ := time.Parse(time.RFC3339, cfg.StartTimestamp) // checked by decode
		reset = kgo.NewOffset().AfterMilli(ts.UnixMilli())
	}
	opts = append(opts,
		kgo.ConsumeResetOffset(reset),
		kgo.FetchMaxBytes(int32(cfg.FetchMaxBytes)),
		kgo.FetchMaxPartitionBytes(int32(min(cfg.FetchMaxBytes, 4<<20))),
		kgo.FetchMaxWait(time.Duration(cfg.MaxWaitMS)*time.Millisecond),
		kgo.MaxConcurrentFetches(1),
		kgo.WithHooks(&health{log: log, what: "source"}),
	)
	consume := []kgo.Opt{kgo.ConsumeTopics(cfg.Topics...)}
	if cfg.TopicRegex != "" {
		consume = []kgo.Opt{kgo.ConsumeTopics(cfg.TopicRegex), kgo.ConsumeRegex()}
	}
	if cfg.Group != "" {
		opts = append(opts,
			kgo.ConsumerGroup(cfg.Group),
			kgo.DisableAutoCommit(),
			kgo.SessionTimeout(time.Duration(cfg.SessionTimeout)*time.Millisecond),
			kgo.AdjustFetchOffsetsFn(r.adjust),
			kgo.OnPartitionsAssigned(r.assigned),
			kgo.OnPartitionsRevoked(r.revoked),
			kgo.OnPartitionsLost(r.revoked),
		)
		if cfg.InstanceID != "" {
			opts = append(opts, kgo.InstanceID(cfg.InstanceID))
		}
	} else {
		r.owned = nil
		if len(st.Offsets) > 0 {
			// Without a group, the checkpoint pins each partition's offset; the partitions of the
			// topics are listed now (a partition added later is read from the next run on).
			counts, err := cfg.topics(ctx, env, cfg.Topics)
			if err != nil {
				return nil, err
			}
			pin := map[string]map[int32]kgo.Offset{}
			for t, n := range counts {
				pin[t] = map[int32]kgo.Offset{}
				for p := range int32(n) {
					pin[t][p] = reset
					if o, ok := st.Offsets[t][p]; ok {
						pin[t][p] = kgo.NewOffset().At(o)
					}
				}
			}
			consume = []kgo.Opt{kgo.ConsumePartitions(pin)}
		}
	}
	cl, err := kgo.NewClient(append(opts, consume...)...)
	if err != nil {
		return nil, connector.ConfigError(cfg.redact(err))
	}
	r.cl = cl
	return r, nil
}

// adjust starts each newly assigned partition that the checkpoint holds at the checkpoint's offset
// (it may be ahead of the group's: the process can stop between saving a checkpoint and committing
// its offsets to the group).
func (r *reader) adjust(_ context.Context, m map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for t, ps := range m {
		for p := range ps {
			if o, ok := r.start[t][p]; ok {
				ps[p] = kgo.NewOffset().At(o)
				delete(r.start[t], p)
			}
		}
	}
	return m, nil
}

func (r *reader) assigned(_ context.Context, _ *kgo.Client, m map[string][]int32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for t, ps := range m {
		if r.owned[t] == nil {
			r.owned[t] = map[int32]bool{}
		}
		for _, p := range ps {
			r.owned[t][p] = true
		}
	}
	r.log.Info("kafka: partitions assigned", "group", r.cfg.Group, "partitions", fmt.Sprint(m))
}

// revoked forgets partitions another member now reads: their positions leave the state, so that no
// later checkpoint commits them over the new owner's.
func (r *reader) revoked(_ context.Context, _ *kgo.Client, m map[string][]int32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for t, ps := range m {
		for _, p := range ps {
			delete(r.owned[t], p)
			delete(r.pos[t], p)
		}
	}
	if len(m) > 0 {
		r.log.Info("kafka: partitions revoked", "group", r.cfg.Group, "partitions", fmt.Sprint(m))
	}
}

var _ connector.PositionReporter = (*reader)(nil)

func (r *reader) Schema() *record.Schema { return r.dec.Schema() }

// fatal reports fetch errors that retrying cannot fix.
func fatal(err error) bool {
	return errors.Is(err, kerr.TopicAuthorizationFailed) || errors.Is(err, kerr.GroupAuthorizationFailed) ||
		errors.Is(err, kerr.SaslAuthenticationFailed) || errors.Is(err, kerr.ClusterAuthorizationFailed)
}

// Next blocks until records arrive (or ctx is done) and returns them as one batch.
func (r *reader) Next(ctx context.Context) (*record.Batch, error) {
	b := record.NewBuilder(r.dec.Schema(), r.batch)
	meta := r.cfg.Metadata
	for {
		fs := r.cl.PollRecords(ctx, r.batch)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if fs.IsClientClosed() {
			return nil, errors.New("kafka: the client was closed")
		}
		for _, fe := range fs.Errors() {
			if fatal(fe.Err) {
				return nil, fmt.Errorf("kafka: topic %s partition %d: %w", fe.Topic, fe.Partition, r.cfg.redact(fe.Err))
			}
			if msg := fe.Err.Error(); msg != r.lastErr {
				r.lastErr = msg
				r.log.Warn("kafka: fetch failed; retrying", "topic", fe.Topic, "partition", fe.Partition, "err", r.cfg.redact(fe.Err))
			}
		}
		r.mu.Lock()
		fs.EachPartition(func(p kgo.FetchTopicPartition) {
			if p.Err != nil || p.HighWatermark < 0 {
				return
			}
			ps := r.hwm[p.Topic]
			if ps == nil {
				ps = map[int32]int64{}
				r.hwm[p.Topic] = ps
			}
			ps[p.Partition] = p.HighWatermark
		})
		r.mu.Unlock()
		recs := fs.Records()
		if len(recs) == 0 {
			continue
		}
		r.lastErr = ""
		r.mu.Lock()
		for _, rec := range recs {
			if r.owned != nil && !r.owned[rec.Topic][rec.Partition] {
				continue // revoked while buffered: the new owner reads it
			}
			src := func() string {
				return rec.Topic + "/" + strconv.Itoa(int(rec.Partition)) + "@" + strconv.FormatInt(rec.Offset, 10)
			}
			r.dec.AddFrom(b, rec.Value, rec.Offset, src, func(row record.Row) {
				if !meta {
					return
				}
				if rec.Key != nil {
					row[0] = record.String(string(rec.Key))
				}
				if len(rec.Headers) > 0 {
					row[1] = record.JSON(headersJSON(rec.Headers))
				}
				row[2] = record.String(rec.Topic)
				row[3] = record.Int(int64(rec.Partition))
				row[4] = record.Int(rec.Offset)
				row[5] = record.Timestamp(rec.Timestamp)
			})
			ps := r.pos[rec.Topic]
			if ps == nil {
				ps = map[int32]int64{}
				r.pos[rec.Topic] = ps
			}
			ps[rec.Partition] = rec.Offset + 1
		}
		r.mu.Unlock()
		if out := b.Take(); out != nil {
			return out, nil
		}
	}
}

func headersJSON(hs []kgo.RecordHeader) string {
	buf := []byte{'{'}
	for i, h := range hs {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = record.AppendJSONString(buf, h.Key)
		buf = append(buf, ':')
		buf = record.AppendJSONString(buf, string(h.Value))
	}
	return string(append(buf, '}'))
}

// State is the next offset of every partition read so far.
func (r *reader) State() (json.RawMessage, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return json.Marshal(state{Offsets: r.pos})
}

// Ack commits the offsets of a durable checkpoint to the group (partitions this member still owns).
// Without a group there is nothing to commit: the checkpoint is the position.
func (r *reader) Ack(ctx context.Context, raw json.RawMessage) error {
	st, err := parseState(raw)
	if err != nil {
		return err
	}
	if r.cfg.Group == "" {
		r.mu.Lock()
		for t, ps := range st.Offsets {
			r.acked[t] = maps.Clone(ps)
		}
		r.mu.Unlock()
		return nil
	}
	commit := map[string]map[int32]kgo.EpochOffset{}
	r.mu.Lock()
	for t, ps := range st.Offsets {
		for p, o := range ps {
			if !r.owned[t][p] {
				continue
			}
			if commit[t] == nil {
				commit[t] = map[int32]kgo.EpochOffset{}
			}
			commit[t][p] = kgo.EpochOffset{Epoch: -1, Offset: o}
		}
	}
	r.mu.Unlock()
	if len(commit) == 0 {
		return nil
	}
	var cerr error
	r.cl.CommitOffsetsSync(ctx, commit, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err != nil {
			cerr = err
			return
		}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if err := kerr.ErrorForCode(p.ErrorCode); err != nil && cerr == nil {
					cerr = fmt.Errorf("topic %s partition %d: %w", t.Topic, p.Partition, err)
				}
			}
		}
	})
	if cerr != nil {
		return fmt.Errorf("kafka: commit offsets to group %s: %w", r.cfg.Group, cerr)
	}
	return nil
}

// Positions reports the committed offset of every partition this reader owns (with a group: the
// group's committed offsets; without: the offsets of the last acknowledged checkpoint) and its lag
// behind the partition's high watermark in the latest fetch (-1 before a fetch returned one).
func (r *reader) Positions(context.Context) ([]connector.Position, error) {
	committed := map[string]map[int32]int64{}
	if r.cfg.Group != "" {
		for t, ps := range r.cl.CommittedOffsets() {
			committed[t] = map[int32]int64{}
			for p, o := range ps {
				committed[t][p] = o.Offset
			}
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cfg.Group == "" {
		committed = r.acked
	}
	parts := map[string]map[int32]bool{}
	add := func(t string, p int32) {
		if parts[t] == nil {
			parts[t] = map[int32]bool{}
		}
		parts[t][p] = true
	}
	if r.owned != nil {
		for t, ps := range r.owned {
			for p := range ps {
				add(t, p)
			}
		}
	} else {
		for _, m := range []map[string]map[int32]int64{r.hwm, r.pos, committed} {
			for t, ps := range m {
				for p := range ps {
					add(t, p)
				}
			}
		}
	}
	type tp struct {
		t string
		p int32
	}
	var keys []tp
	for t, ps := range parts {
		for p := range ps {
			keys = append(keys, tp{t, p})
		}
	}
	slices.SortFunc(keys, func(a, b tp) int { return cmp.Or(cmp.Compare(a.t, b.t), cmp.Compare(a.p, b.p)) })
	out := make([]connector.Position, 0, len(keys))
	for _, k := range keys {
		pos := connector.Position{Partition: k.t + "/" + strconv.Itoa(int(k.p)), Offset: -1, Lag: -1, LagUnit: connector.LagRecords}
		if o, ok := committed[k.t][k.p]; ok && o >= 0 {
			pos.Offset, pos.Committed = o, "offset "+strconv.FormatInt(o, 10)
			if h, ok := r.hwm[k.t][k.p]; ok {
				pos.Lag = max(h-o, 0)
			}
		}
		out = append(out, pos)
	}
	return out, nil
}

// Close leaves the group (its partitions go to the other members at once) and closes the client.
func (r *reader) Close() error {
	r.cl.Close()
	return nil
}

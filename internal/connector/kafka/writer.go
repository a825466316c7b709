package kafka

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/streamkit"
	"github.com/dataaggregator/aggregator/internal/record"
)

type writer struct {
	cfg     Config
	cl      *kgo.Client
	enc     *streamkit.Encoder
	key     int // -1: no key
	part    int // -1: the partitioner decides
	headers []int

	mu  sync.Mutex
	err error // the first failed produce since the last Commit
}

// OpenWriter connects the producer.
func (c *Connector) OpenWriter(ctx context.Context, env connector.Env, raw map[string]any, req connector.WriteRequest) (connector.Writer, error) {
	cfg, err := decode(raw, false)
	if err != nil {
		return nil, err
	}
	if req.Mode != "" && req.Mode != connector.Append {
		return nil, fmt.Errorf("kafka: write mode %s: %w (a topic is appended to; use append)", req.Mode, connector.ErrUnsupported)
	}
	if req.Schema == nil {
		return nil, fmt.Errorf("kafka: no input schema")
	}
	enc, err := streamkit.NewEncoder(cfg.Payload, req.Schema)
	if err != nil {
		return nil, connector.ConfigError(err)
	}
	w := &writer{cfg: cfg, enc: enc, key: -1, part: -1}
	field := func(name, key string) (int, error) {
		i := req.Schema.Index(name)
		if i < 0 {
			return 0, connector.ConfigError(fmt.Errorf("%s: the input has no field %q (fields: %s)", key, name, strings.Join(req.Schema.Names(), ", ")))
		}
		return i, nil
	}
	if cfg.KeyField != "" {
		if w.key, err = field(cfg.KeyField, "key_field"); err != nil {
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
	opts, err := cfg.clientOpts(env)
	if err != nil {
		return nil, err
	}
	log := env.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts = append(opts,
		kgo.DefaultProduceTopic(cfg.Topic),
		kgo.ProducerLinger(time.Duration(cfg.LingerMS)*time.Millisecond),
		kgo.ProducerBatchMaxBytes(int32(cfg.BatchMaxBytes)),
		kgo.MaxBufferedRecords(cfg.MaxBuffered),
		kgo.WithHooks(&health{log: log, what: "destination"}),
	)
	if !cfg.Idempotent {
		opts = append(opts, kgo.DisableIdempotentWrite())
	}
	switch cfg.Compression {
	case "gzip":
		opts = append(opts, kgo.ProducerBatchCompression(kgo.GzipCompression()))
	case "snappy":
		opts = append(opts, kgo.ProducerBatchCompression(kgo.SnappyCompression()))
	case "lz4":
		opts = append(opts, kgo.ProducerBatchCompression(kgo.Lz4Compression()))
	case "zstd":
		opts = append(opts, kgo.ProducerBatchCompression(kgo.ZstdCompression()))
	default:
		opts = append(opts, kgo.ProducerBatchCompression(kgo.NoCompression()))
	}
	switch cfg.Partitioner {
	case "round_robin":
		opts = append(opts, kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	case "field":
		if w.part, err = field(cfg.PartitionField, "partition_field"); err != nil {
			return nil, err
		}
		opts = append(opts, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	default:
		opts = append(opts, kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, connector.ConfigError(cfg.redact(err))
	}
	w.cl = cl
	return w, nil
}

func (w *writer) promise(_ *kgo.Record, err error) {
	if err == nil {
		return
	}
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.mu.Unlock()
}

// Write hands every row to the producer; it waits only when max_buffered_records are in flight.
func (w *writer) Write(ctx context.Context, b *record.Batch) error {
	if err := w.takeErr(false); err != nil {
		return err
	}
	arena := make([]byte, 0, 128*len(b.Rows))
	for _, row := range b.Rows {
		start := len(arena)
		arena = w.enc.Append(arena, row)
		rec := &kgo.Record{Value: arena[start:len(arena):len(arena)]}
		if w.key >= 0 && !row[w.key].IsNull() {
			rec.Key = row[w.key].AppendText(nil)
		}
		if w.part >= 0 {
			v := row[w.part]
			if v.Kind() != record.KindInt || v.AsInt() < 0 {
				return fmt.Errorf("kafka: partition_field %s: %q is not a partition number", w.cfg.PartitionField, v.String())
			}
			rec.Partition = int32(v.AsInt())
		}
		for j, h := range w.headers {
			rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: w.cfg.HeaderFields[j], Value: row[h].AppendText(nil)})
		}
		w.cl.Produce(ctx, rec, w.promise)
	}
	return ctx.Err()
}

func (w *writer) takeErr(clear bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	err := w.err
	if clear {
		w.err = nil
	}
	if err != nil {
		return fmt.Errorf("kafka: produce to %s: %w", w.cfg.Topic, w.cfg.redact(err))
	}
	return nil
}

// Commit waits until the brokers acknowledged every record written so far.
func (w *writer) Commit(ctx context.Context) error {
	if err := w.cl.Flush(ctx); err != nil {
		return fmt.Errorf("kafka: flush to %s: %w", w.cfg.Topic, err)
	}
	return w.takeErr(true)
}

func (w *writer) Close(ctx context.Context) error {
	defer w.cl.Close()
	return w.Commit(ctx)
}

// Abort stops producing; records already acknowledged stay in the topic (a topic has no rollback).
func (w *writer) Abort(context.Context) error {
	w.cl.Close()
	return nil
}

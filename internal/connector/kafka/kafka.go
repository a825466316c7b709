package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/streamkit"
	"github.com/dataaggregator/aggregator/internal/record"
)

// Connector is the kafka connector.
type Connector struct{}

// New returns the connector.
func New() *Connector { return &Connector{} }

var (
	_ connector.Source      = (*Connector)(nil)
	_ connector.Destination = (*Connector)(nil)
	_ connector.Checker     = (*Connector)(nil)
	_ connector.Discoverer  = (*Connector)(nil)
	_ connector.Acker       = (*reader)(nil)
)

// Spec describes the connector: one configuration for the source and the sink.
func (c *Connector) Spec() connector.Spec {
	return connector.Spec{
		Name: "kafka", Title: "Apache Kafka", Category: "stream",
		Description: "Read topics as a consumer group (offsets committed after the destinations commit) and produce records with the idempotent producer.",
		Source:      true, Destination: true, Unbounded: true, ConsumerGroups: true, GroupParam: "group",
		Config:     configSpec,
		WriteModes: []connector.WriteMode{connector.Append},
	}
}

// Metadata field names.
const (
	FieldKey       = "_key"
	FieldHeaders   = "_headers"
	FieldTopic     = "_topic"
	FieldPartition = "_partition"
	FieldOffset    = "_offset"
	FieldTimestamp = "_timestamp"
)

func metaFields(on bool) []record.Field {
	if !on {
		return nil
	}
	return []record.Field{
		{Name: FieldKey, Kind: record.KindString, Nullable: true},
		{Name: FieldHeaders, Kind: record.KindJSON, Nullable: true},
		{Name: FieldTopic, Kind: record.KindString},
		{Name: FieldPartition, Kind: record.KindInt},
		{Name: FieldOffset, Kind: record.KindInt},
		{Name: FieldTimestamp, Kind: record.KindTimestamp},
	}
}

// Check connects and checks that the topics exist (for a source: topics; a sink: topic).
func (c *Connector) Check(ctx context.Context, env connector.Env, raw map[string]any) error {
	src := raw["topic"] == nil
	cfg, err := decode(raw, src)
	if err != nil {
		return err
	}
	topics := cfg.Topics
	if !src {
		topics = []string{cfg.Topic}
	}
	_, err = cfg.topics(ctx, env, topics)
	return err
}

// topics asks the cluster for topic metadata (nil: every topic) and returns the partitions of each.
func (c Config) topics(ctx context.Context, env connector.Env, names []string) (map[string]int, error) {
	opts, err := c.clientOpts(env)
	if err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, connector.ConfigError(c.redact(err))
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req := kmsg.NewPtrMetadataRequest()
	for _, n := range names {
		t := kmsg.NewMetadataRequestTopic()
		t.Topic = kmsg.StringPtr(n)
		req.Topics = append(req.Topics, t)
	}
	if names == nil {
		req.Topics = nil
	}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, fmt.Errorf("kafka: brokers %s: %w (%w)", strings.Join(c.Brokers, ", "), c.redact(err), connector.ErrTransient)
	}
	out := map[string]int{}
	var missing []string
	for _, t := range resp.Topics {
		name := ""
		if t.Topic != nil {
			name = *t.Topic
		}
		if err := kerr.ErrorForCode(t.ErrorCode); err != nil {
			if errors.Is(err, kerr.UnknownTopicOrPartition) {
				missing = append(missing, name)
				continue
			}
			return nil, fmt.Errorf("kafka: topic %s: %w", name, err)
		}
		if t.IsInternal {
			continue
		}
		out[name] = len(t.Partitions)
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("kafka: topic %s does not exist: %w", strings.Join(missing, ", "), connector.ErrNotFound)
	}
	return out, nil
}

// Discover lists the topics (those of topics or topic_regex when given) with the source's schema.
func (c *Connector) Discover(ctx context.Context, env connector.Env, raw map[string]any) (*connector.Catalog, error) {
	cfg, err := decode(withTopicsDefault(raw), true)
	if err != nil {
		return nil, err
	}
	dec, err := streamkit.NewDecoder(cfg.Payload, metaFields(cfg.Metadata))
	if err != nil {
		return nil, connector.ConfigError(err)
	}
	all, err := cfg.topics(ctx, env, nil)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names)
	cat := &connector.Catalog{}
	for _, n := range names {
		cat.Streams = append(cat.Streams, connector.Stream{Name: n, Kind: "topic", Schema: dec.Schema()})
	}
	return cat, nil
}

func withTopicsDefault(raw map[string]any) map[string]any {
	if raw["topics"] != nil || raw["topic_regex"] != nil {
		return raw
	}
	m := make(map[string]any, len(raw)+1)
	for k, v := range raw {
		m[k] = v
	}
	m["topic_regex"] = ".*"
	if m["group"] == nil {
		m["group"] = "discover"
	}
	return m
}

// health logs, once per outage, that the brokers cannot be reached, and when they can again.
type health struct {
	log  *slog.Logger
	what string
	mu   sync.Mutex
	down bool
}

var _ kgo.HookBrokerConnect = (*health)(nil)

func (h *health) OnBrokerConnect(meta kgo.BrokerMetadata, _ time.Duration, _ net.Conn, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	addr := net.JoinHostPort(meta.Host, fmt.Sprint(meta.Port))
	switch {
	case err != nil && !h.down:
		h.down = true
		h.log.Warn("kafka: cannot reach the broker; paused, retrying until it returns", "what", h.what, "broker", addr, "err", err)
	case err == nil && h.down:
		h.down = false
		h.log.Info("kafka: broker reachable again; resuming", "what", h.what, "broker", addr)
	}
}

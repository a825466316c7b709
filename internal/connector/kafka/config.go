package kafka

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/streamkit"
)

// Start positions of a partition without a committed offset.
const (
	StartEarliest  = "earliest"
	StartLatest    = "latest"
	StartTimestamp = "timestamp"
)

// Config is the decoded configuration.
type Config struct {
	Brokers       []string
	ClientID      string
	SASLMechanism string
	SASLUsername  string
	SASLPassword  string
	TLS           streamkit.TLS

	// source
	Topics         []string
	TopicRegex     string
	Group          string
	Start          string
	StartTimestamp string
	Metadata       bool
	InstanceID     string
	SessionTimeout int
	FetchMaxBytes  int
	MaxWaitMS      int
	streamkit.Payload

	// sink
	Topic          string
	KeyField       string
	Partitioner    string
	PartitionField string
	HeaderFields   []string
	Idempotent     bool
	Compression    string
	LingerMS       int
	BatchMaxBytes  int
	MaxBuffered    int
}

func bindCommon(c *Config, b *configspec.Builder) {
	b.Strings(&c.Brokers, "brokers").Required().Min(1).Doc("Bootstrap brokers, host:port.").Example([]string{"kafka-1:9092", "kafka-2:9092"})
	b.String(&c.ClientID, "client_id").Default("aggregator").Doc("Client id the brokers log and quota by.")
	b.String(&c.SASLMechanism, "sasl_mechanism").Default("none").Enum("none", "plain", "scram-sha-256", "scram-sha-512").Doc("SASL authentication mechanism.")
	b.String(&c.SASLUsername, "sasl_username").Doc("SASL user name.")
	b.String(&c.SASLPassword, "sasl_password").Secret().Doc("SASL password.")
	c.TLS.Bind(b)
}

var configSpec = configspec.Describe(func(c *Config, b *configspec.Builder) {
	bindCommon(c, b)
	// source
	b.Strings(&c.Topics, "topics").Doc("Topics to read (or topic_regex).").Example([]string{"orders"})
	b.String(&c.TopicRegex, "topic_regex").Doc("Read every topic whose name matches this regular expression (anchored: ^...$); needs group.").Example("^orders\\..*$")
	b.String(&c.Group, "group").Doc("Consumer group: offsets are committed to it after the destinations commit, and instances of a group share the partitions. Without it every partition is read and the position lives only in the run's checkpoint.")
	b.String(&c.Start, "start").Default(StartEarliest).Enum(StartEarliest, StartLatest, StartTimestamp).Doc("Where a partition without a committed offset (or checkpoint) starts: earliest, latest, or the first record at or after start_timestamp.")
	b.String(&c.StartTimestamp, "start_timestamp").Doc("RFC 3339 time for start: timestamp.").Example("2026-01-31T00:00:00Z")
	b.String(&c.InstanceID, "instance_id").Doc("Static group membership (group.instance.id): a member that restarts with the same id takes its partitions back at once instead of waiting for a rebalance. One id per running instance.")
	b.Int(&c.SessionTimeout, "session_timeout_ms").Default(45000).Min(1000).Doc("How long the group waits for a silent member (a crashed process) before giving its partitions to the others.")
	b.Bool(&c.Metadata, "metadata").Default(true).Doc("Add the fields _key, _headers, _topic, _partition, _offset and _timestamp after the payload fields.")
	b.Int(&c.FetchMaxBytes, "fetch_max_bytes").Default(1 << 20).Min(1024).Doc("Most bytes one fetch asks for, as the brokers store them (compressed). One fetch is buffered at a time, so this bounds the memory of a consumer that runs ahead of its destinations: decompressed and unpacked, small records take about ten times their compressed size.")
	b.Int(&c.MaxWaitMS, "max_wait_ms").Default(500).Min(1).Doc("Longest time a broker holds a fetch waiting for records.")
	c.Payload.Bind(b)
	// sink
	b.String(&c.Topic, "topic").Doc("Destination: the topic to produce to (it must exist, or the brokers must create topics on first use).")
	b.String(&c.KeyField, "key_field").Doc("Field whose text is the record key (default: no key).")
	b.String(&c.Partitioner, "partitioner").Default("key_hash").Enum("key_hash", "round_robin", "field").Doc("key_hash: by the key's murmur2 hash as the Java client (records without a key stick to a partition per batch); round_robin; field: the partition number in partition_field.")
	b.String(&c.PartitionField, "partition_field").Doc("Integer field holding the partition, for partitioner: field.")
	b.Strings(&c.HeaderFields, "header_fields").Doc("Fields sent as record headers (their text), besides being in the payload.")
	b.Bool(&c.Idempotent, "idempotent").Default(true).Doc("Idempotent producer: a retried send is never written twice. Needs acks from all in-sync replicas (always used).")
	b.String(&c.Compression, "compression").Default("none").Enum("none", "gzip", "snappy", "lz4", "zstd").Doc("Compression of record batches.")
	b.Int(&c.LingerMS, "linger_ms").Default(5).Min(0).Doc("How long a partition's batch waits to fill before it is sent.")
	b.Int(&c.BatchMaxBytes, "batch_max_bytes").Default(1 << 20).Min(1024).Doc("Largest record batch sent to one partition.")
	b.Int(&c.MaxBuffered, "max_buffered_records").Default(100000).Min(1).Doc("Records buffered before writes wait for acknowledgements (backpressure).")
})

// decode validates raw against spec and the rules the schema cannot express.
func decode(raw map[string]any, source bool) (Config, error) {
	var c Config
	if err := connector.DecodeConfig(connector.Spec{Config: configSpec}, raw, &c); err != nil {
		return c, err
	}
	var errs []string
	if c.SASLMechanism != "none" && (c.SASLUsername == "" || c.SASLPassword == "") {
		errs = append(errs, fmt.Sprintf("sasl_username, sasl_password: required with sasl_mechanism %s", c.SASLMechanism))
	}
	if _, err := c.TLS.Config(); err != nil {
		errs = append(errs, err.Error())
	}
	for i, b := range c.Brokers {
		if _, _, err := net.SplitHostPort(b); err != nil {
			errs = append(errs, fmt.Sprintf("brokers[%d]: %q is not host:port", i, b))
		}
	}
	if source {
		switch {
		case len(c.Topics) == 0 && c.TopicRegex == "":
			errs = append(errs, "topics: give the topics to read, or topic_regex")
		case len(c.Topics) > 0 && c.TopicRegex != "":
			errs = append(errs, "topics, topic_regex: set one of them, not both")
		case c.TopicRegex != "":
			if _, err := regexp.Compile(c.TopicRegex); err != nil {
				errs = append(errs, fmt.Sprintf("topic_regex: %v", err))
			}
			if c.Group == "" {
				errs = append(errs, "group: required with topic_regex (the group keeps the positions of the topics the pattern finds)")
			}
		}
		if c.Start == StartTimestamp {
			if _, err := time.Parse(time.RFC3339, c.StartTimestamp); err != nil {
				errs = append(errs, fmt.Sprintf("start_timestamp: an RFC 3339 time is required with start: timestamp (%q)", c.StartTimestamp))
			}
		} else if c.StartTimestamp != "" {
			errs = append(errs, "start_timestamp: only used with start: timestamp")
		}
		if _, err := streamkit.NewDecoder(c.Payload, metaFields(c.Metadata)); err != nil {
			errs = append(errs, err.Error())
		}
	} else {
		if c.Topic == "" {
			errs = append(errs, "topic: required for a destination")
		}
		if c.Partitioner == "field" && c.PartitionField == "" {
			errs = append(errs, "partition_field: required with partitioner: field")
		}
	}
	if len(errs) > 0 {
		return c, connector.ConfigError(errors.New(strings.Join(errs, "; ")))
	}
	return c, nil
}

// clientOpts are the options every client of c uses: brokers, the guarded dialer, SASL and TLS.
func (c Config) clientOpts(env connector.Env) ([]kgo.Opt, error) {
	tc, err := c.TLS.Config()
	if err != nil {
		return nil, connector.ConfigError(err)
	}
	dial := env.Dialer()
	opts := []kgo.Opt{
		kgo.SeedBrokers(c.Brokers...),
		kgo.ClientID(c.ClientID),
		kgo.Dialer(func(ctx context.Context, network, host string) (net.Conn, error) {
			conn, err := dial(ctx, network, host)
			if err != nil || tc == nil {
				return conn, err
			}
			cfg := tc.Clone()
			if cfg.ServerName == "" {
				if h, _, err := net.SplitHostPort(host); err == nil {
					cfg.ServerName = h
				}
			}
			tconn := tls.Client(conn, cfg)
			if err := tconn.HandshakeContext(ctx); err != nil {
				conn.Close()
				return nil, fmt.Errorf("tls handshake with %s: %w", host, err)
			}
			return tconn, nil
		}),
	}
	var mech sasl.Mechanism
	switch c.SASLMechanism {
	case "plain":
		mech = plain.Auth{User: c.SASLUsername, Pass: c.SASLPassword}.AsMechanism()
	case "scram-sha-256":
		mech = scram.Auth{User: c.SASLUsername, Pass: c.SASLPassword}.AsSha256Mechanism()
	case "scram-sha-512":
		mech = scram.Auth{User: c.SASLUsername, Pass: c.SASLPassword}.AsSha512Mechanism()
	}
	if mech != nil {
		opts = append(opts, kgo.SASL(mech))
	}
	return opts, nil
}

// redact removes the password from an error's text.
func (c Config) redact(err error) error {
	if err == nil || c.SASLPassword == "" || !strings.Contains(err.Error(), c.SASLPassword) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), c.SASLPassword, "***"))
}

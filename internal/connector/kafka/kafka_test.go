package kafka_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/kafka"
	"github.com/dataaggregator/aggregator/internal/connector/kafka/kafkatest"
	"github.com/dataaggregator/aggregator/internal/record"
	"github.com/dataaggregator/aggregator/internal/testutil"
)

func cfg(addrs []string, kv ...any) map[string]any {
	m := map[string]any{"brokers": toAny(addrs)}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// readRows reads from rd until n rows (and rejects) arrived.
func readRows(t *testing.T, rd connector.Reader, n int) ([]map[string]any, []record.Reject) {
	t.Helper()
	rows, rejects, err := tryReadRows(rd, n)
	if err != nil {
		t.Fatal(err)
	}
	return rows, rejects
}

// tryReadRows is readRows for a goroutine other than the test's (which must not call t.Fatal).
func tryReadRows(rd connector.Reader, n int) ([]map[string]any, []record.Reject, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var rows []map[string]any
	var rejects []record.Reject
	for len(rows)+len(rejects) < n {
		b, err := rd.Next(ctx)
		if err != nil {
			return rows, rejects, fmt.Errorf("after %d rows and %d rejects of %d: %w", len(rows), len(rejects), n, err)
		}
		for i := range b.Rows {
			m := b.RowMap(i)
			for k, v := range m {
				if raw, ok := v.(json.RawMessage); ok {
					m[k] = string(raw)
				}
			}
			rows = append(rows, m)
		}
		rejects = append(rejects, b.Rejects...)
	}
	return rows, rejects, nil
}

func open(t *testing.T, env connector.Env, config map[string]any, state json.RawMessage) connector.Reader {
	t.Helper()
	rd, err := kafka.New().Open(context.Background(), env, config, connector.ReadRequest{State: state})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rd.Close() })
	return rd
}

func TestPayloadFormats(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		config   []any
		payloads []string
		want     []map[string]any
		rejects  []string // reasons, in order
	}{
		{name: "json with fields", config: []any{"fields", []any{map[string]any{"name": "id", "type": "int"}, map[string]any{"name": "name"}}},
			payloads: []string{`{"id": 1, "name": "a", "extra": true}`, `{"id": "x"}`, `not json`, `{"id": 2}`},
			want:     []map[string]any{{"id": int64(1), "name": "a"}, {"id": int64(2), "name": nil}},
			rejects:  []string{`invalid integer "x"`, "payload is not a JSON object"}},
		{name: "json whole", payloads: []string{`{"a":1}`, `[1`},
			want: []map[string]any{{"value": `{"a":1}`}}, rejects: []string{"payload is not valid JSON"}},
		{name: "ndjson", config: []any{"format", "ndjson", "fields", []any{map[string]any{"name": "n", "type": "int"}}},
			payloads: []string{"{\"n\":1}\n{\"n\":2}\n", `{"n":3}`},
			want:     []map[string]any{{"n": int64(1)}, {"n": int64(2)}, {"n": int64(3)}}},
		{name: "csv", config: []any{"format", "csv", "fields", []any{map[string]any{"name": "n", "type": "int"}, map[string]any{"name": "s"}}},
			payloads: []string{"1,a\n2,\"b,c\"", "3", "4,d"},
			want:     []map[string]any{{"n": int64(1), "s": "a"}, {"n": int64(2), "s": "b,c"}, {"n": int64(4), "s": "d"}},
			rejects:  []string{"1 columns, want 2 (n, s)"}},
		{name: "raw", config: []any{"format", "raw"}, payloads: []string{"hello", ""},
			want: []map[string]any{{"value": "hello"}, {"value": ""}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			addrs := kafkatest.Cluster(t, "t", 1)
			p := kafkatest.Client(t, addrs, kgo.DefaultProduceTopic("t"))
			for _, s := range tc.payloads {
				kafkatest.Produce(t, p, &kgo.Record{Value: []byte(s)})
			}
			c := cfg(addrs, append([]any{"topics", []any{"t"}, "metadata", false}, tc.config...)...)
			rd := open(t, connector.Env{}, c, nil)
			rows, rejects := readRows(t, rd, len(tc.want)+len(tc.rejects))
			if d := cmp.Diff(tc.want, rows); d != "" {
				t.Errorf("rows (-want +got):\n%s", d)
			}
			if len(rejects) != len(tc.rejects) {
				t.Fatalf("rejects: %+v, want %q", rejects, tc.rejects)
			}
			for i, rj := range rejects {
				if !strings.Contains(rj.Reason, tc.rejects[i]) {
					t.Errorf("reject %d: %q, want %q", i, rj.Reason, tc.rejects[i])
				}
				if !strings.HasPrefix(rj.Source, "t/0@") || rj.Source != fmt.Sprintf("t/0@%d", rj.Pos) {
					t.Errorf("reject %d names %q pos %d, want the topic, partition and offset", i, rj.Source, rj.Pos)
				}
			}
		})
	}
}

func TestMetadataFields(t *testing.T) {
	t.Parallel()
	addrs := kafkatest.Cluster(t, "m", 2)
	p := kafkatest.Client(t, addrs, kgo.DefaultProduceTopic("m"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	ts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	kafkatest.Produce(t, p, &kgo.Record{Partition: 1, Key: []byte("k1"), Value: []byte(`{"a":1}`), Timestamp: ts,
		Headers: []kgo.RecordHeader{{Key: "h", Value: []byte("v")}}})
	rd := open(t, connector.Env{}, cfg(addrs, "topics", []any{"m"}), nil)
	rows, _ := readRows(t, rd, 1)
	want := map[string]any{"value": `{"a":1}`, "_key": "k1", "_headers": `{"h":"v"}`,
		"_topic": "m", "_partition": int64(1), "_offset": int64(0), "_timestamp": ts}
	if d := cmp.Diff(want, rows[0]); d != "" {
		t.Errorf("row (-want +got):\n%s", d)
	}
}

// TestOffsetsCommitOnlyThroughAck: reading does not move the group; Ack of a state does, to exactly
// that state.
func TestOffsetsCommitOnlyThroughAck(t *testing.T) {
	t.Parallel()
	addrs := kafkatest.Cluster(t, "orders", 3)
	p := kafkatest.Client(t, addrs, kgo.DefaultProduceTopic("orders"))
	produce := func(from, to int) {
		for i := from; i <= to; i++ {
			kafkatest.Produce(t, p, &kgo.Record{Key: fmt.Appendf(nil, "%d", i), Value: fmt.Appendf(nil, `{"n":%d}`, i)})
		}
	}
	keys := func(rows []map[string]any) []string {
		var out []string
		for _, r := range rows {
			out = append(out, r["_key"].(string))
		}
		return out
	}
	c := cfg(addrs, "topics", []any{"orders"}, "group", "g")
	produce(1, 10)

	rd, err := kafka.New().Open(context.Background(), connector.Env{}, c, connector.ReadRequest{})
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := readRows(t, rd, 10)
	rd.Close() // no Ack: nothing committed

	rd, err = kafka.New().Open(context.Background(), connector.Env{}, c, connector.ReadRequest{})
	if err != nil {
		t.Fatal(err)
	}
	again, _ := readRows(t, rd, 10)
	if len(keys(again)) != 10 {
		t.Fatalf("without an ack the group re-reads every record, got %v (first read %v)", keys(again), keys(rows))
	}
	st, err := rd.State()
	if err != nil {
		t.Fatal(err)
	}
	if err := rd.(connector.Acker).Ack(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	rd.Close()

	produce(11, 15)
	rd = open(t, connector.Env{}, c, nil)
	rest, _ := readRows(t, rd, 5)
	got := keys(rest)
	if len(got) != 5 {
		t.Fatalf("after the ack: %v, want 11..15", got)
	}
	for _, k := range got {
		if k < "11" || len(k) != 2 {
			t.Errorf("after the ack, record %s came again", k)
		}
	}
}

// TestResumeFromState: a reader opened with a checkpoint state starts there, ahead of the group's
// committed offsets (the process stopped between the checkpoint and the commit), and without a group.
func TestResumeFromState(t *testing.T) {
	t.Parallel()
	addrs := kafkatest.Cluster(t, "r", 1)
	p := kafkatest.Client(t, addrs, kgo.DefaultProduceTopic("r"))
	for i := range 6 {
		kafkatest.Produce(t, p, &kgo.Record{Value: fmt.Appendf(nil, `{"n":%d}`, i)})
	}
	for _, group := range []string{"", "gr"} {
		c := cfg(addrs, "topics", []any{"r"}, "fields", []any{map[string]any{"name": "n", "type": "int"}}, "metadata", false)
		if group != "" {
			c["group"] = group
		}
		rd := open(t, connector.Env{}, c, json.RawMessage(`{"offsets":{"r":{"0":4}}}`))
		rows, _ := readRows(t, rd, 2)
		if d := cmp.Diff([]map[string]any{{"n": int64(4)}, {"n": int64(5)}}, rows); d != "" {
			t.Errorf("group %q: rows (-want +got):\n%s", group, d)
		}
		st, _ := rd.State()
		if string(st) != `{"offsets":{"r":{"0":6}}}` {
			t.Errorf("group %q: state %s", group, st)
		}
	}
}

func TestStartPositions(t *testing.T) {
	t.Parallel()
	addrs := kafkatest.Cluster(t, "s", 1)
	p := kafkatest.Client(t, addrs, kgo.DefaultProduceTopic("s"))
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := range 3 {
		kafkatest.Produce(t, p, &kgo.Record{Value: fmt.Appendf(nil, `{"n":%d}`, i), Timestamp: base.Add(time.Duration(i) * time.Hour)})
	}
	fields := []any{map[string]any{"name": "n", "type": "int"}}
	rd := open(t, connector.Env{}, cfg(addrs, "topics", []any{"s"}, "fields", fields, "metadata", false, "start", "timestamp",
		"start_timestamp", base.Add(90*time.Minute).Format(time.RFC3339)), nil)
	rows, _ := readRows(t, rd, 1)
	if rows[0]["n"] != int64(2) {
		t.Errorf("start timestamp: first row %v, want n=2", rows[0])
	}
	latest := open(t, connector.Env{}, cfg(addrs, "topics", []any{"s"}, "fields", fields, "metadata", false, "start", "latest", "group", "lat"), nil)
	type read struct {
		b   *record.Batch
		err error
	}
	done := make(chan read, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go func() { // Next, not readRows: t.Fatal must not be called off the test's goroutine
		b, err := latest.Next(ctx)
		done <- read{b, err}
	}()
	// The consumer resolves "latest" some time after it joins its group: a record produced before
	// that is behind its start. Produce new ones until it reads one; it must never read n < 3.
	waitAssigned(t, addrs, "lat")
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for n := 3; ; n++ {
		kafkatest.Produce(t, p, &kgo.Record{Value: fmt.Appendf(nil, `{"n":%d}`, n)})
		select {
		case r := <-done:
			if r.err != nil {
				t.Fatalf("start latest: %v", r.err)
			}
			if got := r.b.RowMap(0)["n"]; got.(int64) < 3 {
				t.Errorf("start latest: first row n=%v, want a record produced after the start (n >= 3)", got)
			}
			return
		case <-tick.C:
		}
	}
}

// waitAssigned waits until the group has a stable member with partitions.
func waitAssigned(t *testing.T, addrs []string, group string) {
	t.Helper()
	cl := kafkatest.Client(t, addrs)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		req := kmsgDescribe(group)
		resp, err := req.RequestWith(context.Background(), cl)
		if err == nil && len(resp.Groups) == 1 && resp.Groups[0].State == "Stable" && len(resp.Groups[0].Members) > 0 {
			return
		}
		time.Sleep(20 * time.Millisecond) // polling the broker's group state: there is no event to wait on
	}
	t.Fatalf("group %s never became stable", group)
}

func TestSinkRoundTrip(t *testing.T) {
	t.Parallel()
	addrs := kafkatest.Cluster(t, "out", 3)
	schema := record.MustSchema(record.Field{Name: "id", Kind: record.KindInt}, record.Field{Name: "p", Kind: record.KindInt},
		record.Field{Name: "name", Kind: record.KindString, Nullable: true})
	w, err := kafka.New().OpenWriter(context.Background(), connector.Env{}, cfg(addrs, "topic", "out", "key_field", "id",
		"partitioner", "field", "partition_field", "p", "header_fields", []any{"name"}, "compression", "zstd", "linger_ms", 0),
		connector.WriteRequest{Mode: connector.Append, Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	b := record.NewBatch(schema, 3)
	for i := range 3 {
		b.Rows = append(b.Rows, record.Row{record.Int(int64(i + 1)), record.Int(int64(i)), record.String(fmt.Sprintf("n%d", i))})
	}
	if err := w.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	recs := kafkatest.Consume(t, addrs, "out", 3)
	got := map[string]string{}
	for _, r := range recs {
		got[string(r.Key)] = fmt.Sprintf("p%d %s %s=%s", r.Partition, r.Value, r.Headers[0].Key, r.Headers[0].Value)
	}
	want := map[string]string{
		"1": `p0 {"id":1,"p":0,"name":"n0"} name=n0`,
		"2": `p1 {"id":2,"p":1,"name":"n1"} name=n1`,
		"3": `p2 {"id":3,"p":2,"name":"n2"} name=n2`,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("records (-want +got):\n%s", d)
	}
}

func TestConfigProblems(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		config map[string]any
		want   string
	}{
		{map[string]any{"brokers": []any{"h:1"}}, "topics: give the topics to read, or topic_regex"},
		{map[string]any{"brokers": []any{"h"}, "topics": []any{"a"}}, `brokers[0]: "h" is not host:port`},
		{map[string]any{"brokers": []any{"h:1"}, "topic_regex": "^a"}, "group: required with topic_regex"},
		{map[string]any{"brokers": []any{"h:1"}, "topics": []any{"a"}, "sasl_mechanism": "plain"}, "sasl_username, sasl_password: required"},
		{map[string]any{"brokers": []any{"h:1"}, "topics": []any{"a"}, "start": "timestamp"}, "start_timestamp: an RFC 3339 time is required"},
		{map[string]any{"brokers": []any{"h:1"}, "topics": []any{"a"}, "format": "csv"}, "fields: required with format csv"},
	} {
		_, err := kafka.New().Open(context.Background(), connector.Env{}, tc.config, connector.ReadRequest{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.config, err, tc.want)
		}
	}
	_, err := kafka.New().OpenWriter(context.Background(), connector.Env{}, map[string]any{"brokers": []any{"h:1"}},
		connector.WriteRequest{Schema: record.MustSchema(record.Field{Name: "a", Kind: record.KindInt})})
	if err == nil || !strings.Contains(err.Error(), "topic: required for a destination") {
		t.Errorf("sink without topic: %v", err)
	}
}

func TestSASL(t *testing.T) {
	t.Parallel()
	for _, mech := range []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"} {
		t.Run(mech, func(t *testing.T) {
			t.Parallel()
			addrs := kafkatest.Cluster(t, "sec", 1, kfake.EnableSASL(), kfake.Superuser(mech, "agg", "s3cret"))
			good := cfg(addrs, "topics", []any{"sec"}, "sasl_mechanism", strings.ToLower(mech), "sasl_username", "agg", "sasl_password", "s3cret")
			if err := kafka.New().Check(context.Background(), connector.Env{}, good); err != nil {
				t.Fatalf("good credentials: %v", err)
			}
			bad := cfg(addrs, "topics", []any{"sec"}, "sasl_mechanism", strings.ToLower(mech), "sasl_username", "agg", "sasl_password", "wrong")
			err := kafka.New().Check(context.Background(), connector.Env{}, bad)
			if err == nil {
				t.Fatal("wrong password accepted")
			}
			if strings.Contains(err.Error(), "wrong") {
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}
}

func TestCheckNamesMissingTopic(t *testing.T) {
	t.Parallel()
	addrs := kafkatest.Cluster(t, "present", 1)
	err := kafka.New().Check(context.Background(), connector.Env{}, cfg(addrs, "topics", []any{"present", "absent"}))
	if err == nil || !strings.Contains(err.Error(), "topic absent does not exist") {
		t.Fatalf("Check: %v", err)
	}
}

// logSink collects log messages for a test to wait on.
type logSink struct {
	ch chan string
}

func (l *logSink) Enabled(context.Context, slog.Level) bool { return true }
func (l *logSink) Handle(_ context.Context, r slog.Record) error {
	select {
	case l.ch <- r.Message:
	default:
	}
	return nil
}
func (l *logSink) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logSink) WithGroup(string) slog.Handler      { return l }

func (l *logSink) waitFor(t *testing.T, prefix string) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case m := <-l.ch:
			if strings.HasPrefix(m, prefix) {
				return
			}
		case <-timeout:
			t.Fatalf("no log message %q", prefix)
		}
	}
}

// TestBrokerGoesAway: the connections to the broker are cut; the reader logs that the broker cannot
// be reached, and when it returns, logs so and goes on with the records produced meanwhile.
func TestBrokerGoesAway(t *testing.T) {
	t.Parallel()
	addrs := kafkatest.Cluster(t, "away", 1)
	proxy := testutil.NewProxy(t, addrs[0])
	logs := &logSink{ch: make(chan string, 1000)}
	var d net.Dialer
	env := connector.Env{Logger: slog.New(logs), Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, proxy.Addr) // every broker address goes through the proxy
	}}
	p := kafkatest.Client(t, addrs, kgo.DefaultProduceTopic("away"))
	kafkatest.Produce(t, p, &kgo.Record{Value: []byte(`{"n":1}`)})
	rd := open(t, env, cfg(addrs, "topics", []any{"away"}, "group", "ga", "max_wait_ms", 100), nil)
	readRows(t, rd, 1)

	proxy.Cut()
	type read struct {
		rows []map[string]any
		err  error
	}
	got := make(chan read, 1)
	go func() {
		rows, _, err := tryReadRows(rd, 1)
		got <- read{rows, err}
	}()
	logs.waitFor(t, "kafka: cannot reach the broker")
	kafkatest.Produce(t, p, &kgo.Record{Value: []byte(`{"n":2}`)})
	select {
	case r := <-got:
		t.Fatalf("read %v (%v) while the broker was unreachable", r.rows, r.err)
	default:
	}
	proxy.Restore()
	logs.waitFor(t, "kafka: broker reachable again")
	r := <-got
	if r.err != nil {
		t.Fatal(r.err)
	}
	if rows := r.rows; rows[0]["value"] != `{"n":2}` {
		t.Errorf("after the broker returned: %v", rows)
	}
}

// TestPositions: the reader reports each partition's committed offset and its lag behind the
// high watermark; lag grows with records read and not acknowledged, and an ack clears it.
func TestPositions(t *testing.T) {
	t.Parallel()
	sum := func(ps []connector.Position) (committed, lag int64) {
		for _, p := range ps {
			if p.LagUnit != connector.LagRecords || p.Offset < 0 || p.Lag < 0 || !strings.HasPrefix(p.Partition, "pos/") {
				t.Fatalf("position %+v: want a committed offset and a lag in records", p)
			}
			committed += p.Offset
			lag += p.Lag
		}
		return committed, lag
	}
	for _, group := range []string{"g", ""} {
		t.Run("group="+group, func(t *testing.T) {
			addrs := kafkatest.Cluster(t, "pos", 3)
			p := kafkatest.Client(t, addrs, kgo.DefaultProduceTopic("pos"))
			produce := func(from, to int) {
				for i := from; i <= to; i++ {
					kafkatest.Produce(t, p, &kgo.Record{Key: fmt.Appendf(nil, "%d", i), Value: fmt.Appendf(nil, `{"n":%d}`, i)})
				}
			}
			c := cfg(addrs, "topics", []any{"pos"})
			if group != "" {
				c["group"] = "pos-" + group
			}
			rd := open(t, connector.Env{}, c, nil)
			pr := rd.(connector.PositionReporter)
			produce(1, 10)
			readRows(t, rd, 10)
			st, _ := rd.State()
			if err := rd.(connector.Acker).Ack(context.Background(), st); err != nil {
				t.Fatal(err)
			}
			ps, err := pr.Positions(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if committed, lag := sum(ps); committed != 10 || lag != 0 {
				t.Fatalf("after acking 10 records: committed %d, lag %d (%+v); want 10, 0", committed, lag, ps)
			}
			produce(11, 15)
			readRows(t, rd, 5)
			ps, _ = pr.Positions(context.Background())
			if committed, lag := sum(ps); committed != 10 || lag != 5 {
				t.Fatalf("5 records read, not acked: committed %d, lag %d (%+v); want 10, 5", committed, lag, ps)
			}
			st, _ = rd.State()
			_ = rd.(connector.Acker).Ack(context.Background(), st)
			ps, _ = pr.Positions(context.Background())
			if committed, lag := sum(ps); committed != 15 || lag != 0 {
				t.Fatalf("after the ack: committed %d, lag %d; want 15, 0", committed, lag)
			}
		})
	}
}

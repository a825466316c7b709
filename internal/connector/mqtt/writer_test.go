package mqtt_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/connectortest"
	"github.com/dataaggregator/aggregator/internal/connector/mqtt"
	"github.com/dataaggregator/aggregator/internal/engine"
	"github.com/dataaggregator/aggregator/internal/pipeline"
	"github.com/dataaggregator/aggregator/internal/record"
	"github.com/dataaggregator/aggregator/internal/testutil"
	"github.com/dataaggregator/aggregator/internal/transform"
)

func write(t *testing.T, config map[string]any, rows ...record.Row) error {
	t.Helper()
	s := record.MustSchema(record.Field{Name: "id", Kind: record.KindInt}, record.Field{Name: "name", Kind: record.KindString, Nullable: true})
	w, err := mqtt.New().OpenWriter(context.Background(), connector.Env{}, config, connector.WriteRequest{Mode: connector.Append, Schema: s})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := w.Write(ctx, &record.Batch{Schema: s, Rows: rows}); err != nil {
		w.Abort(ctx)
		return err
	}
	return w.Close(ctx)
}

// TestSinkRoundTrip: rows published with QoS 1 in each format come back through the source.
func TestSinkRoundTrip(t *testing.T) {
	t.Parallel()
	rows := []record.Row{{record.Int(1), record.String("a,b")}, {record.Int(2), record.Null}}
	want := []map[string]any{{"id": int64(1), "name": "a,b"}, {"id": int64(2), "name": nil}}
	fields := []any{map[string]any{"name": "id", "type": "int"}, map[string]any{"name": "name"}}
	for _, tc := range []struct {
		format string
		src    []any
		want   []map[string]any
	}{
		{"json", []any{"fields", fields}, want},
		{"ndjson", []any{"fields", fields}, want},
		{"csv", []any{"fields", fields}, []map[string]any{{"id": int64(1), "name": "a,b"}, {"id": int64(2), "name": ""}}},
		{"raw", nil, []map[string]any{{"value": "a,b"}, {"value": ""}}},
	} {
		t.Run(tc.format, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			rd := open(t, connector.Env{}, b.cfg(append([]any{"format", tc.format, "metadata", false}, tc.src...)...))
			sink := map[string]any{"url": "tcp://" + b.addr, "topic": b.topic + "/out", "format": tc.format, "value_field": "name"}
			if err := write(t, sink, rows...); err != nil {
				t.Fatal(err)
			}
			got, rejects := readRows(t, rd, 2)
			if len(rejects) > 0 {
				t.Fatalf("rejects: %+v", rejects)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("rows (-want +got):\n%s", d)
			}
		})
	}
}

// TestStreamRunAcksAfterCommit: an engine run stopped after its destination committed acknowledges
// what it read, so the next run of the same client id sees only new messages. The broker's
// in-flight window (20 on Mosquitto's defaults) is refilled by each commit.
func TestStreamRunAcksAfterCommit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tr, err := transform.NewRegistry(transform.Builtins()...)
	if err != nil {
		t.Fatal(err)
	}
	spec := fmt.Sprintf(`version: 1
name: stream
sources:
  - id: m
    type: mqtt
    config: {url: "tcp://%s", topics: ["%s/#"], client_id: %s, fields: [{name: n, type: int}]}
destinations:
  - id: out
    type: sink
    inputs: [m]
`, b.addr, b.topic, b.client)
	run := func(dst *connectortest.Sink, until int) {
		t.Helper()
		cr, err := connector.NewRegistry(mqtt.New(), dst)
		if err != nil {
			t.Fatal(err)
		}
		s, err := pipeline.Parse([]byte(spec))
		if err != nil {
			t.Fatal(err)
		}
		p, err := pipeline.Validate(context.Background(), s, pipeline.Env{Connectors: cr, Transforms: tr})
		if err != nil {
			t.Fatal(err)
		}
		stop := make(chan struct{})
		var once sync.Once
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		res, err := engine.Run(ctx, p, engine.Options{Stop: stop, CommitInterval: 50 * time.Millisecond, ProgressInterval: 10 * time.Millisecond,
			Progress: func(engine.Progress) {
				if len(dst.Rows()) >= until {
					once.Do(func() { close(stop) })
				}
			}})
		if err != nil || !res.Stopped {
			t.Fatalf("run: %v (stopped %v)", err, res != nil && res.Stopped)
		}
	}
	// the session exists (subscribed) before the messages are published
	rd := open(t, connector.Env{}, b.cfg("fields", []any{map[string]any{"name": "n", "type": "int"}}))
	rd.Close()
	for i := 1; i <= 100; i++ {
		b.publish(t, fmt.Sprintf(`{"n":%d}`, i))
	}
	dst := &connectortest.Sink{}
	run(dst, 100)
	want := make([]int64, 100)
	for i := range want {
		want[i] = int64(i + 1)
	}
	if got := dst.Rows(); !cmp.Equal(got, want) {
		t.Fatalf("first run committed %v, want 1..100 in order", got)
	}
	b.publish(t, `{"n":101}`)
	dst2 := &connectortest.Sink{}
	run(dst2, 1)
	if got := dst2.Rows(); !cmp.Equal(got, []int64{101}) {
		t.Errorf("second run read %v, want only 101", got)
	}
}

// TestSinkBrokerLoss: a sink that loses the broker fails (at Write or Commit) with a transient
// error naming it, never a commit that claims what the broker did not acknowledge; what was
// committed before arrived.
func TestSinkBrokerLoss(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rd := open(t, connector.Env{}, b.cfg("fields", []any{map[string]any{"name": "id", "type": "int"}}, "metadata", false))
	proxy := testutil.NewProxy(t, b.addr)
	s := record.MustSchema(record.Field{Name: "id", Kind: record.KindInt}, record.Field{Name: "name", Kind: record.KindString, Nullable: true})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	w, err := mqtt.New().OpenWriter(ctx, connector.Env{}, map[string]any{"url": "tcp://" + proxy.Addr, "topic": b.topic + "/out"}, connector.WriteRequest{Schema: s})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort(ctx)
	row := func(i int64) *record.Batch {
		return &record.Batch{Schema: s, Rows: []record.Row{{record.Int(i), record.Null}}}
	}
	if err := w.Write(ctx, row(1)); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	proxy.Cut()
	err = w.Write(ctx, row(2))
	if err == nil {
		err = w.Commit(ctx)
	}
	if err == nil || !errors.Is(err, connector.ErrTransient) || !strings.Contains(err.Error(), proxy.Addr) {
		t.Errorf("after the broker was cut: %v, want a transient error naming %s", err, proxy.Addr)
	}
	rows, _ := readRows(t, rd, 1)
	if got := ints(rows, "id"); !cmp.Equal(got, []int64{1}) {
		t.Errorf("subscriber got %v, want 1", got)
	}
}

package amqp_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/amqp"
	"github.com/dataaggregator/aggregator/internal/record"
	"github.com/dataaggregator/aggregator/internal/testutil"
)

func write(t *testing.T, config map[string]any, rows ...record.Row) error {
	t.Helper()
	s := record.MustSchema(record.Field{Name: "id", Kind: record.KindInt}, record.Field{Name: "name", Kind: record.KindString, Nullable: true})
	w, err := amqp.New().OpenWriter(context.Background(), connector.Env{}, config, connector.WriteRequest{Mode: connector.Append, Schema: s})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := w.Write(ctx, &record.Batch{Schema: s, Rows: rows}); err != nil {
		w.Abort(ctx)
		return err
	}
	if err := w.Commit(ctx); err != nil {
		w.Abort(ctx)
		return err
	}
	return w.Close(ctx)
}

// TestSinkRoundTrip: rows published in each format come back through the source as they were, as
// persistent messages with their message id.
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
			sink := b.cfg("format", tc.format, "message_id_field", "id", "value_field", "name")
			if err := write(t, sink, rows...); err != nil {
				t.Fatal(err)
			}
			// the messages as the broker holds them
			var last uint64
			for i, wantID := range []string{"1", "2"} {
				m, ok, err := b.ch.Get(b.queue, false)
				last = m.DeliveryTag
				if err != nil || !ok {
					t.Fatalf("get message %d: %v %v", i, ok, err)
				}
				if m.DeliveryMode != amqp091.Persistent || m.MessageId != wantID {
					t.Errorf("message %d: delivery mode %d, message id %q; want persistent (2), %q", i, m.DeliveryMode, m.MessageId, wantID)
				}
			}
			if err := b.ch.Nack(last, true, true); err != nil { // put them back
				t.Fatal(err)
			}
			rd := open(t, connector.Env{}, b.cfg(append([]any{"format", tc.format, "metadata", false}, tc.src...)...))
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

// TestSinkExchangeRoutingAndUnroutable: a sink publishes through an exchange by a routing-key field;
// a message no queue is bound for fails the commit (mandatory) with a message that says so.
func TestSinkExchangeRoutingAndUnroutable(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if err := b.ch.ExchangeDeclare(b.queue+"-x", "direct", false, true, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := b.ch.QueueBind(b.queue, "good", b.queue+"-x", false, nil); err != nil {
		t.Fatal(err)
	}
	sink := map[string]any{"url": "amqp://" + b.addr + "/", "exchange": b.queue + "-x", "routing_key_field": "name"}
	if err := write(t, sink, record.Row{record.Int(1), record.String("good")}); err != nil {
		t.Fatal(err)
	}
	if n := b.count(t); n != 1 {
		t.Fatalf("%d messages routed, want 1", n)
	}
	err := write(t, sink, record.Row{record.Int(2), record.String("nowhere")})
	if err == nil || !strings.Contains(err.Error(), `no queue is bound to exchange "`+b.queue+`-x" for routing key "nowhere"`) {
		t.Errorf("unroutable message: %v", err)
	}
	if err := amqp.New().Check(context.Background(), connector.Env{}, map[string]any{"url": "amqp://" + b.addr + "/", "exchange": "no-such-exchange-" + b.queue}); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("check of a missing exchange: %v", err)
	}
}

// TestSinkBackpressure: with max_in_flight small, a large write still completes, waiting for
// confirms as it goes.
func TestSinkBackpressure(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rows := make([]record.Row, 2000)
	for i := range rows {
		rows[i] = record.Row{record.Int(int64(i)), record.String("x")}
	}
	if err := write(t, b.cfg("max_in_flight", 50), rows...); err != nil {
		t.Fatal(err)
	}
	if n := b.count(t); n != len(rows) {
		t.Errorf("%d messages in the queue, want %d", n, len(rows))
	}
}

// TestSinkBrokerLoss: a sink whose connection is cut fails its commit with a transient error that
// names the broker (the rows since the last commit are not durable; the source is not acknowledged).
func TestSinkBrokerLoss(t *testing.T) {
	t.Parallel()
	b := setup(t)
	proxy := testutil.NewProxy(t, b.addr)
	s := record.MustSchema(record.Field{Name: "id", Kind: record.KindInt}, record.Field{Name: "name", Kind: record.KindString, Nullable: true})
	ctx := context.Background()
	w, err := amqp.New().OpenWriter(ctx, connector.Env{}, b.cfg("url", "amqp://"+proxy.Addr+"/"), connector.WriteRequest{Schema: s})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort(ctx)
	batch := &record.Batch{Schema: s, Rows: []record.Row{{record.Int(1), record.String("a")}}}
	if err := w.Write(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	proxy.Cut()
	err = w.Write(ctx, batch)
	if err == nil {
		err = w.Commit(ctx)
	}
	if err == nil || !errors.Is(err, connector.ErrTransient) || !strings.Contains(err.Error(), proxy.Addr) {
		t.Errorf("after the broker was cut: %v, want a transient error naming %s", err, proxy.Addr)
	}
	if n := b.count(t); n != 1 {
		t.Errorf("%d messages in the queue, want the 1 committed", n)
	}
}

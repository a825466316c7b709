package natsjs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/natsjs"
	"github.com/dataaggregator/aggregator/internal/connector/natsjs/natstest"
	"github.com/dataaggregator/aggregator/internal/record"
)

func srcConfig(stream, subject, durable string, kv ...any) map[string]any {
	m := map[string]any{"url": natstest.URL(), "stream": stream, "subjects": []any{subject + ".>"}, "durable": durable,
		"fields": []any{map[string]any{"name": "n", "type": "int"}}, "metadata": false}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

func open(t *testing.T, config map[string]any) connector.Reader {
	t.Helper()
	rd, err := natsjs.New().Open(context.Background(), connector.Env{}, config, connector.ReadRequest{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rd.Close() })
	return rd
}

// read reads n rows and rejects; with n 0 it checks that nothing arrives within wait.
func read(t *testing.T, rd connector.Reader, n int, wait time.Duration) ([]int64, []record.Reject) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	var ns []int64
	var rejects []record.Reject
	for len(ns)+len(rejects) < n || n == 0 {
		b, err := rd.Next(ctx)
		if err != nil {
			if n == 0 && ctx.Err() != nil {
				return ns, rejects
			}
			t.Fatalf("after %d rows and %d rejects of %d: %v", len(ns), len(rejects), n, err)
		}
		for _, r := range b.Rows {
			ns = append(ns, r[0].AsInt())
		}
		rejects = append(rejects, b.Rejects...)
		if n == 0 && len(ns)+len(rejects) > 0 {
			t.Fatalf("expected nothing, got rows %v rejects %v", ns, rejects)
		}
	}
	return ns, rejects
}

func payloads(from, to int) [][]byte {
	var out [][]byte
	for i := from; i <= to; i++ {
		out = append(out, fmt.Appendf(nil, `{"n":%d}`, i))
	}
	return out
}

// TestAckOnlyThroughAcker: messages read and not acknowledged come again (after ack_wait); Ack of
// a state acknowledges exactly the messages returned before it.
func TestAckOnlyThroughAcker(t *testing.T) {
	t.Parallel()
	stream, subj, js := natstest.Stream(t)
	natstest.Publish(t, js, subj+".a", payloads(1, 10)...)
	c := srcConfig(stream, subj, "d1", "ack_wait", 2)

	rd := open(t, c)
	first, _ := read(t, rd, 10, 10*time.Second)
	rd.Close()
	rd = open(t, c)
	again, _ := read(t, rd, 10, 10*time.Second) // delivered again after ack_wait
	if d := cmp.Diff(first, again); d != "" {
		t.Fatalf("redelivery (-first +again):\n%s", d)
	}
	st, _ := rd.State()
	if err := rd.(connector.Acker).Ack(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	rd.Close()
	// The closed reader's pull requests stay on the server until they expire; a message published
	// before then goes to one of them and comes back only after ack_wait, out of order.
	noWaitingPulls(t, js, stream, "d1")

	natstest.Publish(t, js, subj+".a", payloads(11, 13)...)
	rd = open(t, c)
	got, _ := read(t, rd, 3, 10*time.Second)
	if d := cmp.Diff([]int64{11, 12, 13}, got); d != "" {
		t.Errorf("after the ack (-want +got):\n%s", d)
	}
	st, _ = rd.State()
	if err := rd.(connector.Acker).Ack(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	read(t, rd, 0, 3*time.Second) // past ack_wait: nothing acknowledged comes back
}

func TestBadPayloadIsARejectWithItsSequence(t *testing.T) {
	t.Parallel()
	stream, subj, js := natstest.Stream(t)
	natstest.Publish(t, js, subj+".a", []byte(`{"n":1}`), []byte(`{"n":`), []byte(`{"n":"x"}`), []byte(`{"n":4}`))
	rd := open(t, srcConfig(stream, subj, "bad"))
	ns, rejects := read(t, rd, 4, 10*time.Second)
	if d := cmp.Diff([]int64{1, 4}, ns); d != "" {
		t.Errorf("rows (-want +got):\n%s", d)
	}
	if len(rejects) != 2 || rejects[0].Source != stream+"#2" || rejects[0].Pos != 2 || rejects[1].Source != stream+"#3" ||
		!strings.Contains(rejects[1].Reason, "invalid integer") {
		t.Errorf("rejects: %+v", rejects)
	}
}

func TestMetadataFields(t *testing.T) {
	t.Parallel()
	stream, subj, js := natstest.Stream(t)
	natstest.Publish(t, js, subj+".x", []byte(`{"a":1}`))
	rd, err := natsjs.New().Open(context.Background(), connector.Env{}, map[string]any{"url": natstest.URL(), "stream": stream, "durable": "m"},
		connector.ReadRequest{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	b, err := rd.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m := b.RowMap(0)
	if string(m["value"].(json.RawMessage)) != `{"a":1}` || m["_subject"] != subj+".x" || m["_stream_seq"] != int64(1) {
		t.Errorf("row %v", m)
	}
}

// TestSinkDedupsByMsgID: rows written twice with the same msg_id_field land once.
func TestSinkDedupsByMsgID(t *testing.T) {
	t.Parallel()
	stream, subj, js := natstest.Stream(t)
	schema := record.MustSchema(record.Field{Name: "id", Kind: record.KindInt}, record.Field{Name: "s", Kind: record.KindString})
	for range 2 {
		w, err := natsjs.New().OpenWriter(context.Background(), connector.Env{}, map[string]any{"url": natstest.URL(), "stream": stream,
			"subject": subj + ".out", "msg_id_field": "id"}, connector.WriteRequest{Mode: connector.Append, Schema: schema, RunID: "r", Node: "n"})
		if err != nil {
			t.Fatal(err)
		}
		b := record.NewBatch(schema, 3)
		for i := range 3 {
			b.Rows = append(b.Rows, record.Row{record.Int(int64(i)), record.String("x")})
		}
		if err := w.Write(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	s, err := js.Stream(context.Background(), stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 3 {
		t.Errorf("%d messages in the stream, want 3 (the second write's ids are duplicates)", info.State.Msgs)
	}
	m, err := s.GetMsg(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Data) != `{"id":0,"s":"x"}` || m.Header.Get("Nats-Msg-Id") != "0" {
		t.Errorf("message 1: %s %v", m.Data, m.Header)
	}
}

func TestSinkCreatesStream(t *testing.T) {
	t.Parallel()
	_, subj, js := natstest.Stream(t) // for the connection; the sink creates another stream
	name := "C" + strings.ToUpper(subj)
	t.Cleanup(func() { _ = js.DeleteStream(context.Background(), name) })
	schema := record.MustSchema(record.Field{Name: "v", Kind: record.KindString})
	cfg := map[string]any{"url": natstest.URL(), "stream": name, "subject": "c" + subj, "format": "raw", "value_field": "v"}
	if _, err := natsjs.New().OpenWriter(context.Background(), connector.Env{}, cfg, connector.WriteRequest{Schema: schema}); err == nil ||
		!strings.Contains(err.Error(), "create_stream: true") {
		t.Fatalf("missing stream without create_stream: %v", err)
	}
	cfg["create_stream"] = true
	w, err := natsjs.New().OpenWriter(context.Background(), connector.Env{}, cfg, connector.WriteRequest{Schema: schema, RunID: "r", Node: "n"})
	if err != nil {
		t.Fatal(err)
	}
	b := &record.Batch{Schema: schema, Rows: []record.Row{{record.String("hello")}}}
	if err := w.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	s, _ := js.Stream(context.Background(), name)
	m, err := s.GetMsg(context.Background(), 1)
	if err != nil || string(m.Data) != "hello" || m.Header.Get("Nats-Msg-Id") != "r-n-1" {
		t.Errorf("message: %v %v", m, err)
	}
}

func TestConfigProblems(t *testing.T) {
	t.Parallel()
	_, err := natsjs.New().Open(context.Background(), connector.Env{}, map[string]any{"url": "nats://x:1", "stream": "S"}, connector.ReadRequest{})
	if err == nil || !strings.Contains(err.Error(), "durable: required for a source") {
		t.Errorf("source without durable: %v", err)
	}
	_, err = natsjs.New().OpenWriter(context.Background(), connector.Env{}, map[string]any{"url": "nats://x:1", "stream": "S"},
		connector.WriteRequest{Schema: record.MustSchema(record.Field{Name: "a", Kind: record.KindInt})})
	if err == nil || !strings.Contains(err.Error(), "subject: required for a destination") {
		t.Errorf("sink without subject: %v", err)
	}
}

// TestPositions: the consumer's acknowledgement floor is the committed position; messages not yet
// acknowledged (delivered or not) are its lag.
func TestPositions(t *testing.T) {
	t.Parallel()
	stream, subj, js := natstest.Stream(t)
	natstest.Publish(t, js, subj+".a", payloads(1, 6)...)
	rd := open(t, srcConfig(stream, subj, "pos"))
	pr := rd.(connector.PositionReporter)
	ps, err := pr.Positions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []connector.Position{{Partition: stream + "/pos", Committed: "stream sequence 0", Offset: 0, Lag: 6, LagUnit: connector.LagRecords}}
	if d := cmp.Diff(want, ps); d != "" {
		t.Fatalf("before reading (-want +got):\n%s", d)
	}
	read(t, rd, 6, 10*time.Second)
	st, _ := rd.State()
	if err := rd.(connector.Acker).Ack(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	natstest.Publish(t, js, subj+".a", payloads(7, 10)...)
	ps, err = pr.Positions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want = []connector.Position{{Partition: stream + "/pos", Committed: "stream sequence 6", Offset: 6, Lag: 4, LagUnit: connector.LagRecords}}
	if d := cmp.Diff(want, ps); d != "" {
		t.Fatalf("after acking 6, 4 more published (-want +got):\n%s", d)
	}
}

// noWaitingPulls waits until the durable consumer has no pull request of a closed reader left.
func noWaitingPulls(t *testing.T, js jetstream.JetStream, stream, durable string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cons, err := js.Consumer(ctx, stream, durable)
	if err != nil {
		t.Fatal(err)
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		info, err := cons.Info(ctx)
		if err != nil {
			t.Fatalf("consumer %s: %v", durable, err)
		}
		if info.NumWaiting == 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("consumer %s still has %d pull requests waiting after 90s", durable, info.NumWaiting)
		case <-tick.C:
		}
	}
}

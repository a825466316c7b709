package mqtt_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/google/go-cmp/cmp"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/mqtt"
	"github.com/dataaggregator/aggregator/internal/record"
	"github.com/dataaggregator/aggregator/internal/testutil"
)

// brokerAddr is the Mosquitto the tests use (AGG_TEST_MQTT_ADDR, default 127.0.0.1:1883).
func brokerAddr() string {
	if v := os.Getenv("AGG_TEST_MQTT_ADDR"); v != "" {
		return v
	}
	return "127.0.0.1:1883"
}

// broker is one test's view of the broker: its own topic and client id, a publisher, and the
// persistent session removed when the test ends.
type broker struct {
	addr   string
	topic  string
	client string
	pub    paho.Client
}

func connect(t *testing.T, addr, id string, clean bool) paho.Client {
	t.Helper()
	o := paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).SetCleanSession(clean)
	cl := paho.NewClient(o)
	tok := cl.Connect()
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		testutil.Unavailable(t, "Mosquitto at "+addr, tok.Error())
		return nil
	}
	return cl
}

func setup(t *testing.T) *broker {
	t.Helper()
	b := &broker{addr: brokerAddr(), topic: "aggtest/" + testutil.Name("t"), client: testutil.Name("agg")}
	b.pub = connect(t, b.addr, b.client+"-pub", true)
	t.Cleanup(func() {
		b.pub.Disconnect(100)
		// a clean connection under the source's id ends its persistent session on the broker
		connect(t, b.addr, b.client, true).Disconnect(100)
	})
	return b
}

func (b *broker) cfg(kv ...any) map[string]any {
	m := map[string]any{"url": "tcp://" + b.addr, "topics": []any{b.topic + "/#"}, "client_id": b.client}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

func (b *broker) publish(t *testing.T, payloads ...string) {
	t.Helper()
	for _, p := range payloads {
		tok := b.pub.Publish(b.topic+"/a", 1, false, p)
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish: %v", tok.Error())
		}
	}
}

func open(t *testing.T, env connector.Env, config map[string]any) connector.Reader {
	t.Helper()
	rd, err := mqtt.New().Open(context.Background(), env, config, connector.ReadRequest{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rd.Close() })
	return rd
}

// readRows reads from rd until n rows and rejects arrived.
func readRows(t *testing.T, rd connector.Reader, n int) ([]map[string]any, []record.Reject) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var rows []map[string]any
	var rejects []record.Reject
	for len(rows)+len(rejects) < n {
		b, err := rd.Next(ctx)
		if err != nil {
			t.Fatalf("after %d rows and %d rejects of %d: %v", len(rows), len(rejects), n, err)
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
	return rows, rejects
}

// quiet reads what arrives until nothing has for the wait, and returns the number of rows.
func quiet(t *testing.T, rd connector.Reader, wait time.Duration) int {
	t.Helper()
	n := 0
	for {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		b, err := rd.Next(ctx)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			return n
		}
		if err != nil {
			t.Fatal(err)
		}
		n += len(b.Rows) + len(b.Rejects)
	}
}

func ack(t *testing.T, rd connector.Reader) {
	t.Helper()
	st, err := rd.State()
	if err != nil {
		t.Fatal(err)
	}
	if err := rd.(connector.Acker).Ack(context.Background(), st); err != nil {
		t.Fatal(err)
	}
}

func ints(rows []map[string]any, f string) []int64 {
	var out []int64
	for _, r := range rows {
		out = append(out, r[f].(int64))
	}
	return out
}

func TestSourcePayloadFormats(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		config   []any
		payloads []string
		want     []map[string]any
		rejects  []string
	}{
		{name: "json with fields", config: []any{"fields", []any{map[string]any{"name": "id", "type": "int"}, map[string]any{"name": "name"}}},
			payloads: []string{`{"id": 1, "name": "a", "extra": true}`, `{"id": "x"}`, `not json`, `{"id": 2}`},
			want:     []map[string]any{{"id": int64(1), "name": "a"}, {"id": int64(2), "name": nil}},
			rejects:  []string{`invalid integer "x"`, "payload is not a JSON object"}},
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
			b := setup(t)
			rd := open(t, connector.Env{}, b.cfg(append([]any{"metadata", false}, tc.config...)...))
			b.publish(t, tc.payloads...)
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
			}
		})
	}
}

// TestUnackedAreRedeliveredAndPoisonIsAcked: messages returned but never acknowledged (a crash
// before the checkpoint) come again to the next reader of the persistent session; a payload that
// does not parse is a reject naming its topic and message id, and once acknowledged with the rest
// nothing comes back.
func TestUnackedAreRedeliveredAndPoisonIsAcked(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.cfg("fields", []any{map[string]any{"name": "n", "type": "int"}})
	rd1 := open(t, connector.Env{}, c)
	b.publish(t, `{"n":1}`, `{"n":2}`, `{oops`, `{"n":4}`)
	rows, rejects := readRows(t, rd1, 4)
	if got := ints(rows, "n"); !cmp.Equal(got, []int64{1, 2, 4}) || len(rejects) != 1 {
		t.Fatalf("first read %v, %d rejects; want 1, 2, 4 and one reject", got, len(rejects))
	}
	rj := rejects[0]
	if !strings.HasPrefix(rj.Source, b.topic+"/a (message id ") || rj.Raw != "{oops" || rj.Pos == 0 {
		t.Errorf("reject %+v: want the topic, the message id and the payload", rj)
	}
	rd1.Close() // a crash: nothing acknowledged

	rd2 := open(t, connector.Env{}, c)
	rows, rejects = readRows(t, rd2, 4)
	if got := ints(rows, "n"); !cmp.Equal(got, []int64{1, 2, 4}) || len(rejects) != 1 {
		t.Fatalf("after the crash: %v, %d rejects; want 1, 2, 4 again and the reject", got, len(rejects))
	}
	if rows[0][mqtt.FieldDuplicate] != true || rows[0][mqtt.FieldTopic] != b.topic+"/a" {
		t.Errorf("metadata of a redelivered message: %v", rows[0])
	}
	// a checkpoint of the first reader's session acknowledges nothing on this one
	if err := rd2.(connector.Acker).Ack(context.Background(), json.RawMessage(`{"session":"old","seq":4}`)); err != nil {
		t.Fatal(err)
	}
	ack(t, rd2)
	b.publish(t, `{"n":5}`)
	rows, _ = readRows(t, rd2, 1)
	if got := ints(rows, "n"); !cmp.Equal(got, []int64{5}) {
		t.Fatalf("read %v, want 5", got)
	}
	rd2.Close() // 5 not acknowledged

	rd3 := open(t, connector.Env{}, c)
	rows, _ = readRows(t, rd3, 1)
	if got := ints(rows, "n"); !cmp.Equal(got, []int64{5}) {
		t.Fatalf("third reader got %v, want only 5 (1..4 were acknowledged)", got)
	}
	if n := quiet(t, rd3, 500*time.Millisecond); n != 0 {
		t.Errorf("%d more messages, want none", n)
	}
}

// TestFloodStaysBounded: with many messages waiting and none acknowledged, the reader holds no more
// than max_inflight of them; acknowledging lets the rest through, all of them, in order.
func TestFloodStaysBounded(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const flood, inflight = 500, 50
	rd := open(t, connector.Env{}, b.cfg("fields", []any{map[string]any{"name": "n", "type": "int"}}, "max_inflight", inflight, "metadata", false))
	for i := 1; i <= flood; i++ {
		b.publish(t, fmt.Sprintf(`{"n":%d}`, i))
	}
	got := quiet(t, rd, 500*time.Millisecond)
	t.Logf("%d messages out before an acknowledgement (the broker's in-flight window, at most max_inflight %d)", got, inflight)
	if got == 0 || got > inflight {
		t.Fatalf("%d messages out without an ack, want 1..%d", got, inflight)
	}
	total := got
	var last int64
	for total < flood {
		ack(t, rd)
		rows, _ := readRows(t, rd, 1)
		for _, n := range ints(rows, "n") {
			if n <= last {
				t.Fatalf("message %d after %d: out of order", n, last)
			}
			last = n
		}
		total += len(rows)
	}
	if last != flood {
		t.Errorf("last message %d, want %d", last, flood)
	}
}

// TestBrokerLossPausesAndResumes: the connection is cut; the reader says so once, reconnects when
// the broker is back, and the session resumes: the unacknowledged message and the one published
// meanwhile arrive.
func TestBrokerLossPausesAndResumes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	proxy := testutil.NewProxy(t, b.addr)
	var logs testutil.SyncBuffer
	env := connector.Env{Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	rd := open(t, env, b.cfg("fields", []any{map[string]any{"name": "n", "type": "int"}}, "url", "tcp://"+proxy.Addr, "keep_alive", 5))
	b.publish(t, `{"n":1}`)
	readRows(t, rd, 1)
	ack(t, rd)
	b.publish(t, `{"n":2}`)
	readRows(t, rd, 1) // 2 out, not acknowledged
	stale, _ := rd.State()

	proxy.Cut()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(logs.String(), "lost the broker; paused") {
		if time.Now().After(deadline) {
			t.Fatalf("no pause logged; logs:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.publish(t, `{"n":3}`) // queued in the session while the reader is away
	proxy.Restore()
	// 2 comes again (it was not acknowledged) and 3 arrives. 1 may come again too: its PUBACK was
	// sent before the cut, but MQTT 3.1.1 does not confirm a PUBACK, so the broker may not have had
	// it (at-least-once). Nothing else may come.
	var got []int64
	for seen := map[int64]bool{}; !seen[2] || !seen[3]; {
		if len(got) >= 4 {
			t.Fatalf("after the broker returned: %v, want 2 (again) and 3", got)
		}
		rows, _ := readRows(t, rd, 1)
		for _, n := range ints(rows, "n") {
			seen[n] = true
			got = append(got, n)
		}
	}
	for _, n := range got {
		if n < 1 || n > 3 {
			t.Fatalf("after the broker returned: %v: %d was never published", got, n)
		}
	}
	// paho calls the on-connect handler, which logs the resume, in a goroutine of its own: the
	// session's queued messages may arrive before it runs.
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(logs.String(), "broker reachable again; resuming"); {
		if time.Now().After(deadline) {
			t.Fatalf("no resume logged; logs:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := rd.(connector.Acker).Ack(context.Background(), stale); err != nil {
		t.Fatal(err)
	}
	ack(t, rd)
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  map[string]any
		want string
	}{
		{"no topics", map[string]any{"client_id": "a"}, "topics: give the topic filters"},
		{"no client id", map[string]any{"topics": []any{"a"}}, "client_id: required for a source"},
		{"bad filter", map[string]any{"client_id": "a", "topics": []any{"a/#/b"}}, `topics[0]: "a/#/b": # must be a whole level and the last one`},
		{"password in url", map[string]any{"client_id": "a", "topics": []any{"a"}, "url": "tcp://u:p@h:1883"}, "url: put the user name and password"},
		{"no port", map[string]any{"client_id": "a", "topics": []any{"a"}, "url": "tcp://h"}, "has no port"},
	} {
		_, err := mqtt.New().Open(context.Background(), connector.Env{}, tc.cfg, connector.ReadRequest{})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, connector.ErrConfig) {
			t.Errorf("%s: %v, want a config error with %q", tc.name, err, tc.want)
		}
	}
}

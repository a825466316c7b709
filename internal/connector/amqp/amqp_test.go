package amqp_test

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

	"github.com/google/go-cmp/cmp"
	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/amqp"
	"github.com/dataaggregator/aggregator/internal/record"
	"github.com/dataaggregator/aggregator/internal/testutil"
)

// brokerAddr is the RabbitMQ the tests use (AGG_TEST_AMQP_ADDR, default 127.0.0.1:5672, guest/guest).
func brokerAddr() string {
	if v := os.Getenv("AGG_TEST_AMQP_ADDR"); v != "" {
		return v
	}
	return "127.0.0.1:5672"
}

// broker is one test's view of the broker: an admin channel and a fresh durable queue, deleted when
// the test ends.
type broker struct {
	addr  string
	queue string
	ch    *amqp091.Channel
}

func setup(t *testing.T) *broker {
	t.Helper()
	conn, err := amqp091.Dial("amqp://guest:guest@" + brokerAddr() + "/")
	if err != nil {
		testutil.Unavailable(t, "RabbitMQ at "+brokerAddr(), err)
		return nil
	}
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	b := &broker{addr: brokerAddr(), queue: testutil.Name("q"), ch: ch}
	if _, err := ch.QueueDeclare(b.queue, true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := ch.QueueDelete(b.queue, false, false, false); err != nil {
			t.Logf("delete queue %s: %v", b.queue, err)
		}
		conn.Close()
	})
	return b
}

func (b *broker) cfg(kv ...any) map[string]any {
	m := map[string]any{"url": "amqp://" + b.addr + "/", "queue": b.queue}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

func (b *broker) publish(t *testing.T, bodies ...string) {
	t.Helper()
	for _, s := range bodies {
		if err := b.ch.PublishWithContext(context.Background(), "", b.queue, false, false, amqp091.Publishing{Body: []byte(s), DeliveryMode: amqp091.Persistent}); err != nil {
			t.Fatal(err)
		}
	}
}

// count is the number of messages ready in the queue.
func (b *broker) count(t *testing.T) int {
	t.Helper()
	q, err := b.ch.QueueDeclarePassive(b.queue, true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	return q.Messages
}

func open(t *testing.T, env connector.Env, config map[string]any) connector.Reader {
	t.Helper()
	rd, err := amqp.New().Open(context.Background(), env, config, connector.ReadRequest{})
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

// ack acknowledges rd's current state, as the engine does after a durable checkpoint.
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
			b := setup(t)
			b.publish(t, tc.payloads...)
			rd := open(t, connector.Env{}, b.cfg(append([]any{"metadata", false}, tc.config...)...))
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

// TestPoisonMessageIsRejectedWithItsTagAndAcked: a payload that does not parse is a reject naming
// the queue, the delivery tag and the message id; acknowledged with the checkpoint, it is gone and
// the messages behind it flow.
func TestPoisonMessageIsRejectedWithItsTagAndAcked(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if err := b.ch.PublishWithContext(context.Background(), "", b.queue, false, false, amqp091.Publishing{Body: []byte("{oops"), MessageId: "m-1"}); err != nil {
		t.Fatal(err)
	}
	b.publish(t, `{"n":2}`)
	c := b.cfg("fields", []any{map[string]any{"name": "n", "type": "int"}})
	rd := open(t, connector.Env{}, c)
	rows, rejects := readRows(t, rd, 2)
	if len(rejects) != 1 || len(rows) != 1 {
		t.Fatalf("rows %v rejects %+v, want one of each", rows, rejects)
	}
	rj := rejects[0]
	if rj.Pos != 1 || rj.Source != b.queue+"@1 (message-id m-1)" || rj.Raw != "{oops" {
		t.Errorf("reject %+v: want position 1, source %s@1 (message-id m-1), raw {oops", rj, b.queue)
	}
	if rows[0][amqp.FieldDeliveryTag] != int64(2) || rows[0][amqp.FieldRoutingKey] != b.queue || rows[0][amqp.FieldRedelivered] != false {
		t.Errorf("metadata of the good row: %v", rows[0])
	}
	ack(t, rd)
	rd.Close()
	if n := b.count(t); n != 0 {
		t.Errorf("%d messages left in the queue after the ack, want 0 (the poison message must not come back)", n)
	}
}

// TestUnackedAreRedelivered: what a reader returned but was never acknowledged (a crash before the
// checkpoint) comes again to the next reader; what was acknowledged does not.
func TestUnackedAreRedelivered(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for i := 1; i <= 10; i++ {
		b.publish(t, fmt.Sprintf(`{"n":%d}`, i))
	}
	c := b.cfg("fields", []any{map[string]any{"name": "n", "type": "int"}}, "prefetch", 4)
	rd1 := open(t, connector.Env{}, c)
	rows, _ := readRows(t, rd1, 4) // prefetch 4: exactly the first four are out
	if got := ints(rows, "n"); !cmp.Equal(got, []int64{1, 2, 3, 4}) {
		t.Fatalf("first read %v, want 1..4", got)
	}
	ack(t, rd1)
	rows, _ = readRows(t, rd1, 4)
	if got := ints(rows, "n"); !cmp.Equal(got, []int64{5, 6, 7, 8}) {
		t.Fatalf("second read %v, want 5..8", got)
	}
	rd1.Close() // a crash: 5..8 were out, never acknowledged

	rd2 := open(t, connector.Env{}, c)
	rows, _ = readRows(t, rd2, 4)
	ack(t, rd2)
	more, _ := readRows(t, rd2, 2)
	rows = append(rows, more...)
	if got := ints(rows, "n"); !cmp.Equal(got, []int64{5, 6, 7, 8, 9, 10}) {
		t.Fatalf("after the crash: %v, want 5..10 (5..8 redelivered)", got)
	}
	if rows[0][amqp.FieldRedelivered] != true || rows[5][amqp.FieldRedelivered] != false {
		t.Errorf("_redelivered: %v for 5, %v for 10, want true, false", rows[0][amqp.FieldRedelivered], rows[5][amqp.FieldRedelivered])
	}
	// a checkpoint of the first reader's session acknowledges nothing on this one
	if err := rd2.(connector.Acker).Ack(context.Background(), json.RawMessage(`{"session":"old","delivery_tag":6}`)); err != nil {
		t.Fatal(err)
	}
	ack(t, rd2)
	rd2.Close()
	if n := b.count(t); n != 0 {
		t.Errorf("%d messages left, want 0", n)
	}
}

// TestPrefetchBoundsWhatIsOut: with a flood in the queue, the reader never holds more than prefetch
// unacknowledged deliveries; acking lets the next ones come.
func TestPrefetchBoundsWhatIsOut(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const flood, prefetch = 20_000, 100
	body := []byte(`{"n":1,"pad":"` + strings.Repeat("x", 200) + `"}`)
	for range flood {
		if err := b.ch.PublishWithContext(context.Background(), "", b.queue, false, false, amqp091.Publishing{Body: body}); err != nil {
			t.Fatal(err)
		}
	}
	rd := open(t, connector.Env{}, b.cfg("prefetch", prefetch, "metadata", false))
	total := 0
	for round := range 3 {
		got := 0
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			bt, err := rd.Next(ctx)
			cancel()
			if err != nil {
				break
			}
			got += len(bt.Rows)
		}
		if got != prefetch {
			t.Fatalf("round %d: %d rows out before an ack, want exactly prefetch %d", round, got, prefetch)
		}
		total += got
		ack(t, rd)
	}
	if total != 3*prefetch {
		t.Errorf("read %d", total)
	}
}

// TestBrokerLossPausesAndResumes: the connection to the broker is cut; the reader says so once,
// waits, reconnects when the broker is back and goes on, with the unacknowledged deliveries again.
func TestBrokerLossPausesAndResumes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	proxy := testutil.NewProxy(t, b.addr)
	var logs testutil.SyncBuffer
	env := connector.Env{Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	c := b.cfg("fields", []any{map[string]any{"name": "n", "type": "int"}}, "url", "amqp://"+proxy.Addr+"/")
	b.publish(t, `{"n":1}`, `{"n":2}`)
	rd := open(t, env, c)
	readRows(t, rd, 2)
	ack(t, rd)
	b.publish(t, `{"n":3}`)
	rows, _ := readRows(t, rd, 1) // 3 out, not acknowledged
	if got := ints(rows, "n"); !cmp.Equal(got, []int64{3}) {
		t.Fatalf("read %v, want 3", got)
	}
	stale, _ := rd.State()

	proxy.Cut()
	b.publish(t, `{"n":4}`)
	done := make(chan struct{})
	var after []map[string]any
	go func() {
		defer close(done)
		after, _ = readRows(t, rd, 2)
	}()
	// the reader notices the loss and says so before the broker is back
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(logs.String(), "lost the broker; paused") {
		if time.Now().After(deadline) {
			t.Fatalf("no pause logged; logs:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	proxy.Restore()
	<-done
	if got := ints(after, "n"); !cmp.Equal(got, []int64{3, 4}) {
		t.Fatalf("after the broker returned: %v, want 3 (redelivered) and 4", got)
	}
	if !strings.Contains(logs.String(), "broker reachable again; resuming") {
		t.Errorf("no resume logged; logs:\n%s", logs.String())
	}
	if strings.Count(logs.String(), "lost the broker") != 1 {
		t.Errorf("the loss logged more than once:\n%s", logs.String())
	}
	// the checkpoint of the lost session acknowledges nothing; the new one does
	if err := rd.(connector.Acker).Ack(context.Background(), stale); err != nil {
		t.Fatal(err)
	}
	ack(t, rd)
	rd.Close()
	if n := b.count(t); n != 0 {
		t.Errorf("%d messages left, want 0", n)
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  map[string]any
		want string
	}{
		{"no queue", map[string]any{}, "queue: required for a source"},
		{"password in url", map[string]any{"queue": "q", "url": "amqp://u:p@h:5672/"}, "url: put the user name and password in username and password"},
		{"scheme", map[string]any{"queue": "q", "url": "http://h/"}, "url: scheme must be amqp or amqps"},
		{"bindings without exchange", map[string]any{"queue": "q", "binding_keys": []any{"a"}}, "binding_keys: used only with declare: true and an exchange"},
		{"csv without fields", map[string]any{"queue": "q", "format": "csv"}, "fields: required with format csv"},
	} {
		_, err := amqp.New().Open(context.Background(), connector.Env{}, tc.cfg, connector.ReadRequest{})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, connector.ErrConfig) {
			t.Errorf("%s: %v, want a config error with %q", tc.name, err, tc.want)
		}
	}
}

// TestMissingQueueAndBadPassword: Check and Open say what is wrong.
func TestMissingQueueAndBadPassword(t *testing.T) {
	t.Parallel()
	b := setup(t)
	err := amqp.New().Check(context.Background(), connector.Env{}, b.cfg("queue", "no-such-queue-"+b.queue))
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing queue: %v", err)
	}
	err = amqp.New().Check(context.Background(), connector.Env{}, b.cfg("username", "guest", "password", "wrong-secret"))
	if err == nil || !strings.Contains(err.Error(), "refused user") || strings.Contains(err.Error(), "wrong-secret") {
		t.Errorf("bad password: %v", err)
	}
	if err := amqp.New().Check(context.Background(), connector.Env{}, b.cfg()); err != nil {
		t.Errorf("good config: %v", err)
	}
}

// TestDeletedQueueStopsTheReader: a queue deleted under a running reader ends it with an error that
// says the queue does not exist, instead of waiting for it forever.
func TestDeletedQueueStopsTheReader(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.publish(t, `{"n":1}`)
	rd := open(t, connector.Env{}, b.cfg("fields", []any{map[string]any{"name": "n", "type": "int"}}))
	readRows(t, rd, 1)
	if _, err := b.ch.QueueDelete(b.queue, false, false, false); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := rd.Next(ctx)
	if !errors.Is(err, connector.ErrNotFound) || !strings.Contains(err.Error(), b.queue) {
		t.Errorf("Next after the queue was deleted: %v, want not found naming %s", err, b.queue)
	}
}

// TestPositions: the lag is what waits in the queue plus what was delivered and not acknowledged;
// the committed count grows with each acknowledgement.
func TestPositions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for i := 1; i <= 10; i++ {
		b.publish(t, fmt.Sprintf(`{"n":%d}`, i))
	}
	c := b.cfg("fields", []any{map[string]any{"name": "n", "type": "int"}}, "prefetch", 4)
	rd := open(t, connector.Env{}, c)
	pr := rd.(connector.PositionReporter)
	readRows(t, rd, 4)
	ps, err := pr.Positions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 || ps[0].Offset != 0 || ps[0].Lag != 10 || ps[0].LagUnit != connector.LagRecords {
		t.Fatalf("4 delivered, none acknowledged: %+v; want offset 0, lag 10", ps)
	}
	ack(t, rd)
	readRows(t, rd, 4) // the next four (prefetch): delivered, not acknowledged
	ps, err = pr.Positions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 || ps[0].Offset != 4 || ps[0].Lag != 6 || ps[0].Committed != "4 acknowledged" {
		t.Fatalf("4 acknowledged: %+v; want offset 4, lag 6", ps)
	}
}

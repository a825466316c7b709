package postgrescdc_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/postgrescdc"
	"github.com/dataaggregator/aggregator/internal/record"
	"github.com/dataaggregator/aggregator/internal/testutil"
)

// fixture is a schema with a table, a slot name and a publication name, all removed at the end
// (a slot left behind keeps WAL on the shared server).
type fixture struct {
	pg     testutil.PG
	conn   *pgx.Conn
	slot   string
	config map[string]any
}

func setup(t *testing.T) *fixture {
	t.Helper()
	pg := testutil.Postgres(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	var level string
	if err := conn.QueryRow(ctx, "SHOW wal_level").Scan(&level); err != nil || level != "logical" {
		conn.Close(ctx)
		testutil.Unavailable(t, "PostgreSQL with wal_level = logical", fmt.Errorf("wal_level is %q (%v)", level, err))
		return nil
	}
	slot := testutil.Name("cdc")
	f := &fixture{pg: pg, conn: conn, slot: slot}
	t.Cleanup(func() { f.cleanup(t) })
	f.exec(t, "CREATE TABLE items (id bigint PRIMARY KEY, name text, qty int, price numeric(10,2), at timestamptz)")
	u, _ := url.Parse(pg.BaseURL)
	f.config = map[string]any{"url": u.String(), "slot": slot, "tables": []any{pg.Schema + ".items"}, "max_wait_ms": 20, "status_interval": 1}
	return f
}

func (f *fixture) cleanup(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for { // the walsender of a closed reader may still hold the slot for a moment
		_, err := f.conn.Exec(ctx, "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1", f.slot)
		if err == nil || ctx.Err() != nil {
			if err != nil {
				t.Logf("drop slot %s: %v", f.slot, err)
			}
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
	if _, err := f.conn.Exec(ctx, "DROP PUBLICATION IF EXISTS "+f.slot); err != nil {
		t.Logf("drop publication: %v", err)
	}
	f.conn.Close(ctx)
}

func (f *fixture) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := f.conn.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func (f *fixture) open(t *testing.T, state json.RawMessage) connector.Reader {
	t.Helper()
	r, err := postgrescdc.New().Open(context.Background(), connector.Env{}, f.config, connector.ReadRequest{State: state, BatchSize: 500})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return r
}

func (f *fixture) confirmed(t *testing.T) string {
	t.Helper()
	var lsn *string
	if err := f.conn.QueryRow(context.Background(), "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1", f.slot).Scan(&lsn); err != nil {
		t.Fatal(err)
	}
	if lsn == nil {
		return ""
	}
	return *lsn
}

type change struct {
	op   string
	id   int64
	name string
}

// read collects changes until pred holds (or fails after 30s).
func read(t *testing.T, r connector.Reader, into *[]change, pred func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for !pred() {
		b, err := r.Next(ctx)
		if err != nil {
			t.Fatalf("next after %d changes: %v", len(*into), err)
		}
		if b == nil {
			continue
		}
		for i := range b.Rows {
			*into = append(*into, change{op: b.Get(i, "_op").Str(), id: b.Get(i, "id").AsInt(), name: b.Get(i, "name").Str()})
		}
	}
}

func TestSnapshotThenStreamWithoutGapsOrDuplicates(t *testing.T) {
	f := setup(t)
	f.exec(t, "INSERT INTO items SELECT g, 'n'||g, g, g*1.5, '2024-01-02T03:04:05Z' FROM generate_series(1, 3000) g")
	r := f.open(t, nil)
	defer r.Close()
	// changes while the snapshot is read: they must arrive once, after it
	done := make(chan error, 1)
	go func() {
		ctx := context.Background()
		c, err := pgx.Connect(ctx, f.pg.URL)
		if err != nil {
			done <- err
			return
		}
		defer c.Close(ctx)
		for i := 3001; i <= 4000; i++ {
			if _, err := c.Exec(ctx, "INSERT INTO items VALUES ($1, $2, 1, 1, now())", i, fmt.Sprint("n", i)); err != nil {
				done <- err
				return
			}
		}
		_, err = c.Exec(ctx, "UPDATE items SET name = 'changed' WHERE id <= 10")
		if err == nil {
			_, err = c.Exec(ctx, "DELETE FROM items WHERE id > 3990")
		}
		done <- err
	}()
	var got []change
	read(t, r, &got, func() bool { return len(got) >= 4000 })
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	read(t, r, &got, func() bool { return len(got) >= 4000+10+10 })
	seen := map[int64]int{}
	for _, c := range got[:4000] {
		if c.op != postgrescdc.OpInsert {
			t.Fatalf("change %+v before every insert arrived", c)
		}
		seen[c.id]++
	}
	for id := int64(1); id <= 4000; id++ {
		if seen[id] != 1 {
			t.Fatalf("id %d arrived %d times (want once: no gap, no duplicate between snapshot and stream)", id, seen[id])
		}
	}
	for _, c := range got[4000:4010] {
		if c.op != postgrescdc.OpUpdate || c.name != "changed" || c.id > 10 {
			t.Fatalf("want the updates of ids 1..10, got %+v", c)
		}
	}
	for _, c := range got[4010:] {
		if c.op != postgrescdc.OpDelete || c.id <= 3990 {
			t.Fatalf("want the deletes of ids 3991..4000, got %+v", c)
		}
	}
}

func TestFieldsOfAChange(t *testing.T) {
	f := setup(t)
	f.config["snapshot"] = "never"
	r := f.open(t, nil)
	defer r.Close()
	f.exec(t, "INSERT INTO items VALUES (1, 'a', 2, 3.25, '2024-01-02T03:04:05.123456Z')")
	f.exec(t, "UPDATE items SET qty = 5 WHERE id = 1")
	f.exec(t, "UPDATE items SET id = 2 WHERE id = 1")
	f.exec(t, "DELETE FROM items WHERE id = 2")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var rows []map[string]string
	for len(rows) < 5 {
		b, err := r.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for i := range b.Rows {
			rows = append(rows, b.TextValues(i))
		}
	}
	want := []struct{ op, id, qty, before string }{
		{"insert", "1", "2", ""},
		{"update", "1", "5", ""},
		{"delete", "1", "", `{"id":1}`}, // the key moved: a delete of the old key, then the update
		{"update", "2", "5", `{"id":1}`},
		{"delete", "2", "", `{"id":2}`},
	}
	for i, w := range want {
		g := rows[i]
		if g["_op"] != w.op || g["id"] != w.id || g["qty"] != w.qty || g["_before"] != w.before || g["_table"] != f.pg.Schema+".items" || g["_lsn"] == "" {
			t.Errorf("change %d = %v, want %+v", i, g, w)
		}
	}
	if rows[0]["price"] != "3.25" || !strings.HasPrefix(rows[0]["at"], "2024-01-02T03:04:05.123456") || rows[0]["_commit_ts"] == "" {
		t.Errorf("values of the insert: %v", rows[0])
	}
	if k := r.Schema().Fields[r.Schema().Index("_commit_ts")].Kind; k != record.KindTimestamp {
		t.Errorf("_commit_ts kind %s", k)
	}
}

// The slot's confirmed position moves only on Ack; a reader opened at a checkpoint resumes after it
// (the changes returned before it are not returned again, even though the slot lags behind).
func TestSlotAdvancesOnlyOnAckAndResumes(t *testing.T) {
	f := setup(t)
	f.exec(t, "INSERT INTO items SELECT g, 'n' FROM generate_series(1, 10) g")
	r := f.open(t, nil)
	var got []change
	read(t, r, &got, func() bool { return len(got) >= 10 })
	snapState, err := r.State()
	if err != nil {
		t.Fatal(err)
	}
	start := f.confirmed(t)
	f.exec(t, "INSERT INTO items SELECT g, 'n' FROM generate_series(11, 20) g")
	f.exec(t, "INSERT INTO items SELECT g, 'n' FROM generate_series(21, 30) g")
	read(t, r, &got, func() bool { return len(got) >= 30 })
	st, err := r.State()
	if err != nil {
		t.Fatal(err)
	}
	// no ack yet: the slot stays at its consistent point however long we wait for status updates
	time.Sleep(1500 * time.Millisecond) // more than status_interval: an update was sent in between
	if c := f.confirmed(t); c != start {
		t.Fatalf("confirmed_flush_lsn moved from %s to %s without an ack", start, c)
	}
	if err := r.(connector.Acker).Ack(context.Background(), snapState); err != nil {
		t.Fatal(err)
	}
	r.Close() // Close confirms what was acknowledged
	if c := f.confirmed(t); c != start {
		t.Fatalf("acking the snapshot position moved the slot from %s to %s", start, c)
	}
	if !strings.Contains(string(st), `"streaming":true`) {
		t.Fatalf("state after the stream: %s", st)
	}
	r2 := f.open(t, snapState)
	var again []change
	read(t, r2, &again, func() bool { return len(again) >= 20 })
	if again[0].id != 11 || again[19].id != 30 {
		t.Fatalf("resumed at the snapshot state: got ids %d..%d, want 11..30", again[0].id, again[19].id)
	}
	st2, _ := r2.State()
	if err := r2.(connector.Acker).Ack(context.Background(), st2); err != nil {
		t.Fatal(err)
	}
	r2.Close()
	var s struct{ LSN string }
	_ = json.Unmarshal(st2, &s)
	// at least the acked position (further when the server reported WAL of other tables beyond it)
	if c := f.confirmed(t); lsn(t, c) < lsn(t, s.LSN) {
		t.Fatalf("after ack and close the slot confirmed %s, want at least %s (state %s)", c, s.LSN, st2)
	}
	f.exec(t, "INSERT INTO items VALUES (31, 'n')")
	r3 := f.open(t, st2)
	defer r3.Close()
	var last []change
	read(t, r3, &last, func() bool { return len(last) >= 1 })
	if last[0].id != 31 {
		t.Fatalf("after the acked checkpoint: got %+v, want id 31 only", last)
	}
}

func lsn(t *testing.T, s string) pglogrepl.LSN {
	t.Helper()
	l, err := pglogrepl.ParseLSN(s)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestDroppedSlotSaysReSnapshot(t *testing.T) {
	f := setup(t)
	r := f.open(t, nil)
	nctx, ncancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	b, err := r.Next(nctx) // an empty table: the snapshot ends, the stream waits
	ncancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("empty table: %v %v", b, err)
	}
	st, _ := r.State()
	r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		_, err := f.conn.Exec(ctx, "SELECT pg_drop_replication_slot($1)", f.slot)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	_, err = postgrescdc.New().Open(context.Background(), connector.Env{}, f.config, connector.ReadRequest{State: st})
	if err == nil || !strings.Contains(err.Error(), "re-snapshot") || !strings.Contains(err.Error(), f.slot) || errors.Is(err, connector.ErrTransient) {
		t.Fatalf("want a non-transient error naming the slot and saying re-snapshot, got %v", err)
	}
}

// TestPositions: the slot's confirmed LSN is the committed position, and the WAL written after it
// (in bytes) its lag, which grows with changes not yet acknowledged.
func TestPositions(t *testing.T) {
	f := setup(t)
	f.exec(t, "INSERT INTO items SELECT g, 'n' FROM generate_series(1, 10) g")
	r := f.open(t, nil)
	defer r.Close()
	var got []change
	read(t, r, &got, func() bool { return len(got) >= 10 })
	pr := r.(connector.PositionReporter)
	ps, err := pr.Positions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 || ps[0].Partition != f.slot || ps[0].Committed != "LSN "+f.confirmed(t) || ps[0].LagUnit != connector.LagBytes || ps[0].Lag < 0 {
		t.Fatalf("positions %+v: want slot %s at LSN %s with a lag in bytes", ps, f.slot, f.confirmed(t))
	}
	before := ps[0].Lag
	f.exec(t, "INSERT INTO items SELECT g, repeat('x', 200) FROM generate_series(11, 1000) g")
	ps, err = pr.Positions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if ps[0].Lag < before+990*200 {
		t.Fatalf("after 990 unacknowledged inserts of 200 bytes the lag is %d bytes (was %d)", ps[0].Lag, before)
	}
}

package mysql

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/sqlkit"
	"github.com/dataaggregator/aggregator/internal/record"
)

// The text the writer buffers gives back exactly the driver arguments Arg gives, so that rows
// LOAD DATA refuses are inserted with the same values.
func TestLoadTextGivesBackTheArguments(t *testing.T) {
	d := &Dialect{LoadData: true}
	ts := time.Date(2024, 2, 29, 23, 59, 58, 123456000, time.UTC)
	cols := []sqlkit.Col{{Name: "a", Kind: record.KindInt}, {Name: "b", Kind: record.KindString}, {Name: "c", Kind: record.KindFloat},
		{Name: "d", Kind: record.KindBool}, {Name: "e", Kind: record.KindDate}, {Name: "f", Kind: record.KindTimestamp}, {Name: "g", Kind: record.KindString}}
	rows := []record.Row{
		{record.Int(math.MinInt64), record.String("tab\there, line\nbreak, cr\rlf, nul\x00, back\\slash"), record.Float(0.1),
			record.Bool(true), record.Date(ts), record.Timestamp(ts), record.String(`\N`)},
		{record.Null, record.String(""), record.Float(-1e-300), record.Bool(false), record.Null, record.Null, record.String("Grüße 日本語 🎉\\")},
		{record.Int(42), record.Null, record.Float(5552541.819999999), record.Null, record.Date(ts), record.Timestamp(ts.Add(-time.Hour)), record.String("\\\\t")},
	}
	var text, tags []byte
	var want [][]any
	for _, r := range rows {
		var ok bool
		var err error
		text, tags, ok, _, err = d.AppendText(text, tags, r, cols)
		if !ok || err != nil {
			t.Fatalf("AppendText(%v) = %v, %v", r, ok, err)
		}
		args := make([]any, len(r))
		for j, v := range r {
			if args[j], err = d.Arg(v, cols[j]); err != nil {
				t.Fatal(err)
			}
		}
		want = append(want, args)
	}
	got, err := d.DecodeText(text, tags, len(cols))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DecodeText =\n%#v\nwant\n%#v", got, want)
	}
	// the text is what the argument encoder (used when Load retries with LOAD DATA) writes too
	var fromArgs []byte
	for _, r := range want {
		for j, a := range r {
			if j > 0 {
				fromArgs = append(fromArgs, '\t')
			}
			var ok bool
			if fromArgs, ok = appendArg(fromArgs, a); !ok {
				t.Fatalf("appendArg(%#v) refused", a)
			}
		}
		fromArgs = append(fromArgs, '\n')
	}
	if string(fromArgs) != string(text) {
		t.Errorf("AppendText and appendArg differ:\n%q\n%q", text, fromArgs)
	}

	// rows the text cannot carry leave it unchanged; a value MySQL cannot store names its column
	for _, tc := range []struct {
		name string
		row  record.Row
		ok   bool
		bad  int
	}{
		{"bytes", record.Row{record.Int(1), record.Bytes([]byte{1, 2})}, false, -1},
		{"invalid UTF-8", record.Row{record.Int(1), record.String("\xff\xfe")}, false, -1},
		{"invalid UTF-8 after an escape", record.Row{record.Int(1), record.String("a\tb\\c\xff")}, false, -1},
		{"NaN", record.Row{record.Int(1), record.String("x"), record.Float(math.NaN())}, false, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, outTags, ok, bad, err := d.AppendText(append([]byte(nil), text...), append([]byte(nil), tags...), tc.row, cols)
			if ok != tc.ok || bad != tc.bad || (tc.bad >= 0) != (err != nil) {
				t.Fatalf("AppendText = ok %v, field %d, err %v; want ok %v, field %d", ok, bad, err, tc.ok, tc.bad)
			}
			if string(out) != string(text) || string(outTags) != string(tags) {
				t.Error("the text or tags changed")
			}
			if err != nil && !strings.Contains(err.Error(), "cannot store NaN") {
				t.Errorf("err = %v", err)
			}
		})
	}
}

// Rows are loaded in the background while the next ones are encoded: several LOAD DATA statements,
// rows the server refuses in the first and the last of them isolated and reported by key, rows
// LOAD DATA cannot carry inserted, every other row written once.
func TestBackgroundLoadsReportRefusedRows(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.exec(t, "CREATE TABLE many (id BIGINT PRIMARY KEY, name VARCHAR(8), raw VARBINARY(4))")
	s := record.MustSchema(record.Field{Name: "id", Kind: record.KindInt}, record.Field{Name: "name", Kind: record.KindString, Nullable: true},
		record.Field{Name: "raw", Kind: record.KindBytes, Nullable: true})
	const n = 2*loadBufferRows + 5000
	ctx := context.Background()
	w, err := New().OpenWriter(ctx, connector.Env{}, e.with("table", "many"), connector.WriteRequest{Mode: connector.Append, Schema: s})
	if err != nil {
		t.Fatal(err)
	}
	tooLong := map[int64]bool{7: true, n - 3: true}
	var got []string
	collect := func(err error) {
		t.Helper()
		if err == nil {
			return
		}
		var re *connector.RowError
		if !errors.As(err, &re) {
			t.Fatalf("err = %v, want RowError", err)
		}
		for _, p := range re.Rows {
			_, key, _ := strings.Cut(p.Reason, "key id=")
			key, _, _ = strings.Cut(key, ",")
			got = append(got, fmt.Sprintf("%d:%s:%s", p.Index, key, p.Field))
		}
	}
	for start := int64(1); start <= n; start += 1024 {
		var rows []record.Row
		for i := start; i < start+1024 && i <= n; i++ {
			name, raw := record.String(fmt.Sprintf("n%d", i%1000)), record.Null
			if tooLong[i] {
				name = record.String("far too long")
			}
			if i%50000 == 0 {
				raw = record.Bytes([]byte{0, 1, 2})
			}
			rows = append(rows, record.Row{record.Int(i), name, raw})
		}
		collect(w.Write(ctx, batchOf(s, rows...)))
	}
	collect(w.Close(ctx))
	if strings.Join(got, ",") != fmt.Sprintf("-1:7:name,-1:%d:name", n-3) {
		t.Errorf("problems (index:key:field) = %v", got)
	}
	c := e.strings(t, "SELECT CONCAT(COUNT(*), '|', COUNT(DISTINCT id), '|', SUM(raw IS NOT NULL), '|', SUM(name = CONCAT('n', id % 1000))) FROM many")
	want := fmt.Sprintf("%d|%d|%d|%d", n-2, n-2, n/50000, n-2)
	if c[0] != want {
		t.Errorf("rows, distinct ids, bytes values, right names = %s, want %s", c[0], want)
	}
}

// A load streams: it starts as soon as rows are written, long before the writer's buffer is full
// and before any Commit (the server's process list shows the LOAD DATA reading from the network);
// every row written, before and after it started, arrives once.
func TestLoadStreamsRowsBeforeTheBufferFills(t *testing.T) {
	t.Parallel()
	e := setup(t)
	s := record.MustSchema(record.Field{Name: "id", Kind: record.KindInt}, record.Field{Name: "name", Kind: record.KindString})
	ctx := context.Background()
	w, err := New().OpenWriter(ctx, connector.Env{}, e.with("table", "streamed"), connector.WriteRequest{Mode: connector.Append, Schema: s})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort(ctx)
	batch := func(from, to int64) *record.Batch {
		var rows []record.Row
		for i := from; i <= to; i++ {
			rows = append(rows, record.Row{record.Int(i), record.String(fmt.Sprintf("row %d", i))})
		}
		return batchOf(s, rows...)
	}
	const n = 300 // of loadBufferRows per buffer
	if err := w.Write(ctx, batch(1, n)); err != nil {
		t.Fatal(err)
	}
	loading := func() bool {
		var c int
		q := "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = ? AND INFO LIKE 'LOAD DATA LOCAL INFILE%streamed%'"
		if err := e.db.QueryRow(q, e.my.Database).Scan(&c); err != nil {
			t.Fatal(err)
		}
		return c == 1
	}
	deadline := time.Now().Add(20 * time.Second)
	for !loading() {
		if time.Now().After(deadline) {
			t.Fatalf("no LOAD DATA runs 20 s after a Write of %d rows: the load waits for a full buffer", n)
		}
		time.Sleep(10 * time.Millisecond) // polling the server's view: there is no event to await
	}
	if err := w.Write(ctx, batch(n+1, 2*n)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.strings(t, "SELECT CONCAT(COUNT(*), '|', COUNT(DISTINCT id), '|', MAX(id)) FROM streamed"); got[0] != fmt.Sprintf("%d|%d|%d", 2*n, 2*n, 2*n) {
		t.Errorf("rows, distinct ids, largest id = %s, want %d of each", got[0], 2*n)
	}
}

// Abort ends a load that is streaming (its reader waits for rows that will not come): it returns,
// and nothing of the transaction stays.
func TestAbortEndsAStreamingLoad(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.exec(t, "CREATE TABLE aborted (id BIGINT PRIMARY KEY)")
	s := record.MustSchema(record.Field{Name: "id", Kind: record.KindInt})
	ctx := context.Background()
	w, err := New().OpenWriter(ctx, connector.Env{}, e.with("table", "aborted"), connector.WriteRequest{Mode: connector.Append, Schema: s})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, batchOf(s, record.Row{record.Int(1)}, record.Row{record.Int(2)})); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- w.Abort(ctx) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Abort = %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Abort did not return: the streaming load still waits for rows")
	}
	if got := e.strings(t, "SELECT COUNT(*) FROM aborted"); got[0] != "0" {
		t.Errorf("%s rows after Abort, want 0", got[0])
	}
}

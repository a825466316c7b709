package runs_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/mysql"
	"github.com/dataaggregator/aggregator/internal/connector/postgres"
	"github.com/dataaggregator/aggregator/internal/connector/postgrescdc"
	"github.com/dataaggregator/aggregator/internal/runs"
	"github.com/dataaggregator/aggregator/internal/schemachange"
	"github.com/dataaggregator/aggregator/internal/store"
	"github.com/dataaggregator/aggregator/internal/testutil"
)

// cdcFixture is a PostgreSQL table captured by a postgres_cdc source (a slot and a publication of
// its own, dropped at the end) and a run service whose pipeline streams it into a PostgreSQL table.
type cdcFixture struct {
	t      *testing.T
	conn   *pgx.Conn
	e      *env
	p      store.Pipeline
	events <-chan runs.Event
}

func cdcSetup(t *testing.T, policy schemachange.Policy) *cdcFixture {
	t.Helper()
	return cdcSetupTo(t, policy, "postgres", nil)
}

// cdcSetupTo is cdcSetup with the destination of type dest and config cfg (nil: the PostgreSQL
// test schema's dst).
func cdcSetupTo(t *testing.T, policy schemachange.Policy, dest string, cfg map[string]any) *cdcFixture {
	t.Helper()
	pg := testutil.Postgres(t)
	bg := context.Background()
	conn, err := pgx.Connect(bg, pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	var level string
	if err := conn.QueryRow(bg, "SHOW wal_level").Scan(&level); err != nil || level != "logical" {
		conn.Close(bg)
		testutil.Unavailable(t, "PostgreSQL with wal_level = logical", fmt.Errorf("wal_level is %q (%v)", level, err))
		return nil
	}
	slot := testutil.Name("cdcsc")
	f := &cdcFixture{t: t, conn: conn}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for { // the walsender of a stopped run may hold the slot for a moment
			_, err := conn.Exec(ctx, "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1", slot)
			if err == nil || ctx.Err() != nil {
				break
			}
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
		_, _ = conn.Exec(ctx, "DROP PUBLICATION IF EXISTS "+slot)
		conn.Close(ctx)
	})
	f.exec("CREATE TABLE src (id bigint PRIMARY KEY, qty integer); INSERT INTO src VALUES (1, 10), (2, 20)")
	f.e = setup(t, backend{dialect: store.SQLite, dsn: filepath.Join(t.TempDir(), "aggregator.db")},
		// a stream commits what it wrote every commitInterval: the test waits for each commit
		setupOptions{conns: []connector.Connector{postgres.New(), postgrescdc.New(), mysql.New()}, commitInterval: 200 * time.Millisecond})
	if cfg == nil {
		cfg = map[string]any{"url": pg.URL}
	}
	cfg["table"] = "dst"
	rawCfg, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	spec := fmt.Sprintf(`{"version":1,"name":"cdc","sources":[{"id":"in","type":"postgres_cdc","config":{"url":%q,"slot":%q,"tables":[%q],"max_wait_ms":20,"status_interval":1}}],
"destinations":[{"id":"out","type":%q,"inputs":["in"],"config":%s,"write":{"mode":"append","schema_changes":%q}}]}`,
		pg.BaseURL, slot, pg.Schema+".src", dest, rawCfg, policy)
	f.p = f.e.createPipeline(testutil.Name("cdc"), spec)
	events, stop := f.e.svc.Broker().Subscribe(forPipeline(f.p.ID), 4096)
	t.Cleanup(stop)
	f.events = events
	return f
}

func (f *cdcFixture) exec(q string) {
	f.t.Helper()
	if _, err := f.conn.Exec(context.Background(), q); err != nil {
		f.t.Fatalf("%s: %v", q, err)
	}
}

func (f *cdcFixture) count(q string) int {
	f.t.Helper()
	var n int
	if err := f.conn.QueryRow(context.Background(), q).Scan(&n); err != nil {
		f.t.Fatalf("%s: %v", q, err)
	}
	return n
}

// rows is how many rows dst holds (0 while it does not exist).
func (f *cdcFixture) rows() int {
	f.t.Helper()
	if f.count("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'dst'") == 0 {
		return 0
	}
	return f.count("SELECT count(*) FROM dst")
}

// awaitRows waits until dst holds n committed rows, failing at once when the run ends first.
func (f *cdcFixture) awaitRows(runID string, n int) {
	f.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for f.rows() != n {
		select {
		case ev := <-f.events:
			if ev.RunID == runID && terminal(ev) {
				f.t.Fatalf("the run ended (%s: %s) while dst holds %d rows, want %d", ev.Status, ev.Error, f.rows(), n)
			}
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("dst holds %d rows after 60s, want %d", f.rows(), n)
		}
	}
}

func (f *cdcFixture) start() store.Run {
	f.t.Helper()
	run, err := f.e.svc.Start(context.Background(), f.p.ID, 0, "manual", runs.Actor{Name: "tester"})
	if err != nil {
		f.t.Fatal(err)
	}
	return run
}

func (f *cdcFixture) cancel(runID string) {
	f.t.Helper()
	if _, err := f.e.svc.Cancel(context.Background(), runID); err != nil {
		f.t.Fatal(err)
	}
	await(f.t, f.events, "cancelled run end", func(ev runs.Event) bool { return ev.RunID == runID && terminal(ev) })
}

// columnType is dst's column's type (format_type), "" when it has none.
func (f *cdcFixture) columnType(col string) string {
	f.t.Helper()
	var typ string
	err := f.conn.QueryRow(context.Background(), `SELECT format_type(atttypid, atttypmod) FROM pg_attribute
		WHERE attrelid = 'dst'::regclass AND attname = $1 AND NOT attisdropped`, col).Scan(&typ)
	if err != nil && err != pgx.ErrNoRows {
		f.t.Fatal(err)
	}
	return typ
}

// alterSource adds a column and widens another on the captured table while the stream runs, and
// inserts rows that use both.
func (f *cdcFixture) alterSource() {
	f.exec("ALTER TABLE src ADD COLUMN note text, ALTER COLUMN qty TYPE numeric(12,2)")
	f.exec("INSERT INTO src VALUES (3, 30.5, 'new'), (4, 40, NULL)")
}

// TestCDCSchemaEvolve: under evolve, a column added and a column widened on the source while the
// stream runs are added and widened in the destination, and the stream goes on.
func TestCDCSchemaEvolve(t *testing.T) {
	f := cdcSetup(t, schemachange.Evolve)
	run := f.start()
	f.awaitRows(run.ID, 2)
	f.alterSource()
	f.awaitRows(run.ID, 4)
	if typ := f.columnType("note"); typ != "text" {
		t.Errorf("dst.note is %q, want text", typ)
	}
	if typ := f.columnType("qty"); !strings.HasPrefix(typ, "numeric") {
		t.Errorf("dst.qty is %q, want numeric", typ)
	}
	if n := f.count("SELECT count(*) FROM dst WHERE id = 3 AND qty = 30.5 AND note = 'new'"); n != 1 {
		t.Errorf("row 3 (30.5, 'new') is not in dst: %d", n)
	}
	f.exec("INSERT INTO src VALUES (5, 50.25, 'after')")
	f.awaitRows(run.ID, 5)
	if n := f.count("SELECT count(*) FROM dst WHERE id = 5 AND qty = 50.25"); n != 1 {
		t.Errorf("the stream did not go on after the change: %d", n)
	}
	f.cancel(run.ID)
}

// TestCDCSchemaFail: under fail, the change stops the run naming both changes, and nothing of the
// new schema reaches the destination.
func TestCDCSchemaFail(t *testing.T) {
	f := cdcSetup(t, schemachange.Fail)
	run := f.start()
	f.awaitRows(run.ID, 2)
	f.alterSource()
	ev := await(t, f.events, "failed run", func(ev runs.Event) bool { return ev.RunID == run.ID && terminal(ev) })
	if ev.Status != store.RunFailed || !strings.Contains(ev.Error, `column "note": column added`) || !strings.Contains(ev.Error, `column "qty": type widened`) {
		t.Fatalf("run: %s %q, want failed naming note added and qty widened", ev.Status, ev.Error)
	}
	if n := f.rows(); n != 2 {
		t.Errorf("dst holds %d rows, want the 2 from before the change", n)
	}
	if typ := f.columnType("note"); typ != "" {
		t.Errorf("dst has a note column (%s)", typ)
	}
	if typ := f.columnType("qty"); typ != "bigint" {
		t.Errorf("dst.qty is %q, want bigint still", typ)
	}
}

// TestCDCSchemaQuarantine: under quarantine, the rows that carry a value of the new column or a
// value the old column type cannot hold go to the dead letters naming the change; the others are
// written and the stream goes on.
func TestCDCSchemaQuarantine(t *testing.T) {
	f := cdcSetup(t, schemachange.Quarantine)
	run := f.start()
	f.awaitRows(run.ID, 2)
	f.alterSource() // 3 (30.5, 'new') does not fit; 4 (40, NULL) does
	f.exec("INSERT INTO src VALUES (5, 50.25, NULL), (6, 60, NULL)")
	f.awaitRows(run.ID, 4)
	if n := f.count("SELECT count(*) FROM dst WHERE id IN (1, 2, 4, 6)"); n != 4 {
		t.Errorf("dst holds %d of rows 1, 2, 4, 6", n)
	}
	if typ := f.columnType("note"); typ != "" {
		t.Errorf("quarantine added a note column (%s)", typ)
	}
	if typ := f.columnType("qty"); typ != "bigint" {
		t.Errorf("dst.qty is %q, want bigint still", typ)
	}
	f.cancel(run.ID)
	dls, err := f.e.st.ListDeadLetters(context.Background(), run.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(dls) != 2 {
		t.Fatalf("dead letters = %+v, want rows 3 and 5", dls)
	}
	for _, d := range dls {
		if !strings.HasPrefix(d.Reason, "schema change quarantined: column ") {
			t.Errorf("dead letter reason %q does not name the change", d.Reason)
		}
	}
	// row 3 carries a note; row 5's qty 50.25 does not fit the bigint column
	if r := dls[0].Reason + "\n" + dls[1].Reason; !strings.Contains(r, `column "note": column added`) ||
		!strings.Contains(r, `column "qty": type widened`) || !strings.Contains(r, "does not fit the destination column (bigint)") {
		t.Errorf("dead letter reasons:\n%s", r)
	}
}

// TestCDCSchemaReview: under review, the change pauses the run awaiting approval with both changes
// and nothing of the new schema written; after approval the run resumes from its last checkpoint
// and the destination holds every source row once.
func TestCDCSchemaReview(t *testing.T) {
	f := cdcSetup(t, schemachange.Review)
	run := f.start()
	f.awaitRows(run.ID, 2)
	f.alterSource()
	await(t, f.events, "awaiting approval", func(ev runs.Event) bool {
		return ev.RunID == run.ID && ev.Status == store.RunAwaitingApproval
	})
	paused, err := f.e.st.GetRun(context.Background(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	rv, err := runs.ReviewOf(paused)
	if err != nil || rv == nil {
		t.Fatalf("review: %v %v", rv, err)
	}
	kinds := map[string]schemachange.Kind{}
	for _, c := range rv.Changes {
		kinds[c.Column] = c.Kind
	}
	if len(rv.Changes) != 2 || kinds["note"] != schemachange.Added || kinds["qty"] != schemachange.Widened {
		t.Fatalf("review changes = %+v, want note added and qty widened", rv.Changes)
	}
	if n := f.rows(); n != 2 || f.columnType("note") != "" {
		t.Errorf("while awaiting approval dst holds %d rows (want 2) and note %q (want none)", n, f.columnType("note"))
	}
	f.exec("INSERT INTO src VALUES (5, 50.25, 'while paused')")
	if _, err := f.e.svc.Approve(context.Background(), run.ID, "designer1", "ok"); err != nil {
		t.Fatal(err)
	}
	f.awaitRows(run.ID, 5)
	f.exec("INSERT INTO src VALUES (6, 60, 'after')")
	f.awaitRows(run.ID, 6)
	f.cancel(run.ID)
	if n, d := f.count("SELECT count(*) FROM dst"), f.count("SELECT count(DISTINCT id) FROM dst"); n != d || n != f.count("SELECT count(*) FROM src") {
		t.Errorf("dst holds %d rows of %d ids; src holds %d", n, d, f.count("SELECT count(*) FROM src"))
	}
	if n := f.count("SELECT count(*) FROM dst d JOIN src s USING (id) WHERE d.qty = s.qty AND d.note IS NOT DISTINCT FROM s.note"); n != 6 {
		t.Errorf("%d of 6 rows of dst equal the source's", n)
	}
	if typ := f.columnType("qty"); !strings.HasPrefix(typ, "numeric") {
		t.Errorf("dst.qty is %q after approval, want numeric", typ)
	}
}

// TestCDCSchemaEvolveMariaDB: under evolve, a type change during the stream into a MariaDB
// destination (whose DDL would commit the open transaction) stops the run naming the column, with
// nothing of the new schema written; the next run changes the column before it writes and delivers
// the new rows (a new run of the pipeline takes the initial snapshot again: append mode holds rows
// 1 and 2 twice, so the test counts distinct ids).
func TestCDCSchemaEvolveMariaDB(t *testing.T) {
	my := testutil.MySQL(t)
	h, p, _ := net.SplitHostPort(my.Config.Addr)
	port, _ := strconv.Atoi(p)
	db, err := sql.Open("mysql", my.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	f := cdcSetupTo(t, schemachange.Evolve, "mysql", map[string]any{"host": h, "port": port, "user": my.Config.User,
		"password": my.Config.Passwd, "database": my.Database})
	rows := func() int {
		var n int
		if err := db.QueryRow("SELECT count(DISTINCT id) FROM dst").Scan(&n); err != nil {
			return 0 // not created yet
		}
		return n
	}
	await := func(runID string, n int) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for rows() != n {
			select {
			case ev := <-f.events:
				if ev.RunID == runID && terminal(ev) {
					t.Fatalf("the run ended (%s: %s) while dst holds %d rows, want %d", ev.Status, ev.Error, rows(), n)
				}
			case <-tick.C:
			}
			if time.Now().After(deadline) {
				t.Fatalf("dst holds %d rows after 60s, want %d", rows(), n)
			}
		}
	}
	run := f.start()
	await(run.ID, 2)
	f.alterSource()
	ev := awaitEnd(t, f.events, run.ID)
	if ev.Status != store.RunFailed || !strings.Contains(ev.Error, "column type must change") {
		t.Fatalf("run: %s %q, want failed: a column type must change", ev.Status, ev.Error)
	}
	if n := rows(); n != 2 {
		t.Errorf("dst holds %d ids after the stop, want 2", n)
	}
	var cols int
	if err := db.QueryRow("SELECT count(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'dst' AND column_name = 'note'").Scan(&cols); err != nil || cols != 0 {
		t.Errorf("dst has a note column after the stop (%d, %v)", cols, err)
	}
	run2 := f.start()
	await(run2.ID, 4)
	var typ string
	if err := db.QueryRow("SELECT data_type FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'dst' AND column_name = 'qty'").Scan(&typ); err != nil || typ != "decimal" {
		t.Errorf("dst.qty is %q after the next run (%v), want decimal", typ, err)
	}
	var n int
	if err := db.QueryRow("SELECT count(*) FROM dst WHERE id = 3 AND qty = 30.5 AND note = 'new'").Scan(&n); err != nil || n != 1 {
		t.Errorf("row 3 is not in dst after the next run: %d %v", n, err)
	}
	f.cancel(run2.ID)
}

func awaitEnd(t *testing.T, ch <-chan runs.Event, runID string) runs.Event {
	t.Helper()
	return await(t, ch, "run end", func(ev runs.Event) bool { return ev.RunID == runID && terminal(ev) })
}

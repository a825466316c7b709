package queries_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dataaggregator/aggregator/internal/connections"
	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/postgres"
	"github.com/dataaggregator/aggregator/internal/queries"
	"github.com/dataaggregator/aggregator/internal/record"
	"github.com/dataaggregator/aggregator/internal/secrets"
	"github.com/dataaggregator/aggregator/internal/store"
	"github.com/dataaggregator/aggregator/internal/store/storetest"
	"github.com/dataaggregator/aggregator/internal/testutil"
)

type env struct {
	svc  *queries.Service
	conn string // the saved connector's id
}

// setup: a SQLite metadata store, a saved postgres connector on the test's own schema with a
// table of 25 rows, and the service.
func setup(t *testing.T, lim queries.Limits) env {
	t.Helper()
	ctx := context.Background()
	st := storetest.Open(t, store.Options{Dialect: store.SQLite, DSN: filepath.Join(t.TempDir(), "meta.db")})
	keys, err := secrets.NewKeyring("0123456789abcdef0123456789abcdef-queries")
	if err != nil {
		t.Fatal(err)
	}
	reg, err := connector.NewRegistry(postgres.New())
	if err != nil {
		t.Fatal(err)
	}
	cs, err := connections.New(connections.Options{Store: st, Connectors: reg, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	pg := testutil.Postgres(t)
	db, err := pgx.Connect(ctx, pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	if _, err := db.Exec(ctx, `CREATE TABLE orders AS SELECT g AS id, 'r' || (g % 3) AS region, g * 1.5 AS amount FROM generate_series(1, 25) g`); err != nil {
		t.Fatal(err)
	}
	c, err := cs.Create(ctx, connections.Input{Name: "warehouse", Type: "postgres", Config: map[string]any{"url": pg.URL}}, "ann")
	if err != nil {
		t.Fatal(err)
	}
	return env{svc: queries.New(st, cs, lim), conn: c.ID}
}

func TestRunCapsRows(t *testing.T) {
	t.Parallel()
	e := setup(t, queries.Limits{})
	ctx := context.Background()
	cases := []struct {
		max       int
		rows      int
		truncated bool
	}{{10, 10, true}, {25, 25, false}, {24, 24, true}, {100, 25, false}, {1, 1, true}}
	for _, c := range cases {
		res, err := e.svc.Run(ctx, queries.RunInput{ConnectorID: e.conn, SQL: "SELECT id, region, amount FROM orders ORDER BY id", MaxRows: c.max})
		if err != nil {
			t.Fatalf("max %d: %v", c.max, err)
		}
		if len(res.Rows) != c.rows || res.Truncated != c.truncated {
			t.Errorf("max %d: %d rows, truncated %v; want %d, %v", c.max, len(res.Rows), res.Truncated, c.rows, c.truncated)
		}
		if res.Rows[0][0].AsInt() != 1 || res.Rows[len(res.Rows)-1][0].AsInt() != int64(c.rows) {
			t.Errorf("max %d: rows are not the first ones in order", c.max)
		}
	}
	res, err := e.svc.Run(ctx, queries.RunInput{ConnectorID: e.conn, SQL: "SELECT id FROM orders"})
	if err != nil {
		t.Fatal(err)
	}
	if res.MaxRows != 1000 || res.Timeout != 30*time.Second || len(res.Columns) != 1 || res.Columns[0].Kind != record.KindInt {
		t.Errorf("defaults: %+v", res)
	}
}

func TestRunRefusesBadInput(t *testing.T) {
	t.Parallel()
	e := setup(t, queries.Limits{})
	_, err := e.svc.Run(context.Background(), queries.RunInput{SQL: " ", MaxRows: 10001, Timeout: time.Hour})
	var ie *queries.InvalidError
	if !errors.As(err, &ie) {
		t.Fatalf("err = %v", err)
	}
	for _, path := range []string{"connector_id", "sql", "max_rows", "timeout_seconds"} {
		if !strings.Contains(ie.Error(), path+": ") {
			t.Errorf("%q does not name %s", ie.Error(), path)
		}
	}
	_, err = e.svc.Run(context.Background(), queries.RunInput{ConnectorID: "nope", SQL: "SELECT 1"})
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), `connector_id: no saved connector with id "nope"`) {
		t.Errorf("unknown connector: %v", err)
	}
}

func TestRunTimeoutAndRefusedWrite(t *testing.T) {
	t.Parallel()
	e := setup(t, queries.Limits{})
	ctx := context.Background()
	_, err := e.svc.Run(ctx, queries.RunInput{ConnectorID: e.conn, SQL: "SELECT pg_sleep(20)", Timeout: time.Second})
	if !errors.Is(err, connector.ErrQueryTimeout) || !strings.Contains(err.Error(), "statement timeout of 1s") {
		t.Errorf("timeout: %v", err)
	}
	_, err = e.svc.Run(ctx, queries.RunInput{ConnectorID: e.conn, SQL: "DELETE FROM orders"})
	var qe *connector.QueryError
	if !errors.As(err, &qe) || !strings.Contains(qe.Message, "cannot execute DELETE in a read-only transaction") {
		t.Errorf("delete: %v", err)
	}
	res, err := e.svc.Run(ctx, queries.RunInput{ConnectorID: e.conn, SQL: "SELECT count(*) AS n FROM orders"})
	if err != nil || res.Rows[0][0].AsInt() != 25 {
		t.Errorf("after the refused delete: %v %v", res.Rows, err)
	}
}

func TestOpenExportCap(t *testing.T) {
	t.Parallel()
	e := setup(t, queries.Limits{ExportRows: 20})
	ctx := context.Background()
	for _, c := range []struct {
		sql       string
		rows      int64
		truncated bool
	}{{"SELECT * FROM orders", 20, true}, {"SELECT * FROM orders WHERE id <= 20", 20, false}, {"SELECT * FROM orders WHERE id <= 7", 7, false}} {
		cur, err := e.svc.Open(ctx, queries.RunInput{ConnectorID: e.conn, SQL: c.sql})
		if err != nil {
			t.Fatal(err)
		}
		var got int64
		for {
			b, err := cur.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			got += int64(b.Len())
		}
		_ = cur.Close()
		if got != c.rows || cur.Rows() != c.rows || cur.Truncated() != c.truncated || strings.Join(cur.Schema().Names(), ",") != "id,region,amount" {
			t.Errorf("%s: %d rows (%d), truncated %v; want %d, %v", c.sql, got, cur.Rows(), cur.Truncated(), c.rows, c.truncated)
		}
	}
	if _, err := e.svc.Open(ctx, queries.RunInput{ConnectorID: e.conn, SQL: "DROP TABLE orders"}); !strings.Contains(fmt.Sprint(err), "cannot execute DROP TABLE in a read-only transaction") {
		t.Errorf("a refused statement fails at Open: %v", err)
	}
}

func TestSavedQueries(t *testing.T) {
	t.Parallel()
	e := setup(t, queries.Limits{})
	ctx := context.Background()
	in := queries.SavedInput{Name: "Orders by region", ConnectorID: e.conn, SQL: "SELECT region, sum(amount) AS total FROM orders GROUP BY region ORDER BY region",
		Chart: queries.Chart{Type: "bar", X: "region", Y: []string{"total"}}}
	q, err := e.svc.Create(ctx, in, "ann")
	if err != nil {
		t.Fatal(err)
	}
	if q.Chart.Type != "bar" || q.Chart.X != "region" || q.CreatedBy != "ann" {
		t.Errorf("created = %+v", q)
	}
	_, res, err := e.svc.RunSaved(ctx, q.ID, 0, 0)
	if err != nil || len(res.Rows) != 3 || res.Rows[0][0].Str() != "r0" {
		t.Fatalf("run saved: %v %v", res.Rows, err)
	}
	_, err = e.svc.Create(ctx, queries.SavedInput{Name: "x", ConnectorID: e.conn, SQL: "SELECT 1", Chart: queries.Chart{Type: "pie", Y: []string{""}}}, "ann")
	var ie *queries.InvalidError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), `chart.type: "pie" is not a chart type`) || !strings.Contains(err.Error(), "chart.y[0]: empty column name") {
		t.Errorf("bad chart: %v", err)
	}
	_, err = e.svc.Create(ctx, in, "bob")
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("same name: %v", err)
	}
	in.Name, in.Chart = "Orders", queries.Chart{Type: "line", X: "region", Y: []string{"total"}}
	u, err := e.svc.Update(ctx, q.ID, in, "bob")
	if err != nil || u.Name != "Orders" || u.Chart.Type != "line" || u.UpdatedBy != "bob" {
		t.Fatalf("update: %+v %v", u, err)
	}
	list, err := e.svc.List(ctx)
	if err != nil || len(list) != 1 || list[0].ID != q.ID {
		t.Fatalf("list: %+v %v", list, err)
	}
	if err := e.svc.Delete(ctx, q.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Get(ctx, q.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("get after delete: %v", err)
	}
	src, err := e.svc.Sources(ctx)
	if err != nil || len(src) != 1 || src[0].Name != "warehouse" || src[0].Type != "postgres" || src[0].Config != nil {
		t.Errorf("sources: %+v %v", src, err)
	}
}

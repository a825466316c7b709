package postgres

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/record"
)

// queryAll runs sql through the connector's Querier and returns the schema and every row.
func queryAll(t *testing.T, cfg map[string]any, sql string, timeout time.Duration) (*record.Schema, []record.Row, error) {
	t.Helper()
	ctx := context.Background()
	res, err := New().Query(ctx, connector.Env{}, cfg, connector.Query{SQL: sql, Timeout: timeout, BatchSize: 2})
	if err != nil {
		return nil, nil, err
	}
	defer res.Close()
	var rows []record.Row
	for {
		b, err := res.Next(ctx)
		if errors.Is(err, io.EOF) {
			return res.Schema(), rows, nil
		}
		if err != nil {
			return res.Schema(), rows, err
		}
		rows = append(rows, b.Rows...)
	}
}

func TestQueryReadsTypedRows(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.exec(t, `CREATE TABLE sales (id int PRIMARY KEY, region text, amount numeric(10,2), sold_on date, tags text[], ok boolean)`)
	e.exec(t, `INSERT INTO sales VALUES (1, 'north', 10.50, '2026-01-02', '{a,b}', true), (2, 'south', 20.25, '2026-01-03', NULL, false),
		(3, 'north', 5.00, '2026-01-04', '{}', NULL)`)
	s, rows, err := queryAll(t, e.cfg, `SELECT s.id, s.region, s.amount, s.sold_on, s.tags, s.ok, s.id FROM sales s ORDER BY s.id`, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(s.Names(), ","); got != "id,region,amount,sold_on,tags,ok,id_2" {
		t.Errorf("columns = %s", got)
	}
	wantKinds := []record.Kind{record.KindInt, record.KindString, record.KindDecimal, record.KindDate, record.KindString, record.KindBool, record.KindInt}
	for i, k := range wantKinds {
		if s.Fields[i].Kind != k {
			t.Errorf("column %s kind = %s, want %s", s.Fields[i].Name, s.Fields[i].Kind, k)
		}
	}
	if len(rows) != 3 {
		t.Fatalf("rows = %d, want 3", len(rows))
	}
	if rows[0][2].String() != "10.50" || rows[0][3].String() != "2026-01-02" || rows[0][4].String() != "{a,b}" || !rows[0][5].AsBool() {
		t.Errorf("row 1 = %v", rows[0])
	}
	if !rows[1][4].IsNull() || !rows[2][5].IsNull() {
		t.Errorf("nulls lost: %v %v", rows[1], rows[2])
	}
}

func TestQueryRefusesWritesByTheDatabase(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.exec(t, `CREATE TABLE kept (id int)`)
	cases := []struct{ sql, want string }{
		{`INSERT INTO kept VALUES (1)`, "cannot execute INSERT in a read-only transaction"},
		{`CREATE TABLE made (id int)`, "cannot execute CREATE TABLE in a read-only transaction"},
		{`DROP TABLE kept`, "cannot execute DROP TABLE in a read-only transaction"},
		{`UPDATE kept SET id = 2`, "cannot execute UPDATE in a read-only transaction"},
		{`SELECT 1; DELETE FROM kept`, "cannot insert multiple commands into a prepared statement"},
	}
	for _, c := range cases {
		_, _, err := queryAll(t, e.cfg, c.sql, 10*time.Second)
		var qe *connector.QueryError
		if !errors.As(err, &qe) || !strings.Contains(qe.Message, c.want) {
			t.Errorf("%s: err = %v, want the database's %q", c.sql, err, c.want)
		}
	}
	var n int
	if err := e.conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_tables WHERE schemaname = $1 AND tablename IN ('kept', 'made')`, e.pg.Schema).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("tables kept/made = %d, want only kept", n)
	}
}

func TestQueryTimeoutCancelsTheStatement(t *testing.T) {
	t.Parallel()
	e := setup(t)
	start := time.Now()
	_, _, err := queryAll(t, e.cfg, `SELECT pg_sleep(30)`, 500*time.Millisecond)
	if !errors.Is(err, connector.ErrQueryTimeout) {
		t.Fatalf("err = %v, want a statement timeout", err)
	}
	if !strings.Contains(err.Error(), "statement timeout of 0.5s") {
		t.Errorf("message %q does not name the timeout", err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("took %s: the statement was not cancelled", d)
	}
}

func TestQuerySyntaxErrorIsTheDatabasesMessage(t *testing.T) {
	t.Parallel()
	e := setup(t)
	_, _, err := queryAll(t, e.cfg, `SELEC 1`, 5*time.Second)
	var qe *connector.QueryError
	if !errors.As(err, &qe) || qe.Code != "42601" || !strings.Contains(qe.Message, `syntax error at or near "SELEC"`) {
		t.Fatalf("err = %v", err)
	}
}

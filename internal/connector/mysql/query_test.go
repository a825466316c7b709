package mysql

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
	e.exec(t, `CREATE TABLE sales (id int PRIMARY KEY, region varchar(20), amount decimal(10,2), sold_on date, ok tinyint(1))`)
	e.exec(t, `INSERT INTO sales VALUES (1, 'north', 10.50, '2026-01-02', 1), (2, 'south', 20.25, '2026-01-03', 0), (3, 'north', 5.00, NULL, NULL)`)
	s, rows, err := queryAll(t, e.cfg, `SELECT id, region, amount, sold_on, ok, id FROM sales ORDER BY id`, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(s.Names(), ","); got != "id,region,amount,sold_on,ok,id_2" {
		t.Errorf("columns = %s", got)
	}
	if len(rows) != 3 || rows[0][2].String() != "10.50" || rows[0][3].String() != "2026-01-02" || rows[1][1].Str() != "south" || !rows[2][3].IsNull() {
		t.Errorf("rows = %v", rows)
	}
	if s.Fields[2].Kind != record.KindDecimal || s.Fields[0].Kind != record.KindInt {
		t.Errorf("kinds = %v", s.Fields)
	}
}

func TestQueryRefusesWritesByTheDatabase(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.exec(t, `CREATE TABLE kept (id int)`)
	for _, sql := range []string{
		`INSERT INTO kept VALUES (1)`,
		`CREATE TABLE made (id int)`, // DDL commits implicitly: the read-only session refuses it anyway
		`DROP TABLE kept`,
		`UPDATE kept SET id = 2`,
	} {
		_, _, err := queryAll(t, e.cfg, sql, 10*time.Second)
		var qe *connector.QueryError
		if !errors.As(err, &qe) || !strings.Contains(qe.Message, "READ ONLY transaction") || !strings.HasPrefix(qe.Code, "1792") {
			t.Errorf("%s: err = %v, want the server's read-only refusal (1792)", sql, err)
		}
	}
	_, _, err := queryAll(t, e.cfg, `SELECT 1; DELETE FROM kept`, 10*time.Second)
	var qe *connector.QueryError
	if !errors.As(err, &qe) || !strings.Contains(qe.Message, "SQL syntax") {
		t.Errorf("two statements: err = %v, want the server's syntax error", err)
	}
	got := e.strings(t, `SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY table_name`)
	if strings.Join(got, ",") != "kept" {
		t.Errorf("tables = %v, want only kept", got)
	}
}

func TestQueryTimeoutCancelsTheStatement(t *testing.T) {
	t.Parallel()
	e := setup(t)
	start := time.Now()
	_, _, err := queryAll(t, e.cfg, `SELECT SLEEP(30)`, 500*time.Millisecond)
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

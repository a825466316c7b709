package mysql

import (
	"database/sql"
	"net"
	"strconv"
	"testing"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/sqlkit/sqltest"
	"github.com/dataaggregator/aggregator/internal/record"
	"github.com/dataaggregator/aggregator/internal/testutil"
)

type env struct {
	my  testutil.MY
	db  *sql.DB
	cfg map[string]any
}

// configOf turns the test database into a connector config.
func configOf(t *testing.T, my testutil.MY) map[string]any {
	t.Helper()
	host, port, err := net.SplitHostPort(my.Config.Addr)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	return map[string]any{"host": host, "port": p, "user": my.Config.User, "password": my.Config.Passwd, "database": my.Database}
}

// setup gives the test its own database, a handle on it and a connector config.
func setup(t *testing.T) *env {
	t.Helper()
	my := testutil.MySQL(t)
	db, err := sql.Open("mysql", my.DSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &env{my: my, db: db, cfg: configOf(t, my)}
}

func (e *env) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := e.db.Exec(sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func (e *env) with(kv ...any) map[string]any { return sqltest.With(e.cfg, kv...) }

func (e *env) strings(t *testing.T, query string) []string {
	t.Helper()
	rows, err := e.db.Query(query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s sql.NullString
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s.String)
	}
	return out
}

func readAll(t *testing.T, cfg map[string]any, req connector.ReadRequest) ([]record.Row, *record.Schema, []byte) {
	t.Helper()
	return sqltest.ReadAll(t, New(), cfg, req)
}

func write(t *testing.T, cfg map[string]any, req connector.WriteRequest, batches ...*record.Batch) {
	t.Helper()
	sqltest.Write(t, New(), cfg, req, batches...)
}

func batchOf(s *record.Schema, rows ...record.Row) *record.Batch { return sqltest.BatchOf(s, rows...) }

package postgres

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/record"
	"github.com/dataaggregator/aggregator/internal/testutil"
)

func TestCheckDestinationReportsEveryProblem(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.exec(t, `CREATE TABLE nokey (id int, name text)`)
	e.exec(t, `CREATE TABLE keyed (id int PRIMARY KEY, name text)`)
	e.exec(t, `CREATE TABLE strict (id int, name text, code text NOT NULL, made timestamptz NOT NULL DEFAULT now(), n int GENERATED ALWAYS AS IDENTITY)`)
	e.exec(t, `CREATE TABLE typed (id int, flag boolean NOT NULL, code text NOT NULL)`)
	e.exec(t, `CREATE VIEW v AS SELECT id FROM keyed`)
	s := record.MustSchema(record.Field{Name: "id", Kind: record.KindInt}, record.Field{Name: "name", Kind: record.KindString})
	withFlag := record.MustSchema(record.Field{Name: "id", Kind: record.KindInt}, record.Field{Name: "flag", Kind: record.KindBytes})
	display := e.pg.Schema + "."
	cases := []struct {
		name string
		cfg  map[string]any
		req  connector.WriteRequest
		want []string // every one must appear; none: the check passes
	}{
		{"upsert into a table without a key", e.with("table", "nokey"), connector.WriteRequest{Mode: connector.Upsert, Key: []string{"id"}},
			[]string{"postgres destination " + display + "nokey", "upsert by (id) needs a primary key or unique index on exactly those columns", "it has no primary key"}},
		{"upsert by another key than the table's", e.with("table", "keyed"), connector.WriteRequest{Mode: connector.Upsert, Key: []string{"name"}, Schema: s},
			[]string{"upsert by (name)", "its primary key is (id)"}},
		{"upsert by the table's key", e.with("table", "keyed"), connector.WriteRequest{Mode: connector.Upsert, Key: []string{"id"}, Schema: s}, nil},
		{"missing table that can be created", e.with("table", "brand_new"), connector.WriteRequest{Mode: connector.Upsert, Key: []string{"id"}, Schema: s}, nil},
		{"stream names the table", e.cfg, connector.WriteRequest{Stream: "brand_new", Mode: connector.Overwrite}, nil},
		{"missing schema", e.with("table", "t", "schema", "no_such_schema_x"), connector.WriteRequest{Mode: connector.Append},
			[]string{`postgres destination no_such_schema_x.t: schema "no_such_schema_x" does not exist`}},
		{"no table", e.cfg, connector.WriteRequest{Mode: connector.Append}, []string{"table: required"}},
		{"NOT NULL column without default not fed", e.with("table", "strict"), connector.WriteRequest{Mode: connector.Append, Schema: s},
			[]string{"column(s) code are NOT NULL without a default and no input field feeds them"}},
		{"every problem at once", e.with("table", "typed"), connector.WriteRequest{Mode: connector.Upsert, Key: []string{"id", "missing"}, Schema: withFlag},
			[]string{`write.key: field "missing" is not in the input`, `column "flag": the source type is bytes but the destination column is boolean`,
				"column(s) code are NOT NULL", "upsert by (id, missing)"}},
		{"a view", e.with("table", "v"), connector.WriteRequest{Mode: connector.Append}, []string{display + "v is a view; a destination writes a table"}},
		{"a query", e.with("query", "SELECT 1"), connector.WriteRequest{Stream: "x"}, []string{"query: a destination writes a table"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			err := New().CheckDestination(context.Background(), connector.Env{}, c.cfg, c.req)
			if len(c.want) == 0 {
				if err != nil {
					t.Fatalf("CheckDestination: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckDestination passed; want %q", c.want)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v\nwant it to contain %q", err, w)
				}
			}
			if !errors.Is(err, connector.ErrConfig) {
				t.Errorf("err = %v, want errors.Is ErrConfig", err)
			}
		})
	}
	var n int
	if err := e.conn.QueryRow(context.Background(), "SELECT count(*) FROM pg_tables WHERE schemaname = $1", e.pg.Schema).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Errorf("the check created or dropped tables: %d tables in the schema, want the 4 the test made", n)
	}
}

// A login without CREATE on the schema cannot create the table, the staging table or the marker
// table; without INSERT it cannot append.
func TestCheckDestinationPrivileges(t *testing.T) {
	t.Parallel()
	e := setup(t)
	role := testutil.Name("r")
	e.exec(t, "CREATE ROLE "+role+" LOGIN")
	t.Cleanup(func() {
		ctx := context.Background()
		_, _ = e.conn.Exec(ctx, "DROP OWNED BY "+role)
		_, _ = e.conn.Exec(ctx, "DROP ROLE "+role)
	})
	e.exec(t, "CREATE TABLE ro (id int)")
	e.exec(t, "GRANT USAGE ON SCHEMA "+e.pg.Schema+" TO "+role)
	e.exec(t, "GRANT SELECT ON ro TO "+role)
	u, err := url.Parse(e.pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(role)
	cfg := map[string]any{"url": u.String()}
	err = New().CheckDestination(context.Background(), connector.Env{}, cfg, connector.WriteRequest{Stream: "fresh", Mode: connector.Append})
	if err == nil || !strings.Contains(err.Error(), `the login may not create tables in schema "`+e.pg.Schema+`" (needed for the table, the commit marker table _aggregator_commits)`) {
		t.Errorf("missing table without CREATE: err = %v", err)
	}
	err = New().CheckDestination(context.Background(), connector.Env{}, cfg, connector.WriteRequest{Stream: "ro", Mode: connector.Append})
	for _, w := range []string{"the login may not insert into " + e.pg.Schema + ".ro", "may not create tables"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("read-only table: err = %v, want %q", err, w)
		}
	}
}

package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/dataaggregator/aggregator/internal/auth"
	"github.com/dataaggregator/aggregator/internal/connections"
	"github.com/dataaggregator/aggregator/internal/queries"
	"github.com/dataaggregator/aggregator/internal/store"
	"github.com/dataaggregator/aggregator/internal/testutil"
)

// queryConnectors holds each test env's saved postgres connector (one schema per env).
var queryConnectors sync.Map // *env -> string

// fixtureQueryConnector is a saved postgres connector on a schema of the test's own with a table
// sales(region, amount) of three rows.
func (e *env) fixtureQueryConnector() string {
	e.t.Helper()
	if id, ok := queryConnectors.Load(e); ok {
		return id.(string)
	}
	pg := testutil.Postgres(e.t)
	ctx := context.Background()
	c, err := e.data.deps.Connections.Create(ctx, connections.Input{Name: uniq("warehouse"), Type: "postgres",
		Config: map[string]any{"url": pg.URL}}, "fixture")
	if err != nil {
		e.t.Fatal(err)
	}
	pgExec(e.t, pg.URL, `CREATE TABLE sales (region text, amount numeric(10,2)); INSERT INTO sales VALUES ('north', 10.5), ('south', 20), ('east', 7.25)`)
	queryConnectors.Store(e, c.ID)
	e.t.Cleanup(func() { queryConnectors.Delete(e) })
	return c.ID
}

func pgExec(t *testing.T, url, sql string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func (e *env) fixtureSavedQuery() string {
	e.t.Helper()
	q, err := e.api.queries.Create(context.Background(), queries.SavedInput{Name: uniq("query"), ConnectorID: e.fixtureQueryConnector(),
		SQL: "SELECT region, amount FROM sales ORDER BY region", Chart: queries.Chart{Type: "bar", X: "region", Y: []string{"amount"}}}, "fixture")
	if err != nil {
		e.t.Fatal(err)
	}
	return q.ID
}

func queryRouteTable() map[string]routeCase {
	saved := func(suffix string, body func() any) func(*env, store.User) call {
		return func(e *env, _ store.User) call {
			var b any
			if body != nil {
				b = body()
			}
			return call{path: "/api/v1/analytics/queries/" + e.fixtureSavedQuery() + suffix, body: b}
		}
	}
	return map[string]routeCase{
		"GET /api/v1/analytics/query-sources": {perm: auth.PermAnalyticsQuery, prepare: func(*env, store.User) call { return call{} }},
		"POST /api/v1/analytics/queries/run": {perm: auth.PermAnalyticsQuery, prepare: func(e *env, _ store.User) call {
			return call{body: map[string]any{"connector_id": e.fixtureQueryConnector(), "sql": "SELECT count(*) FROM sales"}}
		}},
		"GET /api/v1/analytics/queries": {perm: auth.PermAnalyticsQuery, prepare: func(*env, store.User) call { return call{} }},
		"POST /api/v1/analytics/queries": {perm: auth.PermAnalyticsQuery, prepare: func(e *env, _ store.User) call {
			return call{body: map[string]any{"name": uniq("q"), "connector_id": e.fixtureQueryConnector(), "sql": "SELECT 1"}}
		}},
		"GET /api/v1/analytics/queries/{id}": {perm: auth.PermAnalyticsQuery, prepare: saved("", nil)},
		"PUT /api/v1/analytics/queries/{id}": {perm: auth.PermAnalyticsQuery, prepare: func(e *env, u store.User) call {
			return saved("", func() any {
				return map[string]any{"name": uniq("q"), "connector_id": e.fixtureQueryConnector(), "sql": "SELECT 2", "chart": map[string]any{"type": "line", "x": "a", "y": []string{"b"}}}
			})(e, u)
		}},
		"DELETE /api/v1/analytics/queries/{id}":     {perm: auth.PermAnalyticsQuery, prepare: saved("", nil)},
		"POST /api/v1/analytics/queries/{id}/run":   {perm: auth.PermAnalyticsQuery, prepare: saved("/run", nil)},
		"GET /api/v1/analytics/queries/{id}/export": {perm: auth.PermAnalyticsQuery, prepare: saved("/export?format=csv", nil)},
		"POST /api/v1/analytics/queries/export": {perm: auth.PermAnalyticsQuery, prepare: func(e *env, _ store.User) call {
			return call{path: "/api/v1/analytics/queries/export?format=ndjson", body: map[string]any{"connector_id": e.fixtureQueryConnector(), "sql": "SELECT count(*) FROM sales"}}
		}},
	}
}

// TestAnalyticsQueries: a run returns typed columns, rows and the cap; a write is refused with
// PostgreSQL's own message; a timeout names the timeout; bad input names each field; a saved
// query keeps its chart and names its connector; the connector's config never comes back.
func TestAnalyticsQueries(t *testing.T) {
	t.Parallel()
	e := setup(t, setupOptions{})
	exec := e.tokens[auth.RoleExecutive]
	conn := e.fixtureQueryConnector()

	res := e.do(http.MethodPost, "/api/v1/analytics/queries/run", exec, map[string]any{"connector_id": conn, "sql": "SELECT region, amount FROM sales ORDER BY amount", "max_rows": 2})
	if res.status != http.StatusOK {
		t.Fatalf("run: %d %s", res.status, res.body)
	}
	var out QueryResult
	if err := json.Unmarshal(res.body, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Columns) != 2 || out.Columns[1].Type != "decimal" || out.Columns[1].Native != "numeric" || out.RowCount != 2 || !out.Truncated || out.MaxRows != 2 {
		t.Errorf("result = %+v", out)
	}
	if !strings.Contains(string(res.body), `"rows":[["east",7.25],["north",10.50]]`) {
		t.Errorf("rows in %s", res.body)
	}

	cases := []struct {
		body map[string]any
		want string
	}{
		{map[string]any{"connector_id": conn, "sql": "INSERT INTO sales VALUES ('west', 1)"}, "the database refused the query: postgres: cannot execute INSERT in a read-only transaction (25006)"},
		{map[string]any{"connector_id": conn, "sql": "SELECT pg_sleep(10)", "timeout_seconds": 0.5}, "the query ran longer than the statement timeout of 0.5s and was cancelled"},
		{map[string]any{"connector_id": "", "sql": "", "max_rows": 20000}, "connector_id: required"},
	}
	for _, c := range cases {
		res := e.do(http.MethodPost, "/api/v1/analytics/queries/run", exec, c.body)
		if res.status != http.StatusUnprocessableEntity || !strings.Contains(string(res.body), c.want) {
			t.Errorf("%v: %d %s, want 422 with %q", c.body, res.status, res.body, c.want)
		}
	}

	res = e.do(http.MethodPost, "/api/v1/analytics/queries", exec, map[string]any{"name": "Sales", "connector_id": conn, "sql": "SELECT * FROM sales",
		"chart": map[string]any{"type": "area", "x": "region", "y": []string{"amount"}}})
	if res.status != http.StatusCreated || !strings.Contains(string(res.body), `"chart":{"type":"area","x":"region","y":["amount"]}`) || !strings.Contains(string(res.body), `"connector_type":"postgres"`) {
		t.Fatalf("create: %d %s", res.status, res.body)
	}
	res = e.do(http.MethodPost, "/api/v1/analytics/queries", exec, map[string]any{"name": "sales", "connector_id": conn, "sql": "SELECT 1"})
	if res.status != http.StatusConflict {
		t.Errorf("same name: %d %s", res.status, res.body)
	}
	res = e.do(http.MethodGet, "/api/v1/analytics/query-sources", exec, nil)
	if res.status != http.StatusOK || !strings.Contains(string(res.body), `"type":"postgres"`) || strings.Contains(string(res.body), "url") || strings.Contains(string(res.body), "postgres://") {
		t.Errorf("sources: %d %s", res.status, res.body)
	}
	res = e.do(http.MethodGet, "/api/v1/analytics/queries", e.tokens[auth.RoleViewer], nil)
	if res.status != http.StatusForbidden {
		t.Errorf("viewer: %d", res.status)
	}
}

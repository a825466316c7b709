package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	pq "github.com/parquet-go/parquet-go"
	"github.com/xuri/excelize/v2"

	"github.com/dataaggregator/aggregator/internal/auth"
	"github.com/dataaggregator/aggregator/internal/queries"
	"github.com/dataaggregator/aggregator/internal/testutil"
)

// exportSQL is the fixture's sales table with an int and a text column beside the decimal.
const exportSQL = "SELECT region, amount, (amount * 100)::bigint AS cents FROM sales ORDER BY region"

// salesRows are exportSQL's rows as text.
var salesRows = [][]string{{"east", "7.25", "725"}, {"north", "10.50", "1050"}, {"south", "20.00", "2000"}}

// readBack parses an exported file into its header and rows as text, each format with its own
// reader (encoding/csv, encoding/json, excelize, parquet-go).
func readBack(t *testing.T, format string, body []byte) (header []string, rows [][]string) {
	t.Helper()
	switch format {
	case "csv":
		recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
		if err != nil || len(recs) == 0 {
			t.Fatalf("csv: %v\n%s", err, body)
		}
		return recs[0], recs[1:]
	case "ndjson":
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		header = []string{"region", "amount", "cents"}
		for {
			var m map[string]any
			if err := dec.Decode(&m); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("ndjson: %v\n%s", err, body)
			}
			if len(m) != 3 {
				t.Fatalf("ndjson object %v, want 3 keys", m)
			}
			row := make([]string, len(header))
			for i, k := range header {
				row[i] = fmt.Sprint(m[k])
			}
			rows = append(rows, row)
		}
		return header, rows
	case "xlsx":
		f, err := excelize.OpenReader(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("xlsx: %v", err)
		}
		defer f.Close()
		all, err := f.GetRows("Sheet1", excelize.Options{RawCellValue: true})
		if err != nil || len(all) == 0 {
			t.Fatalf("xlsx rows: %q, %v", all, err)
		}
		return all[0], all[1:]
	case "parquet":
		f, err := pq.OpenFile(bytes.NewReader(body), int64(len(body)))
		if err != nil {
			t.Fatalf("parquet: %v", err)
		}
		for _, fl := range f.Schema().Fields() {
			header = append(header, fl.Name())
		}
		for _, rg := range f.RowGroups() {
			buf := make([]pq.Row, rg.NumRows())
			rr := rg.Rows()
			n, err := rr.ReadRows(buf)
			rr.Close()
			if int64(n) != rg.NumRows() || (err != nil && !errors.Is(err, io.EOF)) {
				t.Fatalf("parquet ReadRows: %d of %d, %v", n, rg.NumRows(), err)
			}
			for _, r := range buf {
				// amount is a DECIMAL(…, 2) held as its unscaled integer
				rows = append(rows, []string{string(r[0].ByteArray()), parquetDecimal(t, r[1], 2), fmt.Sprint(r[2].Int64())})
			}
		}
		return header, rows
	}
	t.Fatalf("no reader for %s", format)
	return nil, nil
}

func parquetDecimal(t *testing.T, v pq.Value, scale int) string {
	t.Helper()
	var n int64
	switch v.Kind() {
	case pq.Int32:
		n = int64(v.Int32())
	case pq.Int64:
		n = v.Int64()
	default:
		return string(v.ByteArray()) // a decimal without a declared scale travels as text
	}
	s := fmt.Sprintf("%0*d", scale+1, n)
	return s[:len(s)-scale] + "." + s[len(s)-scale:]
}

// TestQueryExport: an ad-hoc and a saved query export as CSV, NDJSON, Excel and Parquet on the
// SQLite and the PostgreSQL store; each file reads back (with its own library) to the query's rows,
// with the format's content type and a file name; the cap header and the trailers say the rows
// written and that the cap did not cut them; every export is audited with its rows.
func TestQueryExport(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			e := setup(t, setupOptions{postgres: backend == "postgres"})
			designer := e.tokens[auth.RoleDesigner]
			conn := e.fixtureQueryConnector()
			res := e.do(http.MethodPost, "/api/v1/analytics/queries", designer, map[string]any{"name": "Sales by region", "connector_id": conn, "sql": exportSQL})
			if res.status != http.StatusCreated {
				t.Fatalf("save: %d %s", res.status, res.body)
			}
			var saved SavedQuery
			res.decode(t, &saved)
			for _, c := range []struct{ format, ctype string }{
				{"csv", "text/csv; charset=utf-8"},
				{"ndjson", "application/x-ndjson"},
				{"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
				{"parquet", "application/vnd.apache.parquet"},
			} {
				for _, r := range []struct {
					how, name string
					res       response
				}{
					{"ad-hoc", "query." + c.format, e.do(http.MethodPost, "/api/v1/analytics/queries/export?format="+c.format, designer, map[string]any{"connector_id": conn, "sql": exportSQL})},
					{"saved", "Sales_by_region." + c.format, e.do(http.MethodGet, "/api/v1/analytics/queries/"+saved.ID+"/export?format="+c.format, e.tokens[auth.RoleExecutive], nil)},
				} {
					res := r.res
					if res.status != http.StatusOK || res.header.Get("Content-Type") != c.ctype || res.header.Get("Content-Disposition") != "attachment; filename="+r.name {
						t.Fatalf("%s %s: %d %q %q %s", r.how, c.format, res.status, res.header.Get("Content-Type"), res.header.Get("Content-Disposition"), res.body)
					}
					if res.header.Get("X-Export-Row-Cap") != "1000000" || res.trailer.Get("X-Export-Rows") != "3" || res.trailer.Get("X-Export-Truncated") != "false" {
						t.Errorf("%s %s: cap %q, trailers %v", r.how, c.format, res.header.Get("X-Export-Row-Cap"), res.trailer)
					}
					header, rows := readBack(t, c.format, res.body)
					if diff := cmp.Diff([]string{"region", "amount", "cents"}, header); diff != "" {
						t.Errorf("%s %s header (-want +got):\n%s", r.how, c.format, diff)
					}
					if diff := cmp.Diff(salesRows, rows); diff != "" {
						t.Errorf("%s %s rows (-want +got):\n%s", r.how, c.format, diff)
					}
				}
			}
			var audit Page[AuditEntry]
			e.do(http.MethodGet, "/api/v1/audit-logs?action=query.export", e.tokens[auth.RoleAdmin], nil).decode(t, &audit)
			n := 0
			for _, a := range audit.Items {
				if a.TargetID == conn && a.Result == "success" && strings.Contains(string(a.Details), `"rows":3`) && strings.Contains(string(a.Details), `"truncated":false`) {
					n++
				}
			}
			e.do(http.MethodGet, "/api/v1/audit-logs?action=saved_query.export", e.tokens[auth.RoleAdmin], nil).decode(t, &audit)
			for _, a := range audit.Items {
				if a.TargetID == saved.ID && a.Result == "success" && strings.Contains(string(a.Details), `"rows":3`) {
					n++
				}
			}
			if n != 8 {
				t.Errorf("audited exports with their rows: %d, want 8", n)
			}
		})
	}
}

// TestQueryExportRefusals: a write, a timeout, bad input and an unknown format are refused with the
// messages run-query gives, as a problem response and not a file; a viewer may not export.
func TestQueryExportRefusals(t *testing.T) {
	t.Parallel()
	e := setup(t, setupOptions{})
	exec := e.tokens[auth.RoleExecutive]
	conn := e.fixtureQueryConnector()
	cases := []struct {
		format string
		body   map[string]any
		want   string
	}{
		{"csv", map[string]any{"connector_id": conn, "sql": "INSERT INTO sales VALUES ('west', 1)"}, "the database refused the query: postgres: cannot execute INSERT in a read-only transaction (25006)"},
		{"xlsx", map[string]any{"connector_id": conn, "sql": "DROP TABLE sales"}, "cannot execute DROP TABLE in a read-only transaction"},
		{"parquet", map[string]any{"connector_id": conn, "sql": "SELECT pg_sleep(10)", "timeout_seconds": 0.5}, "the query ran longer than the statement timeout of 0.5s and was cancelled"},
		{"ndjson", map[string]any{"connector_id": "", "sql": ""}, "connector_id: required"},
		{"xml", map[string]any{"connector_id": conn, "sql": "SELECT 1"}, `expected value to be one of \"csv, ndjson, xlsx, parquet\"`},
		{"", map[string]any{"connector_id": conn, "sql": "SELECT 1"}, "format"},
	}
	for _, c := range cases {
		res := e.do(http.MethodPost, "/api/v1/analytics/queries/export?format="+c.format, exec, c.body)
		if res.status != http.StatusUnprocessableEntity || !strings.Contains(string(res.body), c.want) || !strings.HasPrefix(res.header.Get("Content-Type"), "application/problem+json") {
			t.Errorf("format %q %v: %d %q %s, want a 422 problem with %q", c.format, c.body, res.status, res.header.Get("Content-Type"), res.body, c.want)
		}
	}
	res := e.do(http.MethodGet, "/api/v1/analytics/queries/nope/export?format=csv", exec, nil)
	if res.status != http.StatusNotFound {
		t.Errorf("unknown saved query: %d %s", res.status, res.body)
	}
	// The table is still there: nothing was written.
	res = e.do(http.MethodPost, "/api/v1/analytics/queries/export?format=csv", exec, map[string]any{"connector_id": conn, "sql": "SELECT count(*) AS n FROM sales"})
	if res.status != http.StatusOK || string(res.body) != "n\n3\n" {
		t.Errorf("count after the refusals: %d %q", res.status, res.body)
	}
	viewer := e.tokens[auth.RoleViewer]
	for _, r := range []struct{ method, path string }{
		{http.MethodPost, "/api/v1/analytics/queries/export?format=csv"},
		{http.MethodGet, "/api/v1/analytics/queries/" + e.fixtureSavedQuery() + "/export?format=csv"},
	} {
		res := e.do(r.method, r.path, viewer, map[string]any{"connector_id": conn, "sql": "SELECT 1"})
		if r.method == http.MethodGet {
			res = e.do(r.method, r.path, viewer, nil)
		}
		if res.status != http.StatusForbidden || bytes.Contains(res.body, []byte("north")) {
			t.Errorf("viewer %s %s: %d %s", r.method, r.path, res.status, res.body)
		}
	}
}

// TestQueryExportCap: an export stops at its own row cap (queries.Limits.ExportRows), above the
// on-screen cap, and the trailers say the result was cut.
func TestQueryExportCap(t *testing.T) {
	t.Parallel()
	e := setup(t, setupOptions{queryLimits: queries.Limits{MaxRows: 1, ExportRows: 2}})
	exec := e.tokens[auth.RoleExecutive]
	conn := e.fixtureQueryConnector()
	res := e.do(http.MethodPost, "/api/v1/analytics/queries/run", exec, map[string]any{"connector_id": conn, "sql": exportSQL})
	var out QueryResult
	res.decode(t, &out)
	if out.RowCount != 1 || !out.Truncated || out.ExportMaxRows != 2 {
		t.Errorf("run: %+v", out)
	}
	for _, c := range []struct {
		sql, body, rows, truncated string
	}{
		{exportSQL, "region,amount,cents\neast,7.25,725\nnorth,10.50,1050\n", "2", "true"},
		{"SELECT region FROM sales WHERE region <> 'north' ORDER BY region", "region\neast\nsouth\n", "2", "false"},
	} {
		res := e.do(http.MethodPost, "/api/v1/analytics/queries/export?format=csv", exec, map[string]any{"connector_id": conn, "sql": c.sql})
		if res.status != http.StatusOK || string(res.body) != c.body || res.header.Get("X-Export-Row-Cap") != "2" ||
			res.trailer.Get("X-Export-Rows") != c.rows || res.trailer.Get("X-Export-Truncated") != c.truncated {
			t.Errorf("%s: %d %q cap %q trailers %v; want %q, %s rows, truncated %s", c.sql, res.status, res.body, res.header.Get("X-Export-Row-Cap"), res.trailer, c.body, c.rows, c.truncated)
		}
	}
}

// TestQueryExportStreams: the file's rows reach the client while the query is still running. The
// statement's last row waits on an advisory lock this test holds, and the test releases it only
// after it has read 5,000 rows of the body: an export that held the result before sending it would
// send nothing until the statement ended at its 30 s timeout, and the file would lack rows.
func TestQueryExportStreams(t *testing.T) {
	t.Parallel()
	e := setup(t, setupOptions{})
	conn := e.fixtureQueryConnector()
	ctx := t.Context()
	lock, err := pgx.Connect(ctx, testutil.PostgresURL())
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close(context.Background())
	key := time.Now().UnixNano()
	if _, err := lock.Exec(ctx, "SELECT pg_advisory_lock($1)", key); err != nil {
		t.Fatal(err)
	}
	unlocked := false
	defer func() {
		if !unlocked {
			_, _ = lock.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", key)
		}
	}()
	const n = 20000
	sql := fmt.Sprintf("SELECT g, CASE WHEN g = %d THEN pg_advisory_lock(%d)::text END AS waited FROM generate_series(1, %d) g", n, key, n)
	body, _ := json.Marshal(map[string]any{"connector_id": conn, "sql": sql})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.srv.URL+"/api/v1/analytics/queries/export?format=csv", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+e.tokens[auth.RoleDesigner])
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(res.Body)
		t.Fatalf("export: %d %s", res.StatusCode, raw)
	}
	sc := bufio.NewScanner(res.Body)
	lines := 0
	for lines < 5001 && sc.Scan() {
		lines++
	}
	if lines < 5001 {
		t.Fatalf("read %d lines before the query could end: %v", lines, sc.Err())
	}
	// 5,000 rows arrived while the statement still waits for its last one: now let it end.
	if _, err := lock.Exec(ctx, "SELECT pg_advisory_unlock($1)", key); err != nil {
		t.Fatal(err)
	}
	unlocked = true
	for sc.Scan() {
		lines++
	}
	if err := sc.Err(); err != nil || lines != n+1 {
		t.Fatalf("%d lines in all, want a header and %d rows: %v", lines, n, err)
	}
	if res.Trailer.Get("X-Export-Rows") != strconv.Itoa(n) || res.Trailer.Get("X-Export-Truncated") != "false" {
		t.Errorf("trailers %v", res.Trailer)
	}
}

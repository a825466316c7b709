package api

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"testing"

	pq "github.com/parquet-go/parquet-go"
	"github.com/xuri/excelize/v2"

	"github.com/dataaggregator/aggregator/internal/auth"
	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/files/ndjson"
)

// A run's output exports as CSV, NDJSON, Excel and Parquet: the right type and file name, and the
// xlsx and Parquet bodies hold the output's rows (read back by their own libraries); each export is
// audited as a download.
func TestRunOutputExport(t *testing.T) {
	e := setup(t, setupOptions{connectors: []connector.Connector{ndjson.New()}})
	run := e.runSpec("outputs", examplesIn(t, e.data.files))
	if run.Status != "succeeded" {
		t.Fatalf("run = %+v", run)
	}
	viewer := e.tokens[auth.RoleViewer]
	for _, c := range []struct{ format, ctype, name string }{
		{"csv", "text/csv; charset=utf-8", "customers-clean.csv"},
		{"ndjson", "application/x-ndjson", "customers-clean.ndjson"},
		{"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "customers-clean.xlsx"},
		{"parquet", "application/vnd.apache.parquet", "customers-clean.parquet"},
	} {
		r := e.do(http.MethodGet, "/api/v1/runs/"+run.ID+"/outputs/clean?format="+c.format, viewer, nil)
		if r.status != http.StatusOK || r.header.Get("Content-Type") != c.ctype || r.header.Get("Content-Disposition") != "attachment; filename="+c.name {
			t.Fatalf("%s: %d %q %q %s", c.format, r.status, r.header.Get("Content-Type"), r.header.Get("Content-Disposition"), r.body)
		}
		switch c.format {
		case "csv":
			recs, err := csv.NewReader(bytes.NewReader(r.body)).ReadAll()
			if err != nil || len(recs) != 7 || recs[0][0] != "customer_id" {
				t.Errorf("csv: %d records, %v\n%s", len(recs), err, r.body)
			}
		case "ndjson":
			if n := bytes.Count(r.body, []byte("\n")); n != 6 {
				t.Errorf("ndjson: %d lines\n%s", n, r.body)
			}
		case "xlsx":
			f, err := excelize.OpenReader(bytes.NewReader(r.body))
			if err != nil {
				t.Fatalf("xlsx: %v", err)
			}
			rows, err := f.GetRows("Sheet1")
			f.Close()
			if err != nil || len(rows) != 7 || len(rows[0]) == 0 {
				t.Fatalf("xlsx rows = %q, %v; want a header and 6", rows, err)
			}
		case "parquet":
			f, err := pq.OpenFile(bytes.NewReader(r.body), int64(len(r.body)))
			if err != nil || f.NumRows() != 6 {
				t.Fatalf("parquet: %v, want 6 rows", err)
			}
		}
	}
	if r := e.do(http.MethodGet, "/api/v1/runs/"+run.ID+"/outputs/clean?format=xml", viewer, nil); r.status != http.StatusUnprocessableEntity {
		t.Errorf("format=xml: %d, want 422", r.status)
	}
	var audit Page[AuditEntry]
	e.do(http.MethodGet, "/api/v1/audit-logs?action=run.output_download", e.tokens[auth.RoleAdmin], nil).decode(t, &audit)
	ok := 0
	for _, a := range audit.Items {
		if a.TargetID == run.ID && a.Result == "success" {
			ok++
		}
	}
	if ok != 4 {
		t.Errorf("audited exports: %d, want 4", ok)
	}
}

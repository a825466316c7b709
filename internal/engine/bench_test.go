package engine

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/files/csv"
	"github.com/dataaggregator/aggregator/internal/pipeline"
	"github.com/dataaggregator/aggregator/internal/record"
	"github.com/dataaggregator/aggregator/internal/transform"
)

// benchInput writes a CSV of n rows of mixed columns (quoted commas in one column) once per benchmark.
func benchInput(b *testing.B, n int) string {
	b.Helper()
	dir := b.TempDir()
	f, err := os.Create(filepath.Join(dir, "in.csv"))
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "id,customer,country,amount,quantity,price,created_at,active")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(w, "%d,\"Name %d, Ltd\",FR,%d.%02d,%d,%.4f,2024-01-01T00:00:%02dZ,%t\n", i, i%100, i%1000, i%100, i%20, float64(i%1000)/7, i%60, i%4 != 0)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	return dir
}

func benchPlan(b *testing.B, spec string) *pipeline.Plan {
	b.Helper()
	cr, err := connector.NewRegistry(csv.New(), discardConn{})
	if err != nil {
		b.Fatal(err)
	}
	tr, err := transform.NewRegistry(transform.Builtins()...)
	if err != nil {
		b.Fatal(err)
	}
	s, err := pipeline.Parse([]byte(spec))
	if err != nil {
		b.Fatal(err)
	}
	p, err := pipeline.Validate(context.Background(), s, pipeline.Env{Connectors: cr, Transforms: tr})
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// discardConn is a destination that counts and drops rows.
type discardConn struct{}

func (discardConn) Spec() connector.Spec {
	return connector.Spec{Name: "discard", Destination: true, WriteModes: []connector.WriteMode{connector.Append}}
}
func (discardConn) OpenWriter(context.Context, connector.Env, map[string]any, connector.WriteRequest) (connector.Writer, error) {
	return &discardWriter{}, nil
}

type discardWriter struct{ rows int64 }

func (w *discardWriter) Write(_ context.Context, b *record.Batch) error {
	w.rows += int64(b.Len())
	return nil
}
func (w *discardWriter) Commit(context.Context) error { return nil }
func (w *discardWriter) Close(context.Context) error  { return nil }
func (w *discardWriter) Abort(context.Context) error  { return nil }

func benchRun(b *testing.B, transforms string, outs string) { benchRunWorkers(b, transforms, outs, 0) }

func benchRunWorkers(b *testing.B, transforms string, outs string, workers int) {
	const rows = 200_000
	dir := benchInput(b, rows)
	plan := benchPlan(b, `version: 1
name: bench
sources: [{id: in, type: csv, config: {path: in.csv}}]
`+transforms+`
destinations:
  - {id: out, type: `+outs+`}
`)
	opts := Options{Env: connector.Env{FileRoots: []string{dir}}, Workers: workers}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := Run(context.Background(), plan, opts)
		if err != nil {
			b.Fatal(err)
		}
		if res.RowsRead != rows {
			b.Fatalf("read %d rows", res.RowsRead)
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkRunCSVDiscard is the engine's own cost over the CSV reader: read, push, hand to a writer.
func BenchmarkRunCSVDiscard(b *testing.B) {
	benchRun(b, "", "discard, inputs: [in]")
}

const benchTransforms = `transforms:
  - {id: shape, type: map, inputs: [in], config: {rename: {customer: customer_name}}}
  - {id: derive, type: expression, inputs: [shape], config: {fields: [{name: total, expression: "price * quantity", type: float}]}}
  - {id: keep, type: filter, inputs: [derive], config: {expression: "active && quantity > 2"}}`

// BenchmarkRunCSVTransforms adds map + expression + filter, with parallel workers (GOMAXPROCS).
func BenchmarkRunCSVTransforms(b *testing.B) {
	benchRun(b, benchTransforms, "discard, inputs: [keep]")
}

// BenchmarkRunCSVTransformsOneWorker is the same on one worker (transforms in the driver goroutine).
func BenchmarkRunCSVTransformsOneWorker(b *testing.B) {
	benchRunWorkers(b, benchTransforms, "discard, inputs: [keep]", 1)
}

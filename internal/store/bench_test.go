package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/dataaggregator/aggregator/internal/store"
)

func benchStore(b *testing.B) *store.Store {
	b.Helper()
	s, err := store.Open(context.Background(), store.Options{Dialect: store.SQLite, DSN: filepath.Join(b.TempDir(), "bench.db")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkAddDeadLetters measures bulk dead-letter inserts on SQLite, 500
// rows per call (the run service flushes in batches).
func BenchmarkAddDeadLetters(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	p, err := s.CreatePipeline(ctx, store.Pipeline{Name: "bench", Spec: "version: 1"})
	if err != nil {
		b.Fatal(err)
	}
	r, err := s.CreateRun(ctx, store.Run{PipelineID: p.ID, PipelineVersion: 1})
	if err != nil {
		b.Fatal(err)
	}
	rows := make([]store.DeadLetter, 500)
	for i := range rows {
		rows[i] = store.DeadLetter{RunID: r.ID, Node: "validate", Source: "in.csv", Line: int64(i), Field: "amount",
			Reason: "not a number", Raw: json.RawMessage(fmt.Sprintf(`{"id":%d,"amount":"x"}`, i))}
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.AddDeadLetters(ctx, rows); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(rows))/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkAppendAudit measures one audit insert (one per state-changing request).
func BenchmarkAppendAudit(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	e := store.AuditEntry{ActorID: "u1", ActorName: "alice", Action: "pipeline.update", TargetType: "pipeline", TargetID: "p1",
		IP: "10.0.0.1", UserAgent: "bench", Result: "success", RequestID: "r1", Details: json.RawMessage(`{"version":2}`)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.AppendAudit(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSaveCheckpoint measures the per-checkpoint write of a running run.
func BenchmarkSaveCheckpoint(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	p, err := s.CreatePipeline(ctx, store.Pipeline{Name: "bench", Spec: "version: 1"})
	if err != nil {
		b.Fatal(err)
	}
	r, err := s.CreateRun(ctx, store.Run{PipelineID: p.ID, PipelineVersion: 1})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.ClaimRun(ctx, r.ID, "w1"); err != nil {
		b.Fatal(err)
	}
	cp := json.RawMessage(`{"sources":{"orders":{"offset":123456,"file":"orders.csv"}},"sinks":{"out":{"bytes":987654}}}`)
	stats := json.RawMessage(`{"orders":{"in":100000,"out":99000,"rejected":1000,"bytes":12345678}}`)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.SaveCheckpoint(ctx, r.ID, "w1", 1, cp, stats); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkListPipelineSummaries measures the first page (20) of 100 saved
// pipelines, each with 3 runs, as GET /api/v1/pipelines lists them, from
// GOMAXPROCS goroutines at once.
func BenchmarkListPipelineSummaries(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	spec := fmt.Sprintf("version: 1\n# %0900d\n", 0)
	for i := range 100 {
		p, err := s.CreatePipeline(ctx, store.Pipeline{Name: fmt.Sprintf("bench-%03d", i), Spec: spec, Schedule: "0 * * * *"})
		if err != nil {
			b.Fatal(err)
		}
		for range 3 {
			if _, err := s.CreateRun(ctx, store.Run{PipelineID: p.ID, PipelineVersion: 1}); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			list, total, err := s.ListPipelineSummaries(ctx, store.PipelineFilter{Page: store.Page{Limit: 20}})
			if err != nil || total != 100 || len(list) != 20 || list[0].LastRun == nil {
				b.Fatalf("list: %d of %d, %v", len(list), total, err)
			}
		}
	})
}

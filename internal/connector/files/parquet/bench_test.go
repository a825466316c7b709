package parquet_test

import (
	"testing"

	"github.com/dataaggregator/aggregator/internal/connector/files/internal/filetest"
	"github.com/dataaggregator/aggregator/internal/connector/files/parquet"
)

const benchRows = 200_000

// BenchmarkRead reads benchRows mixed rows (types from the file) into batches of 1024.
func BenchmarkRead(b *testing.B) {
	c := parquet.New()
	filetest.BenchRead(b, c, c, map[string]any{"path": "bench.parquet"}, benchRows)
}

// BenchmarkWrite writes benchRows mixed rows, committing every 16 batches.
func BenchmarkWrite(b *testing.B) {
	filetest.BenchWrite(b, parquet.New(), map[string]any{"path": "bench.parquet"}, benchRows)
}

package excel_test

import (
	"testing"

	"github.com/dataaggregator/aggregator/internal/connector/files/excel"
	"github.com/dataaggregator/aggregator/internal/connector/files/internal/filetest"
)

const benchRows = 20_000

// BenchmarkRead reads benchRows mixed rows (types inferred) into batches of 1024.
func BenchmarkRead(b *testing.B) {
	c := excel.New()
	filetest.BenchRead(b, c, c, map[string]any{"path": "bench.xlsx"}, benchRows)
}

// BenchmarkWrite writes benchRows mixed rows, committing every 16 batches.
func BenchmarkWrite(b *testing.B) {
	filetest.BenchWrite(b, excel.New(), map[string]any{"path": "bench.xlsx"}, benchRows)
}

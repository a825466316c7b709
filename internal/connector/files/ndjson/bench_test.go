package ndjson_test

import (
	"testing"

	"github.com/dataaggregator/aggregator/internal/connector/files/internal/filetest"
	"github.com/dataaggregator/aggregator/internal/connector/files/ndjson"
)

const benchRows = 200_000

// BenchmarkRead reads benchRows mixed rows (types inferred) into batches of 1024.
func BenchmarkRead(b *testing.B) {
	c := ndjson.New()
	filetest.BenchRead(b, c, c, map[string]any{"path": "bench.ndjson"}, benchRows)
}

// BenchmarkWrite writes benchRows mixed rows, committing every 16 batches.
func BenchmarkWrite(b *testing.B) {
	filetest.BenchWrite(b, ndjson.New(), map[string]any{"path": "bench.ndjson"}, benchRows)
}

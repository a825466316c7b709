package json_test

import (
	"testing"

	"github.com/dataaggregator/aggregator/internal/connector/files/internal/filetest"
	jsonconn "github.com/dataaggregator/aggregator/internal/connector/files/json"
)

const benchRows = 200_000

// BenchmarkRead reads benchRows mixed rows (types inferred) into batches of 1024.
func BenchmarkRead(b *testing.B) {
	c := jsonconn.New()
	filetest.BenchRead(b, c, c, map[string]any{"path": "bench.json", "records_path": "data.items"}, benchRows)
}

// BenchmarkWrite writes benchRows mixed rows, committing every 16 batches.
func BenchmarkWrite(b *testing.B) {
	filetest.BenchWrite(b, jsonconn.New(), map[string]any{"path": "bench.json", "records_path": "data.items"}, benchRows)
}

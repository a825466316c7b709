package xml_test

import (
	"testing"

	"github.com/dataaggregator/aggregator/internal/connector/files/internal/filetest"
	xmlconn "github.com/dataaggregator/aggregator/internal/connector/files/xml"
)

const benchRows = 100_000

// BenchmarkRead reads benchRows mixed rows (types inferred) into batches of 1024.
func BenchmarkRead(b *testing.B) {
	c := xmlconn.New()
	filetest.BenchRead(b, c, c, map[string]any{"path": "bench.xml", "record_path": "orders/order"}, benchRows)
}

// BenchmarkWrite writes benchRows mixed rows, committing every 16 batches.
func BenchmarkWrite(b *testing.B) {
	filetest.BenchWrite(b, xmlconn.New(), map[string]any{"path": "bench.xml", "record_path": "orders/order"}, benchRows)
}

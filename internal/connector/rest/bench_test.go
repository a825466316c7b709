package rest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/connector/rest/internal/apitest"
)

const benchRecords, benchPage = 100_000, 1000

// BenchmarkRead reads 100,000 records, 1,000 per page, from a local API into batches; compare with
// BenchmarkBareClient over the same pages in the same run (bench/rest.sh measures 1,000,000 into
// NDJSON through `aggregator run`).
func BenchmarkRead(b *testing.B) {
	srv := apitest.Pages(b, benchRecords)
	cfg := map[string]any{"url": srv.URL + "/items", "params": map[string]any{"offset": 0, "limit": benchPage},
		"records_path": "data", "pagination": map[string]any{"type": "next_url", "path": "next"}}
	env := guardEnv(b)
	b.ReportAllocs()
	for b.Loop() {
		r, err := New().Open(b.Context(), env, cfg, connector.ReadRequest{})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			bt, err := r.Next(b.Context())
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n += len(bt.Rows)
		}
		r.Close()
		if n != benchRecords {
			b.Fatalf("read %d records", n)
		}
	}
	b.ReportMetric(float64(benchRecords)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkBareClient is the floor: net/http and encoding/json into typed structs over the same pages.
func BenchmarkBareClient(b *testing.B) {
	srv := apitest.Pages(b, benchRecords)
	type rec struct {
		ID        int64   `json:"id"`
		Name      string  `json:"name"`
		Email     string  `json:"email"`
		Amount    float64 `json:"amount"`
		Active    bool    `json:"active"`
		UpdatedAt string  `json:"updated_at"`
	}
	b.ReportAllocs()
	for b.Loop() {
		next, n := fmt.Sprintf("/items?offset=0&limit=%d", benchPage), 0
		for next != "" {
			resp, err := http.Get(srv.URL + next)
			if err != nil {
				b.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				b.Fatal(err)
			}
			var p struct {
				Data []rec   `json:"data"`
				Next *string `json:"next"`
			}
			if err := json.Unmarshal(body, &p); err != nil {
				b.Fatal(err)
			}
			n += len(p.Data)
			next = ""
			if p.Next != nil {
				next = *p.Next
			}
		}
		if n != benchRecords {
			b.Fatalf("read %d records", n)
		}
	}
	b.ReportMetric(float64(benchRecords)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

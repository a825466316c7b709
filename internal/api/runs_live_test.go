package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/auth"
	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/engine"
	"github.com/dataaggregator/aggregator/internal/record"
	"github.com/dataaggregator/aggregator/internal/runs"
)

// heldSource ("held") emits rows 1..rows in batches of 10; after `hold` rows it waits until the
// test closes release (or the run is cancelled): a slow source the test controls.
type heldSource struct{ release chan struct{} }

var heldSchema = record.MustSchema(record.Field{Name: "id", Kind: record.KindInt})

func (heldSource) Spec() connector.Spec {
	return connector.Spec{Name: "held", Source: true, Config: configspec.Spec{Params: []configspec.Param{
		{Name: "rows", Type: configspec.Integer, Required: true},
		{Name: "hold", Type: configspec.Integer, Required: true},
	}}}
}

func (h heldSource) Open(_ context.Context, _ connector.Env, cfg map[string]any, _ connector.ReadRequest) (connector.Reader, error) {
	num := func(k string) int64 {
		switch v := cfg[k].(type) {
		case int64:
			return v
		case uint64:
			return int64(v)
		case float64:
			return int64(v)
		case int:
			return int64(v)
		}
		return 0
	}
	return &heldReader{h: h, rows: num("rows"), hold: num("hold")}, nil
}

type heldReader struct {
	h                heldSource
	next, rows, hold int64
}

func (r *heldReader) Schema() *record.Schema { return heldSchema }
func (r *heldReader) Next(ctx context.Context) (*record.Batch, error) {
	if r.next == r.hold {
		select {
		case <-r.h.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if r.next >= r.rows {
		return nil, io.EOF
	}
	b := record.NewBuilder(heldSchema, 10)
	for i := 0; i < 10 && r.next < r.rows; i++ {
		r.next++
		b.Row(r.next)[0] = record.Int(r.next)
	}
	return b.Take(), nil
}
func (r *heldReader) State() (json.RawMessage, error) { return json.Marshal(r.next) }
func (r *heldReader) Close() error                    { return nil }

// TestRunningRunShowsLiveCounters: while a source is held mid-way, GET /runs/{id} shows the rows
// that went through each node and a rate, although no checkpoint was saved since the run started
// (the stored counters are still zero); after the run, the stored counters are the final ones.
func TestRunningRunShowsLiveCounters(t *testing.T) {
	held := heldSource{release: make(chan struct{})}
	e := setup(t, setupOptions{connectors: []connector.Connector{held}, runOpts: func(o *runs.Options) {
		o.CommitInterval = time.Hour // no checkpoint but the first until the end
		o.ProgressInterval = 50 * time.Millisecond
	}})
	designer := e.tokens[auth.RoleDesigner]
	spec := `version: 1
name: held
sources: [{id: src, type: held, config: {rows: 100, hold: 40}}]
destinations: [{id: out, type: csv, inputs: [src], config: {path: held.csv}, write: {mode: overwrite}}]
`
	r := e.do(http.MethodPost, "/api/v1/pipelines", designer, spec)
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var p Pipeline
	r.decode(t, &p)
	var run Run
	e.do(http.MethodPost, "/api/v1/pipelines/"+p.ID+"/run", designer, nil).decode(t, &run)
	defer close(held.release)

	deadline := time.Now().Add(30 * time.Second)
	for {
		var got Run
		e.do(http.MethodGet, "/api/v1/runs/"+run.ID, e.tokens[auth.RoleViewer], nil).decode(t, &got)
		if n := nodesByID(got); got.Status == "running" && n["src"].Out == 40 && n["out"].In == 40 {
			if got.RowsPerSecond == nil || got.CountersAt == nil {
				t.Errorf("live run lacks rows_per_second or counters_at: %+v", got)
			}
			if got.CountersAt != nil && time.Since(*got.CountersAt) > 5*time.Second {
				t.Errorf("live counters taken at %s, more than 5s ago", got.CountersAt)
			}
			// the queue between the nodes comes with the counters (the run page's meter after a refetch)
			if len(got.Buffers) != 1 || got.Buffers[0].From != "src" || got.Buffers[0].To != "out" || got.Buffers[0].Cap <= 0 {
				t.Errorf("live run's buffers = %+v, want the queue from src to out", got.Buffers)
			}
			break
		}
		if got.Status != "running" && got.Status != "queued" {
			t.Fatalf("run ended %s while its source was held: %+v", got.Status, got)
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET never showed the 40 rows read so far: %+v", got)
		}
		time.Sleep(20 * time.Millisecond) // polling interval of a bounded loop
	}
	// The stored counters are those of the first checkpoint: no other was saved yet.
	stored, err := e.store.GetRun(context.Background(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	var nodes []engine.NodeStats
	if err := json.Unmarshal(stored.NodeStats, &nodes); err != nil {
		t.Fatalf("stored node stats %s: %v", stored.NodeStats, err)
	}
	for _, n := range nodes {
		if n.In != 0 || n.Out != 0 {
			t.Fatalf("a checkpoint was saved while the source was held (stored %+v): the test proves nothing", nodes)
		}
	}

	held.release <- struct{}{}
	final := e.awaitRun(run.ID)
	if n := nodesByID(final); final.Status != "succeeded" || n["src"].Out != 100 || n["out"].Out != 100 || final.RowsPerSecond != nil || final.Buffers != nil {
		t.Fatalf("finished run = %+v", final)
	}
}

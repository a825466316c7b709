package api

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/auth"
	"github.com/dataaggregator/aggregator/internal/store"
)

// TestWorkersAPI: GET /api/v1/workers lists registered workers with the shape the Workers page reads
// and their status: alive (heartbeat within the lease), stopped, dead (heartbeat older than the
// lease); workers gone for more than an hour are not listed.
func TestWorkersAPI(t *testing.T) {
	t.Parallel()
	e := setup(t, setupOptions{})
	ctx := context.Background()
	for _, w := range []store.Worker{
		{ID: "h-1-alive", Host: "h", PID: 1, Version: "v1", Queues: []string{"runs", "maintenance"}, Concurrency: 2},
		{ID: "h-2-stopped", Host: "h", PID: 2, Version: "v1", Queues: []string{"runs"}, Concurrency: 1},
		{ID: "h-3-dead", Host: "h", PID: 3, Version: "v1", Queues: []string{"runs"}, Concurrency: 4},
	} {
		if _, err := e.store.RegisterWorker(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.store.WorkerHeartbeat(ctx, "h-1-alive", 1); err != nil {
		t.Fatal(err)
	}
	if err := e.store.StopWorker(ctx, "h-2-stopped"); err != nil {
		t.Fatal(err)
	}
	// h-3 stops sending heartbeats: its heartbeat is made two minutes old (the test lease is 1m).
	if _, err := e.store.DB().ExecContext(ctx, `UPDATE workers SET heartbeat_at = $1 WHERE id = 'h-3-dead'`,
		time.Now().UTC().Add(-2*time.Minute).Format(time.RFC3339Nano)); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Items []Worker `json:"items"`
	}
	e.do(http.MethodGet, "/api/v1/workers", e.tokens[auth.RoleExecutor], nil).decode(t, &got)
	status := map[string]Worker{}
	for _, w := range got.Items {
		status[w.ID] = w
	}
	if len(got.Items) != 3 || status["h-1-alive"].Status != "alive" || status["h-2-stopped"].Status != "stopped" ||
		status["h-3-dead"].Status != "dead" {
		t.Fatalf("workers = %+v", got.Items)
	}
	a := status["h-1-alive"]
	if a.Running != 1 || a.Concurrency != 2 || len(a.Queues) != 2 || a.PID != 1 || a.Host != "h" || a.LastHeartbeat.IsZero() || a.StartedAt.IsZero() {
		t.Fatalf("alive worker = %+v", a)
	}
	if r := e.do(http.MethodGet, "/api/v1/workers", e.tokens[auth.RoleViewer], nil); r.status != http.StatusForbidden {
		t.Fatalf("viewer: %d", r.status)
	}
}

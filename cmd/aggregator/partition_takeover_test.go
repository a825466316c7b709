package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dataaggregator/aggregator/internal/runs"
	"github.com/dataaggregator/aggregator/internal/store"
)

// TestKilledWorkerHandsOverChunks: a 200,000-row PostgreSQL -> PostgreSQL upsert partitioned into 4
// chunks runs on two `aggregator worker` processes; the worker running a chunk that has committed a
// checkpoint is killed (-9). Its chunk is taken over after the lease (by the other worker or the
// replacement) and resumes from its own checkpoint; the run succeeds once and the table holds ids
// 1..N exactly once with the source's checksum.
func TestKilledWorkerHandsOverChunks(t *testing.T) {
	tk := newTakeover(t)
	tk.spawn()
	tk.spawn()
	dataURL := tk.dataURL()
	spec := fmt.Sprintf(`version: 1
name: partitioned-takeover
sources:
  - id: src
    type: postgres
    config: {url: %q, table: src, partition: {key: id, chunks: 4}}
destinations:
  - id: dst
    type: postgres
    inputs: [src]
    config: {url: %q, table: dst}
    write: {mode: upsert, key: [id]}
`, dataURL, dataURL)
	ctx := context.Background()
	p, err := tk.st.CreatePipeline(ctx, store.Pipeline{Name: "partitioned-takeover", Spec: spec, CreatedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	run, err := tk.svc.Start(ctx, p.ID, 0, "manual", runs.Actor{Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	// a running chunk with a committed checkpoint (polled: the workers are other processes)
	var victim store.Chunk
	deadline := time.Now().Add(60 * time.Second)
	for victim.WorkerID == "" {
		cs, err := tk.st.ListChunks(ctx, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			if c.Status == store.RunRunning && len(c.Checkpoint) > 0 && c.RowsRead < 50_000 {
				victim = c
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no chunk running with a checkpoint within 60s: %+v\n%s", cs, tk.logs())
		}
		time.Sleep(10 * time.Millisecond)
	}
	w := tk.childOf(victim.WorkerID)
	if w == nil {
		t.Fatalf("no child runs chunk %d (worker %s)", victim.Idx, victim.WorkerID)
	}
	if err := w.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-w.exited
	tk.spawn()
	final := tk.waitRun(run.ID, "finished", 120*time.Second, func(r store.Run) bool { return r.Status.Terminal() })
	if final.Status != store.RunSucceeded {
		t.Fatalf("run ended %s: %s\n%s", final.Status, final.Error, tk.logs())
	}
	tk.checkTable()
	cs, err := tk.st.ListChunks(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	taken := cs[victim.Idx]
	if taken.Attempt < 2 || taken.WorkerID == victim.WorkerID || taken.Status != store.RunSucceeded {
		t.Errorf("chunk %d after the kill: %s in attempt %d on %s; want succeeded in a later attempt on another worker", taken.Idx, taken.Status, taken.Attempt, taken.WorkerID)
	}
	logs, _, err := tk.st.ListLogs(ctx, store.LogFilter{RunID: run.ID, Page: store.Page{Limit: 500}})
	if err == nil {
		resumed := false
		for _, l := range logs {
			if strings.Contains(l.Message, fmt.Sprintf("chunk %d (", victim.Idx)) && strings.Contains(l.Message, "resuming from its last checkpoint") {
				resumed = true
			}
		}
		if !resumed {
			t.Errorf("chunk %d did not resume from its checkpoint (run log has no such line)", victim.Idx)
		}
	}
}

// childOf is the child whose worker id (host-pid-random) is id.
func (tk *takeover) childOf(id string) *worker {
	parts := strings.Split(id, "-")
	if len(parts) < 3 {
		return nil
	}
	pid, err := strconv.Atoi(parts[len(parts)-2])
	if err != nil {
		return nil
	}
	tk.mu.Lock()
	defer tk.mu.Unlock()
	return tk.children[pid]
}

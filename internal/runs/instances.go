package runs

import (
	"encoding/json"
	"sync"
	"time"

	"github.com/dataaggregator/aggregator/internal/engine"
	"github.com/dataaggregator/aggregator/internal/store"
)

// EventInstance carries the state of one consumer instance of a streaming run (Event.Instance):
// every PositionInterval, its throughput and, per partition of its sources, the committed
// position and the lag (connector.PositionReporter).
const EventInstance = "run.instance"

// InstanceEvent is one instance's report in an EventInstance. Idx is the instance (0 for a run
// that is not deployed with parallelism).
type InstanceEvent struct {
	Idx      int    `json:"idx"`
	WorkerID string `json:"worker_id,omitempty"`
	Attempt  int    `json:"attempt"`
	// RowsRead and RowsWritten count this instance's rows since it started; RowsPerSecond is its
	// read rate over the last second or more.
	RowsRead      int64   `json:"rows_read"`
	RowsWritten   int64   `json:"rows_written"`
	RowsPerSecond float64 `json:"rows_per_second"`
	// Partitions are the partitions its sources read, in source order.
	Partitions []PartitionPosition `json:"partitions"`
	// PartitionsOmitted is how many partitions were left out to keep the event small.
	PartitionsOmitted int `json:"partitions_omitted,omitempty"`
	// Errors are the sources that could not report their positions, with why.
	Errors []string `json:"errors,omitempty"`
}

// PartitionPosition is the committed position and lag of one partition a source reads.
type PartitionPosition struct {
	// Source is the source node's id; Partition names the partition in the source's terms.
	Source    string `json:"source"`
	Partition string `json:"partition"`
	// Committed is the position committed to the broker, in its terms (empty: none kept).
	Committed string `json:"committed,omitempty"`
	// Lag is how far Committed is behind the end of the partition, in LagUnit (records or bytes);
	// -1 when not known yet.
	Lag     int64  `json:"lag"`
	LagUnit string `json:"lag_unit"`
	// RowsPerSecond is the committed records per second since the previous report (0 when the
	// source's position is not a record count).
	RowsPerSecond float64 `json:"rows_per_second"`
}

// maxEventPartitions bounds the partitions of one EventInstance (the PostgreSQL bus carries at
// most 8,000 bytes per event).
const maxEventPartitions = 48

// instanceReporter turns an engine run's progress and source positions into EventInstance events.
// Progress and Positions are called from different goroutines.
type instanceReporter struct {
	s   *Service
	run store.Run
	ev  InstanceEvent

	// save, when set, keeps each report on the instance's chunk (a deployment's instances).
	save func(json.RawMessage)

	mu   sync.Mutex
	prev map[string]prevOffset // source/partition -> the previous report's offset
}

type prevOffset struct {
	off int64
	at  time.Time
}

func newInstanceReporter(s *Service, run store.Run, idx int, worker string, attempt int) *instanceReporter {
	return &instanceReporter{s: s, run: run, ev: InstanceEvent{Idx: idx, WorkerID: worker, Attempt: attempt}, prev: map[string]prevOffset{}}
}

// progress records the instance's counters (called with every engine progress snapshot).
func (r *instanceReporter) progress(p engine.Progress, perSec float64) {
	r.mu.Lock()
	r.ev.RowsRead, r.ev.RowsWritten, r.ev.RowsPerSecond = p.RowsRead, p.RowsWritten, perSec
	r.mu.Unlock()
}

// positions publishes one EventInstance with the sources' positions (engine.Options.Positions).
func (r *instanceReporter) positions(sps []engine.SourcePositions) {
	now := r.s.now()
	r.mu.Lock()
	ev := r.ev
	ev.Partitions, ev.Errors = nil, nil
	for _, sp := range sps {
		if sp.Error != "" {
			ev.Errors = append(ev.Errors, sp.Node+": "+sp.Error)
		}
		for _, p := range sp.Partitions {
			pp := PartitionPosition{Source: sp.Node, Partition: p.Partition, Committed: p.Committed, Lag: p.Lag, LagUnit: p.LagUnit}
			key := sp.Node + "\x00" + p.Partition
			if p.Offset >= 0 {
				if prev, ok := r.prev[key]; ok && now.After(prev.at) && p.Offset >= prev.off {
					pp.RowsPerSecond = float64(p.Offset-prev.off) / now.Sub(prev.at).Seconds()
				}
				r.prev[key] = prevOffset{off: p.Offset, at: now}
			}
			if len(ev.Partitions) < maxEventPartitions {
				ev.Partitions = append(ev.Partitions, pp)
			} else {
				ev.PartitionsOmitted++
			}
		}
	}
	r.mu.Unlock()
	if r.save != nil {
		if raw, err := json.Marshal(storedReport{InstanceEvent: ev, At: now}); err == nil {
			r.save(raw)
		}
	}
	r.s.publish(Event{Type: EventInstance, RunID: r.run.ID, PipelineID: r.run.PipelineID, Status: store.RunRunning, Instance: &ev, Time: now})
}

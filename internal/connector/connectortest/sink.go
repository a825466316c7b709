// Package connectortest holds test doubles for tests of connectors run through the engine.
package connectortest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dataaggregator/aggregator/internal/configspec"
	"github.com/dataaggregator/aggregator/internal/connector"
	"github.com/dataaggregator/aggregator/internal/record"
)

// Sink is a destination of type "sink" for tests: it keeps the int field "n" of every row it is
// given, and the rows become visible (Rows) when committed. It can refuse its commits (FailCommit)
// and write slowly (Delay); Writes counts the rows written, committed or not.
type Sink struct {
	FailCommit bool
	Delay      time.Duration
	Writes     atomic.Int64

	mu        sync.Mutex
	pending   []int64
	committed []int64
}

var (
	_ connector.Destination = (*Sink)(nil)
	_ connector.Writer      = (*Sink)(nil)
)

type sinkConfig struct{}

var sinkSpec = configspec.Describe(func(*sinkConfig, *configspec.Builder) {})

// Spec is the sink's spec: a destination named "sink" without configuration, append only.
func (s *Sink) Spec() connector.Spec {
	return connector.Spec{Name: "sink", Destination: true, Config: sinkSpec, WriteModes: []connector.WriteMode{connector.Append}}
}

// OpenWriter returns the sink itself.
func (s *Sink) OpenWriter(context.Context, connector.Env, map[string]any, connector.WriteRequest) (connector.Writer, error) {
	return s, nil
}

// Write keeps the rows' field "n" until the next Commit, after Delay.
func (s *Sink) Write(ctx context.Context, b *record.Batch) error {
	if s.Delay > 0 {
		select { // a slow destination
		case <-time.After(s.Delay):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i := b.Schema.Index("n")
	for _, r := range b.Rows {
		s.pending = append(s.pending, r[i].AsInt())
	}
	s.Writes.Add(int64(len(b.Rows)))
	return nil
}

// Commit makes the written rows visible, or fails with FailCommit while it holds some.
func (s *Sink) Commit(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.FailCommit && len(s.pending) > 0 {
		return errors.New("disk full")
	}
	s.committed = append(s.committed, s.pending...)
	s.pending = nil
	return nil
}

// Close commits.
func (s *Sink) Close(ctx context.Context) error { return s.Commit(ctx) }

// Abort drops nothing: uncommitted rows are never visible anyway.
func (s *Sink) Abort(context.Context) error { return nil }

// Rows are the committed values of "n", in commit order.
func (s *Sink) Rows() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int64(nil), s.committed...)
}

package runs

import "time"

// Observer receives the queue's timings (internal/app turns them into Prometheus metrics). Its
// methods are called from worker goroutines and must be safe for concurrent use.
type Observer interface {
	// JobWaited: a run waited d between being queued (its job inserted) and being claimed.
	JobWaited(d time.Duration)
	// JobRan: an attempt of a run ran for d (claim to recorded outcome).
	JobRan(d time.Duration)
	// PeriodicRan: a periodic task ran for d and ended with err.
	PeriodicRan(task string, d time.Duration, err error)
}

type queueStats struct{ o Observer }

func (s *queueStats) waited(d time.Duration) {
	if s.o != nil {
		s.o.JobWaited(max(0, d))
	}
}

func (s *queueStats) ran(d time.Duration) {
	if s.o != nil {
		s.o.JobRan(d)
	}
}

func (s *queueStats) periodic(name string, d time.Duration, err error) {
	if s.o != nil {
		s.o.PeriodicRan(name, d, err)
	}
}

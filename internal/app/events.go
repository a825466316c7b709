package app

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dataaggregator/aggregator/internal/bus"
	"github.com/dataaggregator/aggregator/internal/runs"
	"github.com/dataaggregator/aggregator/internal/store"
)

// Kinds of event bus, as the "serving" log line names them.
const (
	EventsInProcess = "in-process"
	EventsPostgres  = "postgres"
	EventsRedis     = "redis"
)

// buildEvents picks the bus that carries run events between the processes that share the store:
// in process on SQLite (one process owns the store), Redis pub/sub when REDIS_URL is set,
// PostgreSQL LISTEN/NOTIFY on the store's database otherwise.
func (a *App) buildEvents(ctx context.Context) error {
	switch {
	case a.store.Dialect() == store.SQLite:
		a.events, a.eventsKind = runs.NewBroker(), EventsInProcess
	case a.redis != nil:
		b, err := bus.NewRedis(ctx, bus.RedisOptions{Client: a.redis, Prefix: a.redisPrefix, Logger: a.log})
		if err != nil {
			return err
		}
		a.events, a.eventsKind, a.closeEvents = b, EventsRedis, b.Close
	default:
		_, dsn := a.cfg.Database()
		b, err := bus.NewPostgres(ctx, bus.PostgresOptions{DSN: dsn, Logger: a.log})
		if err != nil {
			return err
		}
		a.events, a.eventsKind, a.closeEvents = b, EventsPostgres, b.Close
	}
	return nil
}

// Events is the run event bus and its kind (EventsInProcess, EventsPostgres or EventsRedis).
func (a *App) Events() (runs.Bus, string) { return a.events, a.eventsKind }

// registerEventMetrics exports what the bus lost: events this process published that never left
// it (outbox full, connection down) and events its subscribers (the live hub) did not take in time.
func registerEventMetrics(reg prometheus.Registerer, b runs.Bus) error {
	lost := func() float64 { return 0 }
	if l, ok := b.(interface{ Lost() int64 }); ok {
		lost = func() float64 { return float64(l.Lost()) }
	}
	dropped := func() float64 { return 0 }
	if d, ok := b.(interface{ Dropped() int64 }); ok {
		dropped = func() float64 { return float64(d.Dropped()) }
	}
	for _, c := range []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "aggregator", Name: "run_events_lost_total",
			Help: "Run events this process published that the event bus did not send (outbox full or connection down)."}, lost),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "aggregator", Name: "run_events_dropped_total",
			Help: "Run events this process's subscribers (the live-update hub) did not take in time."}, dropped),
	} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

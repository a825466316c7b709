// Package runs is the run service: it turns a saved pipeline version into a run and executes it.
//
//   - Service.Start checks the pipeline version, then, in one store transaction (store.InTx),
//     records a queued run of it and hands the run to the Queue (Queue.Enqueue with the
//     transaction: River's InsertTx), so a run never exists without its job. Service.Cancel cancels
//     a queued run at once, or flags a running one and tells the Queue (Queue.Cancel).
//   - The Queue owns everything between "queued" and the outcome: claiming (within the pipeline's
//     policy.max_concurrent_runs), the lease of a running run (heartbeats, which also carry cancel
//     requests from other processes), recording the outcome and each attempt, retries of retryable
//     failures (policy.retries, with backoff and jitter), taking over runs whose worker stopped
//     sending heartbeats (every write of an attempt fenced by worker and attempt), and giving up
//     after MaxAttempts attempts. River is the Queue: one River job per attempt in the "runs" queue,
//     periodic tasks (PeriodicTask) in the "maintenance" queue inserted by River's elected leader;
//     shutdown is two-phase (stop fetching, let running runs finish, then interrupt them without
//     discarding their staged output and queue them again).
//   - The executor (Service.execute, called by the Queue) runs one claimed run with the engine: a
//     store-backed Checkpointer fenced by the claiming worker, a store-backed dead-letter sink, run
//     log lines (store.AppendLogs) and progress Events with rows per second; it reports how the
//     attempt ended and the Queue records it.
//   - Events go to a Bus (Options.Events), which numbers each run's events across processes
//     (SeqQueued: the creation event is 1, the bus gives 2, 3, ...), delivers them to the
//     subscribers of every process (Subscribe with a filter) and keeps the latest progress event
//     of each running run (Service.Live: counters between checkpoints). Broker is the in-process
//     Bus; package bus has the PostgreSQL and Redis ones.
//   - Triggers (triggers.go): a run records what started it (Trigger* kinds and a TriggerDetail);
//     StartRun is Start with them. When the Queue records a success (finishRun), the same
//     transaction creates one run (trigger "dependency") of every pipeline that runs after the
//     run's pipeline (the spec's triggers.after), so each success starts its dependents once.
//   - Resolver resolves `connector:` and `transformation:` references of a spec through the store.
//
// Everything is safe for concurrent use. The package knows nothing of HTTP.
package runs

// Package runs is the run service: it turns a saved pipeline version into a run and executes it.
//
//   - Service.Start records a queued run of a pipeline version (the run keeps the version it ran)
//     and hands it to a Queue. Service.Cancel cancels a queued run at once, or flags a running one:
//     the worker that runs it cancels the engine (writers are aborted) and records "cancelled".
//   - Executor.Execute runs one claimed run with the engine: a store-backed Checkpointer
//     (store.SaveCheckpoint with the node counters after every engine checkpoint), a store-backed
//     dead-letter sink, a heartbeat that also picks up cancel requests, run log lines
//     (store.AppendLogs) and progress Events. It is what a queue's worker calls; River can call it
//     from a job as the in-process Dispatcher does.
//   - Dispatcher is the in-process Queue: N worker goroutines claim queued runs oldest first. On
//     start it requeues runs whose heartbeat went stale (their process died); they resume from their
//     last checkpoint. Shutdown is two-phase: stop claiming and let running runs finish, then, after
//     the drain timeout, interrupt them without discarding their staged output and put them back in
//     the queue, so the next start resumes them from their last checkpoint.
//   - Events go to a Publisher; Broker is the in-process fan-out (Subscribe with a filter).
//   - Resolver resolves `connector:` and `transformation:` references of a spec through the store.
//
// Everything is safe for concurrent use. The package knows nothing of HTTP.
package runs

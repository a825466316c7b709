// Package schedules fires pipeline schedules: Service.Tick, called every minute by the queue's
// elected leader (a River periodic job), starts one run with trigger "schedule" for each tick of
// each pipeline's cron schedule that came due since the last tick it handled.
//
//   - Exactly once: the tick is recorded (store.Tx.ClaimScheduleTick, primary key pipeline and
//     tick time) in the transaction that creates the run and its job (runs.Service.StartGuarded);
//     a second process handling the same tick finds it taken and rolls its run back. No lock.
//   - A tick is on time while it is less than Options.Grace old; older ticks were missed (the
//     server was down): misfire skip drops them, misfire run_once starts one catch-up run for all
//     of them, keyed by the latest.
//   - Ticks are computed by robfig/cron in the pipeline's time zone: a tick in an hour skipped by a
//     DST change does not happen, a tick in a repeated hour happens twice (two instants).
//   - Paused schedules are not read; a resumed or changed schedule counts its ticks from then.
//
// Safe for concurrent use; knows nothing of HTTP or of River.
package schedules

import type { Run } from './queries'

/** The run's duration: recorded, or from start to now while it runs. */
export function runDuration(run: Run, now: number): number | null {
  if (run.status === 'running' && run.started_at) return Math.max(0, now - Date.parse(run.started_at))
  if (run.duration_ms != null) return run.duration_ms
  if (run.started_at && run.finished_at) return Date.parse(run.finished_at) - Date.parse(run.started_at)
  return null
}

/** Rows read by the run's sources. */
export const rowsRead = (run: Run) => run.nodes.filter((n) => n.kind === 'source').reduce((a, n) => a + n.out, 0)
/** Rows written by the run's destinations. */
export const rowsWritten = (run: Run) => run.nodes.filter((n) => n.kind === 'destination').reduce((a, n) => a + n.out, 0)
/** Rows rejected by any node. */
export const rowsRejected = (run: Run) => run.nodes.reduce((a, n) => a + n.rejected, 0)

/**
 * The last eight characters of an id: run ids are UUIDv7, whose first eight characters are the top of
 * a millisecond clock (the same for every run of the same minute); the last ones are random.
 */
export const shortId = (id: string) => (id.length > 10 ? id.slice(-8) : id)

const triggers: Record<string, string> = {
  api: 'API', manual: 'Manual', schedule: 'Schedule', replay: 'Replay', cli: 'CLI', webhook: 'Webhook', dependency: 'Dependency',
}
/** How the run was started, as a word. */
export const triggerLabel = (t: string) => triggers[t] ?? (t ? t.charAt(0).toUpperCase() + t.slice(1) : 'Manual')

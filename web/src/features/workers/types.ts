// The worker processes of the run queue, as GET /api/v1/workers lists them. Written by hand until
// the route is in the generated API types (src/api/schema.d.ts); then these become aliases of
// Schemas['Worker'].

export type WorkerStatus = 'alive' | 'stopped' | 'dead'

export interface Worker {
  id: string
  host: string
  pid: number
  version: string
  queues: string[]
  /** Runs it executes at once. */
  concurrency: number
  /** Runs it was executing at its last heartbeat. */
  running: number
  started_at: string
  last_heartbeat: string
  status: WorkerStatus
  stopped_at?: string | null
}

export interface WorkerList {
  items: Worker[]
}

/** How a run's attempt ended (GET /api/v1/runs/{id} `attempts`). */
export interface RunAttempt {
  number: number
  worker_id: string
  started_at: string
  finished_at?: string | null
  outcome: string
  error: string
}

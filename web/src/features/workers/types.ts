// The worker processes of the run queue (GET /api/v1/workers) and a run's attempts
// (GET /api/v1/runs/{id} `attempts`), as the generated API types say.
import type { Schemas } from '@/api/client'

export type Worker = Schemas['Worker']
export type WorkerStatus = Worker['status']
export type WorkerList = Schemas['WorkersOutputBody']
/** How a run's attempt ended. */
export type RunAttempt = Schemas['RunAttempt']

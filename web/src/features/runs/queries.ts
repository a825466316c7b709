// Server state of the runs area: query keys, fetchers and the pure functions that fold live events
// into cached data (tested in queries.test.ts). Pages use the hooks; useLive.ts keeps them fresh.
import { useQuery, keepPreviousData } from '@tanstack/react-query'
import { api, unwrap, rawFetch, ensureOk, type Schemas } from '@/api/client'
import type { RunEvent } from '@/lib/live'
import { parse as parseYAML } from 'yaml'
import type { PipelineSpec } from '@/features/graph'
import { nodeRates } from './rates'

/**
 * A run; node_rates (rows/s per node) is computed on the client from successive live snapshots, and
 * chunk_rates (rows/s per chunk of a partitioned run) comes with its run.chunk events.
 */
export type Run = Schemas['Run'] & {
  node_rates?: Record<string, number>
  chunk_rates?: Record<number, number>
  /** The deployment is built from live run.instance events only (a streaming run without parallelism). */
  live_only?: boolean
}
export type RunChunk = Schemas['RunChunk']
export type Deployment = Schemas['DeploymentView']
export type Instance = Schemas['InstanceView']
export type PartitionPosition = Schemas['PartitionPosition']
export type RunPage = Schemas['PageRun']
export type RunLogLine = Schemas['RunLogLine']
export type RunOutput = Schemas['RunOutput']
export type NodeStats = Schemas['NodeStats']
export type RunStatus = Run['status']

export const RUN_STATUSES: RunStatus[] = ['queued', 'running', 'awaiting_approval', 'succeeded', 'failed', 'cancelled']
export const isActive = (s?: RunStatus) => s === 'queued' || s === 'running'

export interface RunFilters {
  pipeline?: string
  status?: RunStatus[]
  from?: string
  to?: string
  page?: number
}

export const runKeys = {
  lists: ['runs', 'list'] as const,
  list: (f: RunFilters) => ['runs', 'list', f] as const,
  run: (id: string) => ['run', id] as const,
  logs: (id: string) => ['run', id, 'logs'] as const,
  deadLetters: (id: string) => ['run', id, 'dead-letters'] as const,
  outputs: (id: string) => ['run', id, 'outputs'] as const,
  pipelineNames: ['pipelines', 'names'] as const,
}

export const PER_PAGE = 50

export function useRuns(f: RunFilters, pollWhileActive: boolean) {
  return useQuery({
    queryKey: runKeys.list(f),
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/runs', {
          params: {
            query: {
              page: f.page ?? 1,
              per_page: PER_PAGE,
              pipeline_id: f.pipeline || undefined,
              status: f.status?.length ? f.status : undefined,
              from: f.from || undefined,
              to: f.to || undefined,
            },
          },
          querySerializer: { array: { style: 'form', explode: false } },
        }),
      ),
    placeholderData: keepPreviousData,
    // Without live updates: every 3 s while a listed run is active, else every 15 s (new runs).
    refetchInterval: (q) => (!pollWhileActive ? false : q.state.data?.items.some((r) => isActive(r.status)) ? 3000 : 15_000),
  })
}

export function useRun(id: string, pollWhileActive: boolean) {
  return useQuery({
    queryKey: runKeys.run(id),
    queryFn: () => unwrap(api.GET('/api/v1/runs/{id}', { params: { path: { id } } })),
    // Without live updates every 1.5 s while the run is active; with them, every 10 s as a safety net
    // (an event lost between two processes, a socket that went quiet).
    refetchInterval: (q) => (isActive(q.state.data?.status) ? (pollWhileActive ? 1500 : 10_000) : false),
  })
}

/** Names of every pipeline (id -> name), for the runs list and its filter. */
export function usePipelineNames() {
  return useQuery({
    queryKey: runKeys.pipelineNames,
    queryFn: async () => {
      const out: Array<{ id: string; name: string }> = []
      for (let page = 1; page < 50; page++) {
        const p = await unwrap(api.GET('/api/v1/pipelines', { params: { query: { page, per_page: 200 } } }))
        out.push(...p.items.map((x) => ({ id: x.id, name: x.name })))
        if (out.length >= p.total || p.items.length === 0) break
      }
      return out.sort((a, b) => a.name.localeCompare(b.name))
    },
    staleTime: 60_000,
  })
}

export const LOG_TAIL = 500

/** The last LOG_TAIL lines of a run's log (the API pages oldest first), with the total. */
export async function fetchLogTail(id: string): Promise<{ lines: RunLogLine[]; total: number }> {
  const per = 200
  const get = (page: number) => unwrap(api.GET('/api/v1/runs/{id}/logs', { params: { path: { id }, query: { page, per_page: per } } }))
  const first = await get(1)
  const total = first.total
  const pages = Math.max(1, Math.ceil(total / per))
  if (pages === 1) return { lines: first.items, total }
  const want = Math.ceil(LOG_TAIL / per)
  const from = Math.max(2, pages - want + 1)
  const rest = await Promise.all(Array.from({ length: pages - from + 1 }, (_, i) => get(from + i)))
  const lines = rest.flatMap((p) => p.items)
  return { lines: lines.slice(-LOG_TAIL), total }
}

/** A dead letter as GET /runs/{id}/dead-letters?format=ndjson gives it. */
export interface DeadLetter {
  id?: number
  node?: string
  source?: string
  line?: number
  field?: string
  reason: string
  raw?: string
  values?: Record<string, string>
}

export function parseNDJSON<T>(text: string): T[] {
  const out: T[] = []
  for (const line of text.split('\n')) {
    const s = line.trim()
    if (s) out.push(JSON.parse(s) as T)
  }
  return out
}

export async function fetchDeadLetters(id: string): Promise<DeadLetter[]> {
  const res = await ensureOk(await rawFetch(`/api/v1/runs/${encodeURIComponent(id)}/dead-letters?format=ndjson`))
  return parseNDJSON<DeadLetter>(await res.text())
}

export async function fetchOutputs(id: string): Promise<RunOutput[]> {
  return (await unwrap(api.GET('/api/v1/runs/{id}/outputs', { params: { path: { id } } }))) ?? []
}

/** Downloads path (through the session's token) as a file the browser saves. */
export { download } from '@/lib/download'

// ---- Folding live events into cached data (pure) ----

/** The run after ev (status, error, live counters). */
export function applyToRun(run: Run, ev: RunEvent): Run {
  if (ev.run_id !== run.id) return run
  switch (ev.type) {
    case 'run.status':
      return { ...run, status: ev.status, error: ev.error ?? run.error }
    case 'run.progress': {
      const nodes = ev.progress?.nodes as NodeStats[] | null | undefined
      const prevAt = run.counters_at ? Date.parse(run.counters_at) : NaN
      return {
        ...run,
        status: ev.status || run.status,
        nodes: nodes ?? run.nodes,
        node_rates: nodes && Number.isFinite(prevAt) ? nodeRates(run.nodes, prevAt, nodes, Date.parse(ev.time)) : run.node_rates,
        rows_per_second: ev.rows_per_second ?? run.rows_per_second,
        counters_at: ev.time,
        buffers: ev.progress?.done ? undefined : (ev.progress?.buffers ?? run.buffers),
        memory_budget: ev.progress?.memory_budget ?? run.memory_budget,
      }
    }
    case 'run.chunk': {
      const c = ev.chunk
      if (!c || !run.chunks) return run
      const i = run.chunks.findIndex((x) => x.idx === c.idx)
      if (i < 0) return run
      const chunks = run.chunks.slice()
      const prev = chunks[i]
      chunks[i] = {
        ...prev,
        status: c.status,
        attempt: c.attempt || prev.attempt,
        worker_id: c.worker_id || prev.worker_id,
        // a queued (retried, taken over) chunk keeps its last counts until it runs again
        rows_read: c.status === 'queued' ? prev.rows_read : c.rows_read,
        rows_written: c.status === 'queued' ? prev.rows_written : c.rows_written,
        error: c.error ?? (c.status === 'running' ? '' : prev.error),
      }
      const rates = { ...run.chunk_rates }
      if (c.status === 'running' && c.rows_per_second != null) rates[c.idx] = c.rows_per_second
      else delete rates[c.idx]
      return { ...run, chunks, chunk_rates: rates }
    }
    case 'run.instance': {
      const r = ev.instance
      const d = run.deployment
      if (!r) return run
      if (!d) {
        // a streaming run without parallelism: its one instance, from its reports
        const one: Instance = { idx: 0, state: 'running', worker_id: r.worker_id, attempt: r.attempt, rows_read: r.rows_read,
          rows_written: r.rows_written, rows_per_second: r.rows_per_second, partitions: r.partitions ?? [], reported_at: ev.time }
        return { ...run, deployment: { state: 'running', parallelism: 1, rows_per_second: r.rows_per_second, instances: [one] }, live_only: true }
      }
      const instances = (d.instances ?? []).map((x) =>
        x.idx === r.idx
          ? { ...x, state: 'running', worker_id: r.worker_id || x.worker_id, attempt: r.attempt || x.attempt, rows_read: r.rows_read,
              rows_written: r.rows_written, rows_per_second: r.rows_per_second, partitions: r.partitions ?? [], reported_at: ev.time }
          : x,
      )
      const rate = instances.filter((x) => x.state === 'running').reduce((a, x) => a + x.rows_per_second, 0)
      return { ...run, deployment: { ...d, instances, rows_per_second: rate } }
    }
    case 'run.deployment':
      return run.deployment && ev.deployment ? { ...run, deployment: { ...run.deployment, state: ev.deployment } } : run
    default:
      return run
  }
}

/** Totals of a partitioned run's chunks: counts by status, rows, and rows/s of the running ones. */
export function chunkTotals(run: Run) {
  const by: Record<string, number> = { queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 }
  let read = 0
  let written = 0
  for (const c of run.chunks ?? []) {
    by[c.status] = (by[c.status] ?? 0) + 1
    read += c.rows_read
    written += c.rows_written
  }
  const rate = Object.values(run.chunk_rates ?? {}).reduce((a, b) => a + b, 0)
  return { total: run.chunks?.length ?? 0, by, read, written, rate }
}

/** The page of runs after ev: the run's row changes; null when the page must be refetched (a new run). */
export function applyToRunPage(page: RunPage, ev: RunEvent): RunPage | null {
  const i = page.items.findIndex((r) => r.id === ev.run_id)
  if (i < 0) return ev.type === 'run.status' ? null : page
  const items = page.items.slice()
  items[i] = applyToRun(items[i], ev)
  return { ...page, items }
}

export interface LogTail {
  lines: RunLogLine[]
  total: number
}

/** The log tail after a run.log event (appended, at most LOG_TAIL lines kept). */
export function applyToLogs(tail: LogTail, ev: RunEvent): LogTail {
  if (ev.type !== 'run.log' || !ev.log) return tail
  const line: RunLogLine = { id: -ev.seq, level: ev.log.level, message: ev.log.message, node: ev.log.node, details: ev.log.details, time: ev.log.time }
  return { lines: [...tail.lines, line].slice(-LOG_TAIL), total: tail.total + 1 }
}

// ---- The run page ----

/** The pipeline a run executed: its name and the spec of the run's version (for the DAG). */
export function useRunPipeline(pipelineId: string | undefined, version: number | undefined) {
  return useQuery({
    queryKey: ['pipeline', pipelineId, 'version', version],
    enabled: !!pipelineId && version != null,
    staleTime: Infinity,
    queryFn: async () => {
      const p = await unwrap(api.GET('/api/v1/pipelines/{id}', { params: { path: { id: pipelineId as string } } }))
      let spec = p.spec as PipelineSpec | undefined
      if (p.version !== version) {
        const vs = await unwrap(
          api.GET('/api/v1/pipelines/{id}/versions', { params: { path: { id: pipelineId as string }, query: { per_page: 200 } } }),
        )
        const v = vs.items.find((x) => x.version === version)
        if (v) spec = parseYAML(v.spec_text) as PipelineSpec
      }
      return { name: p.name, currentVersion: p.version, spec }
    },
  })
}

export async function cancelRun(id: string): Promise<Run> {
  return unwrap(api.POST('/api/v1/runs/{id}/cancel', { params: { path: { id } } }))
}

export type Control = 'pause' | 'resume' | 'restart' | 'stop'

/** Pauses, resumes, restarts or stops a deployed streaming run; returns the run. */
export async function controlRun(id: string, c: Control): Promise<Run> {
  const params = { params: { path: { id } } }
  switch (c) {
    case 'pause':
      return unwrap(api.POST('/api/v1/runs/{id}/pause', params))
    case 'resume':
      return unwrap(api.POST('/api/v1/runs/{id}/resume', params))
    case 'restart':
      return unwrap(api.POST('/api/v1/runs/{id}/restart', params))
    case 'stop':
      return unwrap(api.POST('/api/v1/runs/{id}/stop', params))
  }
}

/** An edited dead letter: its id and the fields whose values change. */
export interface ReplayEdit {
  id: number
  values: Record<string, string>
}

/** Replays a run's dead letters (with edits) as a new run; returns the new run. */
export async function replayRun(id: string, edits: ReplayEdit[]): Promise<Run> {
  return unwrap(api.POST('/api/v1/runs/{id}/dead-letters/replay', { params: { path: { id } }, body: { edits } }))
}

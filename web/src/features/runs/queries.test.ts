import { describe, expect, it } from 'vitest'
import { applyToLogs, applyToRun, applyToRunPage, parseNDJSON, type Run } from './queries'
import { readFilters, toApiFilters, writeFilters } from './filters'
import type { RunEvent } from '@/lib/live'

const run = (id: string, status: Run['status'] = 'running'): Run => ({
  id, status, actor_id: 'u', actor_name: 'ada', attempt: 1, cancel_requested: false, created_at: '2026-01-01T00:00:00Z',
  error: '', nodes: [{ id: 'src', kind: 'source', type: 'csv', in: 0, out: 1, rejected: 0 }], pipeline_id: 'p', pipeline_version: 1, trigger: 'manual',
})
const ev = (e: Partial<RunEvent>): RunEvent => ({ type: 'run.status', run_id: 'r1', seq: 1, pipeline_id: 'p', status: 'running', time: '2026-01-01T00:00:01Z', ...e })

describe('folding live events into cached data', () => {
  it.each([
    ['status', ev({ type: 'run.status', status: 'failed', error: 'boom' }), { status: 'failed', error: 'boom' }],
    ['progress', ev({ type: 'run.progress', rows_per_second: 42, progress: { rows_read: 5, rows_written: 4, rejected: 1, bytes_read: 9, done: false, nodes: [{ id: 'src', kind: 'source', type: 'csv', in: 0, out: 5, rejected: 1 }] } }), { rows_per_second: 42, counters_at: '2026-01-01T00:00:01Z' }],
  ])('%s event updates the run', (_, e, want) => {
    const got = applyToRun(run('r1'), e)
    expect(got).toMatchObject(want)
    if (e.type === 'run.progress') expect(got.nodes[0].out).toBe(5)
  })

  it('ignores an event of another run', () => {
    const r = run('r2')
    expect(applyToRun(r, ev({ status: 'failed' }))).toBe(r)
  })

  it('updates the row of a runs page, and asks for a refetch on a new run', () => {
    const page = { items: [run('r1'), run('r2')], page: 1, per_page: 50, total: 2 }
    const next = applyToRunPage(page, ev({ status: 'succeeded' }))
    expect(next?.items.map((r) => r.status)).toEqual(['succeeded', 'running'])
    expect(applyToRunPage(page, ev({ run_id: 'r9', status: 'queued' }))).toBeNull()
  })

  it('appends live log lines to the tail', () => {
    const t = applyToLogs({ lines: [], total: 3 }, ev({ type: 'run.log', seq: 7, log: { level: 'warn', message: 'slow', time: 't' } }))
    expect(t.total).toBe(4)
    expect(t.lines).toEqual([expect.objectContaining({ level: 'warn', message: 'slow' })])
  })

  it('parses NDJSON dead letters, skipping blank lines', () => {
    expect(parseNDJSON('{"reason":"a"}\n\n{"reason":"b","values":{"x":"1"}}\n')).toEqual([{ reason: 'a' }, { reason: 'b', values: { x: '1' } }])
  })
})

describe('runs list filters in the URL', () => {
  it('round-trips and drops unknown statuses', () => {
    const f = readFilters(new URLSearchParams('status=failed,bogus,running&pipeline=p1&range=24h&page=2'))
    expect(f).toMatchObject({ status: ['failed', 'running'], pipeline: 'p1', range: '24h', page: 2 })
    expect(writeFilters(f).toString()).toBe('pipeline=p1&status=failed%2Crunning&range=24h&page=2')
  })

  it('turns a relative range into from = now - range', () => {
    const now = Date.parse('2026-03-01T12:00:00Z')
    expect(toApiFilters(readFilters(new URLSearchParams('range=1h')), now).from).toBe('2026-03-01T11:00:00.000Z')
    expect(toApiFilters(readFilters(new URLSearchParams('')), now).from).toBeUndefined()
  })
})

describe('per-node rates from live snapshots', () => {
  it('computes rows out per second between two progress events', () => {
    const r = { ...run('r1'), counters_at: '2026-01-01T00:00:00Z' }
    const next = applyToRun(r, ev({ type: 'run.progress', time: '2026-01-01T00:00:02Z', progress: { rows_read: 0, rows_written: 0, rejected: 0, bytes_read: 0, done: false, nodes: [{ id: 'src', kind: 'source', type: 'csv', in: 0, out: 201, rejected: 0 }] } }))
    expect(next.node_rates).toEqual({ src: 100 })
  })

  it('keeps the queues and the memory budget of the latest snapshot and drops the queues when the run is done', () => {
    const nodes = [{ id: 'agg', kind: 'transform', type: 'aggregate', in: 10, out: 0, rejected: 0, state_bytes: 2048, spilled_bytes: 4096 }]
    const buffers = [{ from: 'src', to: 'agg', len: 4, cap: 4 }]
    const live = applyToRun(run('r1'), ev({ type: 'run.progress', time: '2026-01-01T00:00:01Z', progress: { rows_read: 10, rows_written: 0, rejected: 0, bytes_read: 0, done: false, nodes, buffers, memory_budget: 1 << 28 } }))
    expect(live.buffers).toEqual(buffers)
    expect(live.memory_budget).toBe(1 << 28)
    expect(live.nodes[0]).toMatchObject({ state_bytes: 2048, spilled_bytes: 4096 })
    const done = applyToRun(live, ev({ type: 'run.progress', time: '2026-01-01T00:00:02Z', progress: { rows_read: 10, rows_written: 0, rejected: 0, bytes_read: 0, done: true, nodes } }))
    expect(done.buffers).toBeUndefined()
    expect(done.memory_budget).toBe(1 << 28)
  })
})

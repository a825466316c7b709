import { describe, expect, it } from 'vitest'
import { applyToRun, chunkTotals, type Run, type RunChunk } from './queries'
import { rangeLabel } from './Chunks'
import type { RunEvent } from '@/lib/live'

const chunk = (idx: number, status: RunChunk['status'] = 'queued', rows = 0): RunChunk => ({
  idx, field: 'id', lo: idx === 0 ? '' : String(idx * 100 + 1), hi: idx === 2 ? '' : String(idx * 100 + 101), status, attempt: status === 'queued' ? 0 : 1,
  worker_id: '', rows_read: rows, rows_written: rows, error: '',
})
const run = (chunks: RunChunk[]): Run => ({
  id: 'r1', status: 'running', actor_id: 'u', actor_name: 'ada', attempt: 1, cancel_requested: false, created_at: '2026-01-01T00:00:00Z',
  error: '', nodes: [], pipeline_id: 'p', pipeline_version: 1, trigger: 'manual', chunks,
})
const ev = (c: NonNullable<RunEvent['chunk']>): RunEvent => ({ type: 'run.chunk', run_id: 'r1', seq: 3, pipeline_id: 'p', status: 'running', time: 't', chunk: c })

describe('chunks of a partitioned run', () => {
  it('folds a run.chunk event into its chunk, with its rate', () => {
    const r = applyToRun(run([chunk(0), chunk(1), chunk(2)]), ev({ idx: 1, status: 'running', attempt: 1, worker_id: 'vm-1-ab', rows_read: 50, rows_written: 40, rows_per_second: 900 }))
    expect(r.chunks?.[1]).toMatchObject({ status: 'running', worker_id: 'vm-1-ab', rows_read: 50, rows_written: 40 })
    expect(r.chunk_rates).toEqual({ 1: 900 })
    const t = chunkTotals(r)
    expect(t).toMatchObject({ total: 3, read: 50, written: 40, rate: 900 })
    expect(t.by).toMatchObject({ queued: 2, running: 1 })
  })

  it('keeps the counts of a chunk queued again, with why, and drops its rate', () => {
    const r0 = run([chunk(0, 'running', 70)])
    r0.chunk_rates = { 0: 10 }
    const r = applyToRun(r0, ev({ idx: 0, status: 'queued', attempt: 1, rows_read: 0, rows_written: 0, error: 'retry 1 of 2' }))
    expect(r.chunks?.[0]).toMatchObject({ status: 'queued', rows_read: 70, error: 'retry 1 of 2' })
    expect(r.chunk_rates).toEqual({})
  })

  it('leaves a run without that chunk alone', () => {
    const r = run([chunk(0)])
    expect(applyToRun(r, ev({ idx: 5, status: 'running', attempt: 1, rows_read: 1, rows_written: 1 }))).toBe(r)
  })

  it.each([
    [{ lo: '', hi: '' }, 'all keys'],
    [{ lo: '', hi: '12501' }, '≤ 12,500'],
    [{ lo: '12501', hi: '25001' }, '12,501 – 25,000'],
    [{ lo: '87501', hi: '' }, '≥ 87,501'],
    [{ lo: '2026-01-01T00:00:00Z', hi: '2026-02-01T00:00:00Z' }, '2026-01-01T00:00:00Z – before 2026-02-01T00:00:00Z'],
  ])('shows the range %o as %s', (c, want) => {
    expect(rangeLabel(c)).toBe(want)
  })
})

import { afterEach, describe, expect, it, vi } from 'vitest'
import { queryClient } from '@/app/queryClient'
import { applyEvent } from './useLive'
import { runKeys, type Run } from './queries'
import type { RunEvent } from '@/lib/live'

const status = (run_id: string, s: RunEvent['status']): RunEvent => ({ type: 'run.status', run_id, seq: 2, pipeline_id: 'p', status: s, time: '2026-12-06T05:00:00Z' })

afterEach(() => {
  vi.restoreAllMocks()
  queryClient.clear()
})

describe('applyEvent', () => {
  it('re-reads a run whose status came while its page was still loading it (the read may answer with the older state)', () => {
    const spy = vi.spyOn(queryClient, 'invalidateQueries')
    applyEvent(status('r1', 'succeeded'))
    expect(spy).toHaveBeenCalledWith({ queryKey: runKeys.run('r1') })
  })
  it('re-reads a run that finished, for its final figures', () => {
    queryClient.setQueryData(runKeys.run('r2'), { id: 'r2', status: 'running', nodes: [] } as unknown as Run)
    const spy = vi.spyOn(queryClient, 'invalidateQueries')
    applyEvent(status('r2', 'succeeded'))
    expect(spy).toHaveBeenCalledWith({ queryKey: runKeys.run('r2') })
    expect(queryClient.getQueryData<Run>(runKeys.run('r2'))?.status).toBe('succeeded')
  })
  it('folds a running status into a cached run without a read', () => {
    queryClient.setQueryData(runKeys.run('r3'), { id: 'r3', status: 'queued', nodes: [] } as unknown as Run)
    const spy = vi.spyOn(queryClient, 'invalidateQueries')
    applyEvent(status('r3', 'running'))
    expect(spy).not.toHaveBeenCalledWith({ queryKey: runKeys.run('r3') })
    expect(queryClient.getQueryData<Run>(runKeys.run('r3'))?.status).toBe('running')
  })
})

import { describe, expect, it } from 'vitest'
import { render, screen } from '@testing-library/react'
import { formatAge, HealthCell, type PipelineHealth } from './Health'

const base: PipelineHealth = {
  pipeline_id: 'p1', pipeline_name: 'orders', runs: 20, succeeded: 19, failed: 1, success_rate: 0.95,
  mean_duration_ms: 1200, p95_duration_ms: 2500, rows_out: 100, last_run_at: '2026-12-06T10:00:00Z',
  last_success_at: '2026-12-06T10:00:00Z', last_status: 'succeeded', freshness_seconds: 600,
  expected_interval_seconds: 3600, stale: false,
}

describe('HealthCell', () => {
  it('shows success rate, p95 and freshness', () => {
    render(<HealthCell health={base} />)
    expect(screen.getByText('95.0%')).toBeTruthy()
    expect(screen.getByText(/p95 2\.50 s/)).toBeTruthy()
    expect(screen.getByText(/fresh 10 min ago/)).toBeTruthy()
    expect(screen.getByText(/every 1 h/)).toBeTruthy()
    expect(screen.queryByText('Stale')).toBeNull()
  })
  it('flags a stale pipeline', () => {
    render(<HealthCell health={{ ...base, freshness_seconds: 3 * 86400, stale: true }} />)
    expect(screen.getByText('Stale')).toBeTruthy()
    expect(screen.getByText(/fresh 3 d ago/)).toBeTruthy()
  })
  it('says when there were no runs, and still flags staleness', () => {
    render(<HealthCell health={{ ...base, runs: 0, succeeded: 0, failed: 0, success_rate: null, freshness_seconds: null, stale: true }} />)
    expect(screen.getByText(/No runs in 7 days/)).toBeTruthy()
    expect(screen.getByText('Stale')).toBeTruthy()
  })
  it('formats ages', () => {
    expect([formatAge(30), formatAge(300), formatAge(7200), formatAge(172800)]).toEqual(['30 s', '5 min', '2 h', '2 d'])
  })
})

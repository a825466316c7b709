import { describe, expect, it } from 'vitest'
import type { ReactNode } from 'react'
import { render, screen, within } from '@testing-library/react'
import { MemoryRouter } from 'react-router'
import type { Run } from '@/features/runs/queries'
import type { PipelineStat, Summary, Timeseries } from './model'
import {
  DeadLetterView, FailingPipelinesView, RunningNowView, RunsByStatusView, StalePipelinesView, StreamLagView, ThroughputView,
  WorkerHealthView,
} from './widgets'
import { AttentionList, KpiRow } from './ExecutiveSummary'

const wrap = (n: ReactNode) => render(<MemoryRouter>{n}</MemoryRouter>)
const now = Date.parse('2026-12-06T12:00:00Z')
const ago = (s: number) => new Date(now - s * 1000).toISOString()

const summary: Summary = {
  from: '2026-12-05T12:00:00Z', to: '2026-12-06T12:00:00Z',
  runs_by_status: { queued: 1, running: 2, succeeded: 90, failed: 7, cancelled: 0 },
  running_now: 2, rows_out: 1_250_000, rows_rejected: 40, dead_letters: 125, dead_letter_rate: 0.0001,
  failing_pipelines: 1, stale_pipelines: 1, workers: { up: 3, down: 1 }, queue_depth: 4, max_stream_lag: 0,
}

function stat(p: Partial<PipelineStat> & { pipeline_id: string; pipeline_name: string }): PipelineStat {
  return {
    runs: 10, succeeded: 10, failed: 0, success_rate: 1, mean_duration_ms: 1200, p95_duration_ms: 3000, rows_out: 100,
    last_run_at: ago(60), last_success_at: ago(60), last_status: 'succeeded', freshness_seconds: 60,
    expected_interval_seconds: null, stale: false, ...p,
  }
}

const pipelines: PipelineStat[] = [
  stat({ pipeline_id: 'p1', pipeline_name: 'orders', last_status: 'failed', failed: 3, success_rate: 0.7, last_run_at: ago(120) }),
  stat({ pipeline_id: 'p2', pipeline_name: 'customers', expected_interval_seconds: 3600, freshness_seconds: 4 * 3600, stale: true, last_success_at: ago(4 * 3600) }),
  stat({ pipeline_id: 'p3', pipeline_name: 'invoices', expected_interval_seconds: 600, freshness_seconds: 100 }),
  stat({ pipeline_id: 'p4', pipeline_name: 'ledger', last_status: 'failed', last_run_at: ago(30) }),
]

describe('RunsByStatusView', () => {
  it('lists each status with its count and share, zero statuses left out, linking to the runs filter', () => {
    wrap(<RunsByStatusView byStatus={summary.runs_by_status} />)
    const list = screen.getByRole('list', { name: 'Runs by status' })
    const items = within(list).getAllByRole('listitem').map((li) => li.textContent)
    expect(items).toEqual(['succeeded9090 %', 'failed77 %', 'running22 %', 'queued11 %'])
    expect(screen.getByRole('link', { name: 'failed' })).toHaveAttribute('href', '/runs?status=failed')
    expect(screen.getByText('100')).toBeInTheDocument() // the total in the ring
  })
  it('says what to do when there are no runs', () => {
    wrap(<RunsByStatusView byStatus={{ succeeded: 0 }} />)
    expect(screen.getByText('No runs in this range')).toBeInTheDocument()
    expect(screen.getByText(/Run a pipeline from the Pipelines page/)).toBeInTheDocument()
  })
})

describe('ThroughputView', () => {
  const ts = (points: Array<[string, number]>): Timeseries => ({
    metric: 'rows_per_second', step: '1m', from: '2026-12-06T11:00:00Z', to: '2026-12-06T12:00:00Z',
    series: [{ pipeline_id: '', pipeline_name: 'All pipelines', points: points.map(([t, value]) => ({ t, value })) }],
  })
  it('shows the peak and the average of the buckets with data', () => {
    wrap(<ThroughputView data={ts([['2026-12-06T11:10:00Z', 1000], ['2026-12-06T11:11:00Z', 3000]])} />)
    expect(screen.getByText('3K')).toBeInTheDocument()
    expect(screen.getByText('2K')).toBeInTheDocument()
    expect(screen.getByRole('img', { name: 'Records per second chart' })).toBeInTheDocument()
  })
  it('is empty without rows, and without series', () => {
    wrap(<ThroughputView data={{ ...ts([]), series: [] }} />)
    expect(screen.getByText('No rows moved in this range')).toBeInTheDocument()
  })
})

describe('RunningNowView', () => {
  it('lists running runs by pipeline name with their rate and elapsed time', () => {
    const runs = [
      { id: 'r1', pipeline_id: 'p1', status: 'running', started_at: ago(75), rows_per_second: 12_500 },
      { id: 'r2', pipeline_id: 'gone', status: 'running' },
    ] as Run[]
    wrap(<RunningNowView runs={runs} total={2} names={new Map([['p1', 'orders']])} now={now} />)
    expect(screen.getByText('runs executing')).toBeInTheDocument()
    const links = within(screen.getByRole('list', { name: 'Running runs' })).getAllByRole('link')
    expect(links[0]).toHaveAttribute('href', '/runs/r1')
    expect(links[0]).toHaveTextContent('orders12.5K/s1 min 15 s')
    expect(links[1]).toHaveTextContent('gonestarting')
  })
  it('says nothing is running', () => {
    wrap(<RunningNowView runs={[]} total={0} names={new Map()} now={now} />)
    expect(screen.getByText('Nothing is running')).toBeInTheDocument()
  })
})

describe('pipeline widgets', () => {
  it('FailingPipelinesView lists pipelines whose last run failed, latest first', () => {
    wrap(<FailingPipelinesView items={pipelines} now={now} />)
    expect(screen.getByText('pipelines failing')).toBeInTheDocument()
    const links = within(screen.getByRole('list', { name: 'Failing pipelines' })).getAllByRole('link')
    expect(links.map((l) => l.textContent?.startsWith('ledger') || l.textContent?.startsWith('orders'))).toEqual([true, true])
    expect(links[0]).toHaveTextContent(/^ledger/)
    expect(links[1]).toHaveTextContent('70 % ok')
    expect(links[1]).toHaveAttribute('href', '/runs?pipeline=p1&status=failed')
  })
  it('FailingPipelinesView is green when none fails', () => {
    wrap(<FailingPipelinesView items={pipelines.filter((p) => p.last_status !== 'failed')} now={now} />)
    expect(screen.getByText('No failing pipelines')).toBeInTheDocument()
  })
  it('StalePipelinesView lists stale scheduled pipelines with their age and interval', () => {
    wrap(<StalePipelinesView items={pipelines} />)
    expect(screen.getByText('of 2 scheduled pipelines are stale')).toBeInTheDocument()
    const link = within(screen.getByRole('list', { name: 'Stale pipelines' })).getByRole('link')
    expect(link).toHaveTextContent('customers4 h oldevery 1 h')
  })
  it.each([
    [[] as PipelineStat[], 'No scheduled pipelines'],
    [pipelines.filter((p) => !p.stale), 'Every scheduled pipeline is fresh'],
  ])('StalePipelinesView empty states (%#)', (items, text) => {
    wrap(<StalePipelinesView items={items} />)
    expect(screen.getByText(text)).toBeInTheDocument()
  })
})

describe('summary widgets', () => {
  it('DeadLetterView shows the rate and the count', () => {
    wrap(<DeadLetterView summary={summary} />)
    expect(screen.getByText('0.01 %')).toBeInTheDocument()
    expect(screen.getByText('125')).toBeInTheDocument()
  })
  it('DeadLetterView says when nothing was rejected', () => {
    wrap(<DeadLetterView summary={{ ...summary, dead_letters: 0, dead_letter_rate: 0 }} />)
    expect(screen.getByText(/No row was rejected/)).toBeInTheDocument()
  })
  it('WorkerHealthView counts workers and the queue and names the stopped ones', () => {
    wrap(<WorkerHealthView summary={summary} />)
    expect(screen.getByText('workers up').previousSibling).toHaveTextContent('3')
    expect(screen.getByText('workers down').previousSibling).toHaveTextContent('1')
    expect(screen.getByText('runs queued').previousSibling).toHaveTextContent('4')
    expect(screen.getByText(/1 worker has stopped sending heartbeats/)).toBeInTheDocument()
  })
  it('WorkerHealthView without workers says how to start one', () => {
    wrap(<WorkerHealthView summary={{ ...summary, workers: { up: 0, down: 0 } }} />)
    expect(screen.getByText('No workers have reported')).toBeInTheDocument()
  })
  it('StreamLagView is empty without streams and shows the largest lag with them', () => {
    const { unmount } = wrap(<StreamLagView summary={summary} />)
    expect(screen.getByText('No streaming runs in this range')).toBeInTheDocument()
    unmount()
    wrap(<StreamLagView summary={{ ...summary, max_stream_lag: 48_000 }} />)
    expect(screen.getByText('48K')).toBeInTheDocument()
  })
})

describe('executive summary', () => {
  it('KpiRow: runs, success rate of finished runs, rows, failing and stale', () => {
    wrap(<KpiRow summary={summary} pipelines={pipelines} />)
    const kpis = screen.getByTestId('kpis')
    expect(kpis).toHaveTextContent('Runs100')
    expect(kpis).toHaveTextContent('Success rate92.8 %7 failed')
    expect(kpis).toHaveTextContent('Rows delivered1.3M40 rejected')
    expect(kpis).toHaveTextContent('Failing pipelines1of 4 pipelines')
  })
  it('AttentionList puts failing before stale pipelines', () => {
    wrap(<AttentionList pipelines={pipelines} />)
    const rows = within(screen.getByRole('table', { name: 'Pipelines needing attention' })).getAllByRole('row').slice(1)
    expect(rows.map((r) => r.firstChild?.textContent)).toEqual(['ledger', 'orders', 'customers'])
  })
})

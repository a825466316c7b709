import { describe, expect, it, vi } from 'vitest'
import { render, screen, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { Deployment, controlsFor, lagLabel, partitionRows } from './Deployment'
import { applyToRun, type Run } from './queries'

const run = {
  id: 'r1', pipeline_id: 'p1', status: 'running',
  deployment: {
    state: 'running', parallelism: 2, rows_per_second: 1500,
    instances: [
      { idx: 0, state: 'running', worker_id: 'app1-100-a1', attempt: 1, rows_read: 9000, rows_written: 9000, rows_per_second: 1000,
        partitions: [
          { source: 'k', partition: 'orders/10', committed: 'offset 500', lag: 0, lag_unit: 'records', rows_per_second: 400 },
          { source: 'k', partition: 'orders/2', committed: 'offset 1200', lag: 34, lag_unit: 'records', rows_per_second: 600 },
        ] },
      { idx: 1, state: 'running', worker_id: 'app2-200-b7', attempt: 2, rows_read: 4000, rows_written: 4000, rows_per_second: 500,
        partitions: [{ source: 'k', partition: 'orders/1', committed: 'offset 800', lag: 1200, lag_unit: 'records', rows_per_second: 500 }] },
    ],
  },
} as unknown as Run

describe('Deployment', () => {
  it('lists every partition with its committed position, lag and rate, and the instances with their workers', () => {
    render(<Deployment run={run} canControl onControl={async () => {}} />)
    const rows = within(screen.getByRole('table', { name: 'Partitions' })).getAllByRole('row').slice(1)
    expect(rows.map((r) => within(r).getAllByRole('cell')[0].textContent)).toEqual(['orders/1', 'orders/2', 'orders/10'])
    expect(within(rows[0]).getByText('offset 800')).toBeInTheDocument()
    expect(within(rows[0]).getByText('1,200 records')).toBeInTheDocument()
    expect(within(rows[0]).getByText('#1')).toBeInTheDocument()
    const instances = within(screen.getByRole('list', { name: 'Instances' })).getAllByRole('listitem')
    expect(instances).toHaveLength(2)
    expect(within(instances[1]).getByText('app2-200-b7')).toBeInTheDocument()
    expect(screen.getByRole('img', { name: /Throughput: 1,500 rows\/s now/ })).toBeInTheDocument()
    expect(screen.getByText('1,234 records')).toBeInTheDocument() // total lag
  })

  it('shows a partition that instances share (one JetStream durable) once, from the latest report', () => {
    const shared = (idx: number, at: string, committed: string, lag: number) => ({ idx, state: 'running', worker_id: `w${idx}`, attempt: 1, rows_read: 0,
      rows_written: 0, rows_per_second: 0, reported_at: at, partitions: [{ source: 'n', partition: 'ORDERS/d', committed, lag, lag_unit: 'records', rows_per_second: 10 }] })
    const rows = partitionRows({ state: 'running', parallelism: 2, rows_per_second: 0,
      instances: [shared(0, '2026-12-06T21:00:05Z', 'stream sequence 90', 10), shared(1, '2026-12-06T21:00:03Z', 'stream sequence 80', 20)] } as never)
    expect(rows).toEqual([{ key: 'n/ORDERS/d', source: 'n', partition: 'ORDERS/d', instances: [0, 1], committed: 'stream sequence 90', lag: 10, lagUnit: 'records', rate: 10 }])
  })

  it('offers the controls of its state and confirms a stop', async () => {
    const onControl = vi.fn(async () => {})
    render(<Deployment run={run} canControl onControl={onControl} />)
    expect(screen.queryByRole('button', { name: 'Resume' })).toBeNull()
    await userEvent.click(screen.getByRole('button', { name: 'Pause' }))
    expect(onControl).toHaveBeenLastCalledWith('pause')
    await userEvent.click(screen.getByRole('button', { name: 'Stop' }))
    expect(onControl).toHaveBeenCalledTimes(1) // not before the confirmation
    await userEvent.click(screen.getByRole('button', { name: 'Stop stream' }))
    expect(onControl).toHaveBeenLastCalledWith('stop')
  })

  it('shows no controls without the permission', () => {
    render(<Deployment run={run} canControl={false} onControl={async () => {}} />)
    expect(screen.queryByRole('button', { name: 'Pause' })).toBeNull()
  })

  it('folds run.instance and run.deployment events into the run', () => {
    const ev = { run_id: 'r1', seq: 9, pipeline_id: 'p1', status: 'running' as const, time: '2026-12-06T21:00:00Z' }
    let r = applyToRun(run, { ...ev, type: 'run.instance', instance: { idx: 1, worker_id: 'app3-300-c1', attempt: 3, rows_read: 5000, rows_written: 5000,
      rows_per_second: 800, partitions: [{ source: 'k', partition: 'orders/1', committed: 'offset 900', lag: 0, lag_unit: 'records', rows_per_second: 800 }] } })
    expect(r.deployment?.rows_per_second).toBe(1800)
    expect(r.deployment?.instances?.[1].worker_id).toBe('app3-300-c1')
    expect(partitionRows(r.deployment!).find((p) => p.partition === 'orders/1')?.committed).toBe('offset 900')
    r = applyToRun(r, { ...ev, type: 'run.deployment', deployment: 'paused' })
    expect(r.deployment?.state).toBe('paused')
  })

  it('says which controls apply and writes lags in words', () => {
    expect(controlsFor('running')).toEqual(['pause', 'restart', 'stop'])
    expect(controlsFor('paused')).toEqual(['resume', 'restart', 'stop'])
    expect(controlsFor('stopped')).toEqual([])
    expect(lagLabel(-1, 'records')).toBe('unknown')
    expect(lagLabel(1, 'records')).toBe('1 record')
    expect(lagLabel(3 * 1024 * 1024, 'bytes')).toBe('3.0 MB')
  })
})

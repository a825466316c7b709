import { describe, expect, it } from 'vitest'
import { render, screen, within } from '@testing-library/react'
import { WorkersTable } from './WorkersTable'
import { ageText, heartbeatAge, totals } from './workers'
import type { Worker } from './types'

const now = Date.parse('2026-12-05T12:00:00Z')
const at = (secondsAgo: number) => new Date(now - secondsAgo * 1000).toISOString()

// What GET /api/v1/workers answers for one serve process and two workers, one of them killed.
const fixture: Worker[] = [
  { id: 'db1-4242-k2', host: 'db1', pid: 4242, version: 'v1.4.0', queues: ['runs'], concurrency: 4, running: 0,
    started_at: at(7200), last_heartbeat: at(600), status: 'dead' },
  { id: 'app1-100-a1', host: 'app1', pid: 100, version: 'v1.4.0', queues: ['runs', 'maintenance'], concurrency: 2, running: 1,
    started_at: at(3600), last_heartbeat: at(3), status: 'alive' },
  { id: 'app2-200-b7', host: 'app2', pid: 200, version: 'v1.4.0', queues: ['runs'], concurrency: 4, running: 4,
    started_at: at(1800), last_heartbeat: at(45), status: 'alive' },
]

describe('WorkersTable', () => {
  it('lists live workers first with their load, queues and heartbeat age', () => {
    render(<WorkersTable items={fixture} now={now} />)
    const rows = within(screen.getByRole('table', { name: 'Workers' })).getAllByRole('row').slice(1)
    expect(rows.map((r) => r.getAttribute('aria-label'))).toEqual(['Worker app1 100', 'Worker app2 200', 'Worker db1 4242'])
    const app1 = within(rows[0])
    expect(app1.getByText('Alive')).toBeInTheDocument()
    expect(app1.getByText('maintenance')).toBeInTheDocument()
    expect(app1.getByTestId('running')).toHaveTextContent('1 / 2')
    expect(app1.getByText('3 s ago')).toBeInTheDocument()
    // A late heartbeat of a live worker stands out; a dead worker says it has none.
    expect(within(rows[1]).getByText('45 s ago').className).toMatch(/amber/)
    expect(within(rows[2]).getByText('No heartbeat')).toBeInTheDocument()
    expect(within(rows[2]).getByText('10 min 0 s ago')).toBeInTheDocument()
  })

  it('explains how to start a worker when there is none', () => {
    render(<WorkersTable items={[]} now={now} />)
    expect(screen.getByRole('heading', { name: 'No worker is running' })).toBeInTheDocument()
    expect(screen.getByText('aggregator worker')).toBeInTheDocument()
    expect(screen.getByRole('button', { name: 'Copy command' })).toBeInTheDocument()
  })

  it('adds up the live workers only', () => {
    expect(totals(fixture)).toEqual({ alive: 2, slots: 6, running: 5, load: 5 / 6 })
    expect(totals([])).toEqual({ alive: 0, slots: 0, running: 0, load: 0 })
    expect(heartbeatAge({ ...fixture[1], last_heartbeat: at(-2) }, now)).toBe(0)
    expect(ageText(7265)).toBe('2 h 1 min')
  })
})

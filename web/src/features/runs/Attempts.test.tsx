import { describe, expect, it } from 'vitest'
import { render, screen, within } from '@testing-library/react'
import { MemoryRouter } from 'react-router'
import { Attempts } from './Attempts'
import type { RunAttempt } from '@/features/workers/types'

// A run that failed on a lost connection, was retried, lost its worker to kill -9 and succeeded on the third attempt.
const attempts: RunAttempt[] = [
  { number: 1, worker_id: 'app1-100-a1', started_at: '2026-12-05T12:00:00Z', finished_at: '2026-12-05T12:00:05Z', outcome: 'retry',
    error: 'postgres destination out: write: connection reset by peer' },
  { number: 2, worker_id: 'app2-200-b7', started_at: '2026-12-05T12:00:10Z', finished_at: '2026-12-05T12:01:10Z', outcome: 'lost', error: '' },
  { number: 3, worker_id: 'app1-100-a1', started_at: '2026-12-05T12:01:12Z', finished_at: '2026-12-05T12:01:42Z', outcome: 'succeeded', error: '' },
]

describe('Attempts', () => {
  it('shows each attempt with its worker, duration, outcome and why it stopped', () => {
    render(
      <MemoryRouter>
        <Attempts attempts={attempts} linkWorkers now={Date.parse('2026-12-05T12:02:00Z')} />
      </MemoryRouter>,
    )
    const rows = within(screen.getByRole('table', { name: 'Attempts' })).getAllByRole('row').slice(1)
    expect(rows).toHaveLength(3)
    const first = within(rows[0])
    expect(first.getByText('Failed, retried')).toBeInTheDocument()
    expect(first.getByText(/connection reset by peer/)).toBeInTheDocument()
    expect(first.getByRole('link', { name: 'app1-100-a1' })).toHaveAttribute('href', '/workers')
    expect(within(rows[1]).getByText('Worker lost')).toBeInTheDocument()
    expect(within(rows[1]).getByText(/another worker took the run over/)).toBeInTheDocument()
    expect(within(rows[2]).getByText('Succeeded')).toBeInTheDocument()
    expect(within(rows[2]).getByText('30.0 s')).toBeInTheDocument()
  })

  it('shows a running attempt without an end, and worker ids as text without workers:read', () => {
    render(
      <MemoryRouter>
        <Attempts attempts={[{ number: 1, worker_id: 'w-1', started_at: '2026-12-05T12:00:00Z', outcome: 'running', error: '' }]}
          linkWorkers={false} now={Date.parse('2026-12-05T12:00:20Z')} />
      </MemoryRouter>,
    )
    expect(screen.getByText('Running')).toBeInTheDocument()
    expect(screen.queryByRole('link')).toBeNull()
    expect(screen.getByText('w-1')).toBeInTheDocument()
  })
})

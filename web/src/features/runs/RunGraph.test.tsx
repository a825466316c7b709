import { beforeAll, describe, expect, it } from 'vitest'
import { render, screen } from '@testing-library/react'
import { RunGraph } from './RunGraph'
import type { Run } from './queries'

beforeAll(() => {
  // React Flow measures with ResizeObserver, which jsdom lacks.
  globalThis.ResizeObserver ??= class {
    observe() {}
    unobserve() {}
    disconnect() {}
  } as unknown as typeof ResizeObserver
})

const spec = {
  version: 1, name: 'p',
  sources: [{ id: 'src', type: 'csv', config: {} }],
  transforms: [{ id: 'latest', type: 'dedup', inputs: ['src'] }],
  destinations: [{ id: 'out', type: 'csv', inputs: ['latest'] }],
}

const baseRun = (status: Run['status']): Run => ({
  id: 'r1', pipeline_id: 'p', status, attempt: 1,
  nodes: [
    { id: 'src', kind: 'source', type: 'csv', in: 0, out: 5000, rejected: 0 },
    { id: 'latest', kind: 'transform', type: 'dedup', in: 5000, out: 0, rejected: 0, state_bytes: 128 * 1024 * 1024, spilled_bytes: 3 * 1024 * 1024 * 1024 },
    { id: 'out', kind: 'destination', type: 'csv', in: 0, out: 0, rejected: 0 },
  ],
  buffers: [{ from: 'src', to: 'latest', len: 4, cap: 4 }, { from: 'latest', to: 'out', len: 1, cap: 4 }],
  memory_budget: 256 * 1024 * 1024,
}) as unknown as Run

describe('RunGraph', () => {
  it('shows a stateful node’s state and spill, and how full each queue is while the run runs', async () => {
    render(<RunGraph run={baseRun('running')} spec={spec} selected={null} onSelect={() => {}} />)
    expect(await screen.findByRole('img', { name: 'latest: 128.0 MB of state in memory, 3.0 GB spilled to disk' })).toBeInTheDocument()
    expect(screen.getByText(/Memory budget 256.0 MB/)).toBeInTheDocument()
    expect(screen.getByText(/a full queue means the node after it is the slow side/)).toBeInTheDocument()
  })

  it('keeps the spilled figure and drops the queues once the run has ended', async () => {
    const r = baseRun('succeeded')
    r.nodes[1] = { ...r.nodes[1], state_bytes: 0 }
    render(<RunGraph run={r} spec={spec} selected={null} onSelect={() => {}} />)
    expect(await screen.findByRole('img', { name: 'latest: 0 B of state in memory, 3.0 GB spilled to disk' })).toHaveTextContent('3.0 GB spilled')
    expect(screen.queryByText(/a full queue means/)).not.toBeInTheDocument()
  })
})

describe('QueueMeter', () => {
  it('says how many batches wait, as a meter', async () => {
    const { QueueMeter } = await import('./RunGraph')
    render(<QueueMeter from="src" to="latest" len={3} cap={4} />)
    const m = screen.getByRole('meter', { name: 'Queue from src to latest' })
    expect(m).toHaveAttribute('aria-valuenow', '3')
    expect(m).toHaveAttribute('aria-valuetext', '3 of 4 batches waiting')
  })
})

import { describe, expect, it, beforeAll } from 'vitest'
import { render, screen } from '@testing-library/react'
import { PipelineGraph } from './PipelineGraph'

beforeAll(() => {
  // React Flow measures with ResizeObserver, which jsdom lacks.
  globalThis.ResizeObserver ??= class {
    observe() {}
    unobserve() {}
    disconnect() {}
  } as unknown as typeof ResizeObserver
})

describe('PipelineGraph', () => {
  it('draws every node with its badge and problems', async () => {
    render(
      <PipelineGraph
        spec={{
          version: 1, name: 'p',
          sources: [{ id: 'orders', type: 'csv', config: {} }],
          transforms: [{ id: 'active', type: 'filter', inputs: ['orders'] }],
          destinations: [{ id: 'out', type: 'ndjson', inputs: ['active'] }],
        }}
        badges={{ orders: <span>120 rows</span> }}
        problems={{ out: ['path is required'] }}
      />,
    )
    expect(await screen.findByRole('group', { name: 'Source orders (csv)' })).toBeInTheDocument()
    expect(screen.getByRole('group', { name: 'Transform active (filter)' })).toBeInTheDocument()
    expect(screen.getByText('120 rows')).toBeInTheDocument()
    expect(screen.getByRole('img', { name: '1 problem: path is required' })).toBeInTheDocument()
  })
})

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { fireEvent, render, screen, waitFor } from '@testing-library/react'
import { useToasts } from '@/components/toasts'
import { ResultExport } from './ResultExport'
import { exportRequest, type QueryResult } from './api'

// Relative URLs resolve against the test page's origin, as a browser does (Node's Request does not).
vi.hoisted(() => {
  const Base = globalThis.Request
  globalThis.Request = class extends Base {
    constructor(input: RequestInfo | URL, init?: RequestInit) {
      super(typeof input === 'string' && input.startsWith('/') ? new URL(input, 'http://localhost') : input, init)
    }
  } as typeof Request
})

const result = (over: Partial<QueryResult> = {}): QueryResult => ({
  columns: [{ name: 'region', type: 'string', native: 'text' }],
  rows: [['east']],
  row_count: 1,
  truncated: false,
  max_rows: 1000,
  timeout_seconds: 30,
  elapsed_ms: 3,
  export_max_rows: 1_000_000,
  ...over,
})

interface Call { method: string; url: string; body: string }

/** Replaces fetch: each call is recorded and answered by answer. */
function serve(answer: (c: Call) => Response): Call[] {
  const calls: Call[] = []
  vi.stubGlobal('fetch', async (req: Request) => {
    const u = new URL(req.url)
    const c = { method: req.method, url: u.pathname + u.search, body: await req.text() }
    calls.push(c)
    return answer(c)
  })
  return calls
}

describe('ResultExport', () => {
  const saves: string[] = []
  beforeEach(() => {
    saves.length = 0
    useToasts.setState({ toasts: [] })
    URL.createObjectURL = vi.fn(() => 'blob:export')
    URL.revokeObjectURL = vi.fn()
    vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      saves.push(this.download)
    })
  })
  afterEach(() => {
    vi.unstubAllGlobals()
    vi.restoreAllMocks()
  })

  it('exports the statement that produced the result, by POST, and saves the file the server names', async () => {
    const calls = serve(() => new Response('PK\u0003\u0004', { headers: { 'Content-Disposition': 'attachment; filename=query.xlsx' } }))
    render(<ResultExport result={result()} ran={{ connector_id: 'c1', sql: 'SELECT region FROM sales' }} />)
    fireEvent.click(screen.getByRole('button', { name: 'Export result' }))
    fireEvent.click(screen.getByRole('menuitem', { name: 'Excel (.xlsx)' }))
    await waitFor(() => expect(saves).toEqual(['query.xlsx']))
    expect(calls).toEqual([{ method: 'POST', url: '/api/v1/analytics/queries/export?format=xlsx', body: '{"connector_id":"c1","sql":"SELECT region FROM sales"}' }])
    expect(screen.queryByText(/Exports hold up to/)).toBeNull()
  })

  it('exports a saved query by its id when the result is the saved statement, and says the cap when the result was cut', async () => {
    const calls = serve(() => new Response('PAR1', { headers: { 'Content-Disposition': 'attachment; filename=Sales_by_region.parquet' } }))
    const saved = { id: 'q 1', connector_id: 'c1', sql: 'SELECT 1' }
    render(<ResultExport result={result({ truncated: true })} ran={{ connector_id: 'c1', sql: 'SELECT 1' }} saved={saved} />)
    expect(screen.getByText('Exports hold up to 1,000,000 rows')).toBeInTheDocument()
    fireEvent.click(screen.getByRole('button', { name: 'Export result' }))
    fireEvent.click(screen.getByRole('menuitem', { name: 'Parquet' }))
    await waitFor(() => expect(saves).toEqual(['Sales_by_region.parquet']))
    expect(calls).toEqual([{ method: 'GET', url: '/api/v1/analytics/queries/q%201/export?format=parquet', body: '' }])
  })

  it('shows the database refusal and saves nothing', async () => {
    serve(() => new Response(JSON.stringify({ title: 'Unprocessable Entity', status: 422, detail: 'the database refused the query: postgres: cannot execute INSERT in a read-only transaction (25006)' }),
      { status: 422, headers: { 'Content-Type': 'application/problem+json' } }))
    render(<ResultExport result={result()} ran={{ connector_id: 'c1', sql: 'INSERT INTO t VALUES (1)' }} />)
    fireEvent.click(screen.getByRole('button', { name: 'Export result' }))
    fireEvent.click(screen.getByRole('menuitem', { name: 'CSV' }))
    await waitFor(() => expect(useToasts.getState().toasts).toHaveLength(1))
    const t = useToasts.getState().toasts[0]
    expect(t.kind).toBe('error')
    expect(t.body).toContain('cannot execute INSERT in a read-only transaction')
    expect(saves).toEqual([])
  })
})

describe('exportRequest', () => {
  it('uses the ad-hoc export once the statement differs from the saved one', () => {
    const saved = { id: 'q1', connector_id: 'c1', sql: 'SELECT 1' }
    expect(exportRequest('csv', { connector_id: 'c1', sql: 'SELECT 2' }, saved).path).toBe('/api/v1/analytics/queries/export?format=csv')
    expect(exportRequest('csv', { connector_id: 'c2', sql: 'SELECT 1' }, saved).init?.method).toBe('POST')
    expect(exportRequest('ndjson', { connector_id: 'c1', sql: 'SELECT 1' }, saved).path).toBe('/api/v1/analytics/queries/q1/export?format=ndjson')
  })
})

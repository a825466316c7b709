import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { render, screen, waitFor } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { MemoryRouter, Route, Routes } from 'react-router'
import { OAuthConnect } from './OAuthConnect'
import { OAUTH_PENDING_KEY, oauthStatus, type ConnectorType } from './connectors'
import ConnectorOAuthCallback from '@/pages/ConnectorOAuthCallback'
import { useSession } from '@/auth/session'

// The API client builds requests with relative URLs, as a browser resolves them against the page; Node's
// Request does not, so relative URLs resolve against the test page's origin (before the client is built).
vi.hoisted(() => {
  const Base = globalThis.Request
  globalThis.Request = class extends Base {
    constructor(input: RequestInfo | URL, init?: RequestInit) {
      super(typeof input === 'string' && input.startsWith('/') ? new URL(input, 'http://localhost') : input, init)
    }
  } as typeof Request
})

type Call = { method: string; url: string; body: unknown }

/** Replaces fetch with a server that answers each path from routes and records the calls. */
function fakeServer(routes: Record<string, (body: unknown) => { status: number; body: unknown }>) {
  const calls: Call[] = []
  vi.stubGlobal('fetch', async (input: Request) => {
    const url = new URL(input.url)
    const text = await input.text()
    const body = text ? JSON.parse(text) : undefined
    calls.push({ method: input.method, url: url.pathname, body })
    const route = routes[`${input.method} ${url.pathname}`]
    const res = route ? route(body) : { status: 404, body: { title: 'Not Found', detail: 'no route' } }
    return new Response(JSON.stringify(res.body), {
      status: res.status,
      headers: { 'Content-Type': res.status >= 400 ? 'application/problem+json' : 'application/json' },
    })
  })
  return calls
}

function wrap(ui: React.ReactNode, path = '/') {
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false }, mutations: { retry: false } } })
  return render(
    <QueryClientProvider client={qc}>
      <MemoryRouter initialEntries={[path]}>
        <Routes>
          <Route path="/connectors/oauth/callback" element={<ConnectorOAuthCallback />} />
          <Route path="*" element={ui} />
        </Routes>
      </MemoryRouter>
    </QueryClientProvider>,
  )
}

const salesforce = {
  name: 'salesforce', title: 'Salesforce', oauth: { name: 'Salesforce', auth_type: 'refresh_token' },
  config_schema: { properties: { auth: { properties: { type: { default: 'refresh_token' } } } } },
} as unknown as ConnectorType

beforeEach(() => {
  useSession.setState({ me: { permissions: ['connectors:write', 'connectors:read', 'connectors:read_config'] } } as never)
  sessionStorage.clear()
})
afterEach(() => vi.unstubAllGlobals())

describe('oauthStatus', () => {
  it('applies to configs whose auth type (or the default) selects the flow', () => {
    expect(oauthStatus(salesforce, { auth: { client_id: 'c' } })).toEqual({ provider: 'Salesforce', connected: false, connectedAs: '' })
    expect(oauthStatus(salesforce, { auth: { type: 'refresh_token', refresh_token: '********', connected_as: 'ada@acme.com' } }))
      .toEqual({ provider: 'Salesforce', connected: true, connectedAs: 'ada@acme.com' })
    expect(oauthStatus(salesforce, { auth: { type: 'jwt_bearer' } })).toBeNull()
    expect(oauthStatus({ ...salesforce, oauth: undefined }, {})).toBeNull()
  })
})

describe('OAuthConnect', () => {
  it('shows a connector that is not connected and starts the flow', async () => {
    const calls = fakeServer({
      'POST /api/v1/connectors/c1/oauth/start': () => ({ status: 200, body: { authorize_url: 'https://login.example.com/authorize?state=s1', redirect_uri: 'x', expires_at: 'y' } }),
    })
    const go = vi.fn()
    wrap(<OAuthConnect connectorId="c1" status={{ provider: 'Salesforce', connected: false, connectedAs: '' }} canWrite navigate={go} />)
    expect(screen.getByRole('region', { name: 'Connect with Salesforce' })).toHaveTextContent('Not connected')
    await userEvent.click(screen.getByRole('button', { name: 'Connect with Salesforce' }))
    await waitFor(() => expect(go).toHaveBeenCalledWith('https://login.example.com/authorize?state=s1'))
    expect(calls.map((c) => `${c.method} ${c.url}`)).toEqual(['POST /api/v1/connectors/c1/oauth/start'])
    expect(sessionStorage.getItem(OAUTH_PENDING_KEY)).toBe('c1')
  })

  it('shows who connected, and a start refused by the server', async () => {
    fakeServer({
      'POST /api/v1/connectors/c1/oauth/start': () => ({ status: 422, body: { title: 'Unprocessable Entity', status: 422, detail: 'connector "sf": auth.client_id: required' } }),
    })
    const go = vi.fn()
    wrap(<OAuthConnect connectorId="c1" status={{ provider: 'HubSpot', connected: true, connectedAs: 'ada@acme.com (acme.hubspot.com)' }} canWrite navigate={go} />)
    const panel = screen.getByRole('region', { name: 'Connect with HubSpot' })
    expect(panel).toHaveTextContent('Connected')
    expect(screen.getByTestId('oauth-status')).toHaveTextContent('Access granted by ada@acme.com (acme.hubspot.com)')
    await userEvent.click(screen.getByRole('button', { name: 'Reconnect with HubSpot' }))
    expect(await screen.findByRole('alert')).toHaveTextContent('auth.client_id: required')
    expect(go).not.toHaveBeenCalled()
  })

  it('waits for unsaved changes and hides the button from readers', () => {
    const { unmount } = wrap(<OAuthConnect connectorId="c1" status={{ provider: 'Salesforce', connected: false, connectedAs: '' }} canWrite blockedReason="Save or discard your changes first" />)
    expect(screen.getByRole('button', { name: 'Connect with Salesforce' })).toBeDisabled()
    expect(screen.getByText('Save or discard your changes first')).toBeInTheDocument()
    unmount()
    wrap(<OAuthConnect connectorId="c1" status={{ provider: 'Salesforce', connected: false, connectedAs: '' }} canWrite={false} />)
    expect(screen.queryByRole('button')).toBeNull()
  })
})

describe('the OAuth callback page', () => {
  it('posts the state and code, then says who connected and links back', async () => {
    const calls = fakeServer({
      'POST /api/v1/connectors/oauth/callback': () => ({
        status: 200,
        body: { id: 'c9', name: 'crm', type: 'salesforce', config: { auth: { refresh_token: '********', connected_as: 'ada@acme.com' } } },
      }),
    })
    wrap(<div />, '/connectors/oauth/callback?code=abc&state=s1')
    expect(screen.getByRole('status')).toHaveTextContent('Completing the sign-in')
    expect(await screen.findByRole('heading', { name: 'crm is connected' })).toBeInTheDocument()
    expect(screen.getByRole('status')).toHaveTextContent('Access was granted by ada@acme.com')
    expect(screen.getByRole('link', { name: 'Back to the connector' })).toHaveAttribute('href', '/connectors/c9')
    expect(calls).toEqual([{ method: 'POST', url: '/api/v1/connectors/oauth/callback', body: { state: 's1', code: 'abc' } }])
  })

  it('passes the provider error on and shows the server message, linking to the connector it started from', async () => {
    sessionStorage.setItem(OAUTH_PENDING_KEY, 'c7')
    const calls = fakeServer({
      'POST /api/v1/connectors/oauth/callback': () => ({
        status: 422, body: { title: 'Unprocessable Entity', status: 422, detail: 'the provider refused access: access_denied: end-user denied authorization' },
      }),
    })
    wrap(<div />, '/connectors/oauth/callback?error=access_denied&error_description=end-user+denied+authorization&state=s2')
    expect(await screen.findByRole('alert')).toHaveTextContent('the provider refused access: access_denied: end-user denied authorization')
    expect(screen.getByRole('heading', { name: 'The connection failed' })).toBeInTheDocument()
    expect(screen.getByRole('link', { name: 'Back to the connector' })).toHaveAttribute('href', '/connectors/c7')
    expect(calls[0].body).toEqual({ state: 's2', error: 'access_denied', error_description: 'end-user denied authorization' })
    expect(sessionStorage.getItem(OAUTH_PENDING_KEY)).toBeNull()
  })

  it('says there is nothing to complete without a state, and posts nothing', () => {
    const calls = fakeServer({})
    wrap(<div />, '/connectors/oauth/callback')
    expect(screen.getByRole('alert')).toHaveTextContent('has no state from the provider')
    expect(calls).toEqual([])
  })
})

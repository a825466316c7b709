// Saved connectors and connector types: queries and mutations shared by /connectors, /connectors/new
// and /connectors/:id.
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { api, unwrap, type Schemas } from '@/api/client'
import { refKind } from '@/lib/secretRef'
import { secretPaths } from '@/components/forms/schema'

export type Connector = Schemas['Connector']
export type ConnectorType = Schemas['ConnectorType']
export type ConnectorBody = Schemas['ConnectorBody']
export type Stream = Schemas['Stream']
export type TestRequestResult = Schemas['TestRequestResult']

export const connectorsKey = ['connectors'] as const
export const connectorTypesKey = ['connector-types'] as const
export const CONNECTORS_PER_PAGE = 50

export function useConnectorTypes() {
  return useQuery({
    queryKey: connectorTypesKey,
    staleTime: 5 * 60_000,
    queryFn: () => unwrap(api.GET('/api/v1/connector-types')),
  })
}

export function useConnectors(search: string, page: number) {
  return useQuery({
    queryKey: [...connectorsKey, 'list', search, page],
    placeholderData: keepPreviousData,
    queryFn: () =>
      unwrap(api.GET('/api/v1/connectors', { params: { query: { search: search || undefined, page, per_page: CONNECTORS_PER_PAGE } } })),
  })
}

export function useConnector(id: string, enabled = true) {
  return useQuery({
    queryKey: [...connectorsKey, 'one', id],
    enabled,
    queryFn: () => unwrap(api.GET('/api/v1/connectors/{id}', { params: { path: { id } } })),
  })
}

export function useSaveConnector() {
  const qc = useQueryClient()
  return useMutation({
    mutationFn: ({ id, body }: { id?: string; body: ConnectorBody }) =>
      id
        ? unwrap(api.PUT('/api/v1/connectors/{id}', { params: { path: { id } }, body }))
        : unwrap(api.POST('/api/v1/connectors', { body })),
    onSuccess: (c) => {
      qc.setQueryData([...connectorsKey, 'one', c.id], c)
      void qc.invalidateQueries({ queryKey: [...connectorsKey, 'list'] })
    },
  })
}

export function useDeleteConnector() {
  const qc = useQueryClient()
  return useMutation({
    mutationFn: (id: string) => unwrap(api.DELETE('/api/v1/connectors/{id}', { params: { path: { id } } })),
    onSuccess: () => void qc.invalidateQueries({ queryKey: connectorsKey }),
  })
}

export function useCheckConnector() {
  return useMutation({
    mutationFn: (id: string) => unwrap(api.POST('/api/v1/connectors/{id}/check', { params: { path: { id } } })),
  })
}

/** Runs the first request of a configuration being edited (HTTP connectors' request tester). */
export function useTestRequest() {
  return useMutation({
    mutationFn: (body: Schemas['TestRequestBody']) => unwrap(api.POST('/api/v1/connectors/test-request', { body })),
  })
}

export function useDiscover() {
  return useMutation({
    mutationFn: (id: string) => unwrap(api.POST('/api/v1/connectors/{id}/discover', { params: { path: { id } } })),
  })
}

/**
 * The dotted paths of a schema's secret properties (x-secret, writeOnly or format password): top-level
 * ones and those of nested objects and tagged-union options ("auth.token").
 */
export function secretFields(schema: Record<string, unknown> | undefined): string[] {
  return secretPaths(schema, (p) => {
    const o = (p ?? {}) as Record<string, unknown>
    return o['x-secret'] === true || o.writeOnly === true || o.format === 'password'
  })
}

/** The server shows a stored secret as this mask; sending it back keeps the stored value. */
export const SECRET_MASK = '********'

/**
 * Splits a stored (redacted) config into what the form edits, which secrets are set and which hold
 * a secret manager reference (shown as written): secrets are removed from the form data, so they
 * are never filled back nor sent back (left out, the server keeps them).
 */
export function splitSecrets(config: Record<string, unknown> | undefined, secrets: string[]) {
  const data: Record<string, unknown> = structuredClone(config ?? {})
  const set: Record<string, boolean> = {}
  const refs: Record<string, string> = {}
  for (const path of secrets) {
    const segs = path.split('.')
    let obj: Record<string, unknown> | undefined = data
    for (const s of segs.slice(0, -1)) {
      const next: unknown = obj?.[s]
      obj = next && typeof next === 'object' && !Array.isArray(next) ? (next as Record<string, unknown>) : undefined
    }
    const k = segs[segs.length - 1]
    const v = obj?.[k]
    set[path] = v !== undefined && v !== null && v !== ''
    if (refKind(v)) refs[path] = v as string
    if (obj) delete obj[k]
  }
  return { data, set, refs }
}

/** Group types by category in a stable order, filtered by a search over name, title, description and category. */
export function groupTypes(types: ConnectorType[], search: string): Array<[string, ConnectorType[]]> {
  const s = search.trim().toLowerCase()
  const hit = (t: ConnectorType) =>
    !s || [t.name, t.title, t.description, t.category].some((v) => v.toLowerCase().includes(s))
  const order = ['database', 'file', 'api', 'saas', 'stream']
  const groups = new Map<string, ConnectorType[]>()
  for (const t of types.filter(hit)) {
    const g = groups.get(t.category) ?? []
    g.push(t)
    groups.set(t.category, g)
  }
  return [...groups.entries()]
    .sort(([a], [b]) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99) || a.localeCompare(b))
    .map(([k, v]) => [k, v.sort((a, b) => a.title.localeCompare(b.title))])
}

export const categoryLabel: Record<string, string> = {
  database: 'Databases',
  file: 'Files',
  api: 'APIs',
  saas: 'SaaS applications',
  stream: 'Streams and queues',
}

export type OAuthStart = Schemas['OAuthStart']

/** Starts "Connect with ..." for a saved connector: the provider's authorization URL. */
export function useStartOAuth() {
  return useMutation({
    mutationFn: (id: string) => unwrap(api.POST('/api/v1/connectors/{id}/oauth/start', { params: { path: { id } } })),
  })
}

/** Completes "Connect with ...": posts what the provider sent back; the connector comes back connected. */
export function useCompleteOAuth() {
  const qc = useQueryClient()
  return useMutation({
    mutationFn: (body: Schemas['OauthCallbackBody']) => unwrap(api.POST('/api/v1/connectors/oauth/callback', { body })),
    onSuccess: (c) => {
      qc.setQueryData([...connectorsKey, 'one', c.id], c)
      void qc.invalidateQueries({ queryKey: [...connectorsKey, 'list'] })
    },
  })
}

/** The web app's page the provider sends the browser back to. */
export const OAUTH_CALLBACK_PATH = '/connectors/oauth/callback'

/** Where the connector a flow was started for is remembered, so that the callback page can link back on an error. */
export const OAUTH_PENDING_KEY = 'aggregator.oauth.connector'

export interface OAuthStatus {
  /** The provider's name: "Connect with <provider>". */
  provider: string
  connected: boolean
  connectedAs: string
}

/**
 * The "Connect with ..." status of a saved connector: null unless its type has the flow and its
 * auth.type (or the schema's default) selects it.
 */
export function oauthStatus(type: ConnectorType, config: Record<string, unknown> | undefined): OAuthStatus | null {
  const p = type.oauth
  if (!p) return null
  const auth = (config?.auth ?? {}) as Record<string, unknown>
  const schemaAuth = ((type.config_schema as { properties?: Record<string, { properties?: Record<string, { default?: unknown }> }> }).properties?.auth
    ?.properties?.type?.default)
  const authType = auth.type ?? schemaAuth
  if (authType !== p.auth_type) return null
  const rt = auth.refresh_token
  return {
    provider: p.name,
    connected: rt !== undefined && rt !== null && rt !== '',
    connectedAs: typeof auth.connected_as === 'string' ? auth.connected_as : '',
  }
}

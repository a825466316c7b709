// Analytics queries over the API: the database connectors a query can run on, an ad-hoc or saved
// run (read-only; the database refuses writes, and its message comes back as the error), saved
// queries with their chart, a result exported as a file.
import { useQuery } from '@tanstack/react-query'
import { api, unwrap, type Schemas } from '@/api/client'
import type { ExportFormat } from '@/components/ExportMenu'
import { download } from '@/lib/download'

export type QueryResult = Schemas['QueryResult']
export type QueryColumn = Schemas['QueryColumn']
export type SavedQuery = Schemas['SavedQuery']
export type QuerySource = Schemas['QuerySource']
export type QueryChart = Schemas['QueryChart']
export type ChartType = 'line' | 'bar' | 'area'

export const queryKeys = {
  sources: ['analytics', 'sources'] as const,
  saved: ['analytics', 'saved'] as const,
}

export function useQuerySources() {
  return useQuery({ queryKey: queryKeys.sources, queryFn: ({ signal }) => unwrap(api.GET('/api/v1/analytics/query-sources', { signal })) })
}

export function useSavedQueries() {
  return useQuery({ queryKey: queryKeys.saved, queryFn: ({ signal }) => unwrap(api.GET('/api/v1/analytics/queries', { signal })) })
}

export interface RunRequest {
  connector_id: string
  sql: string
  max_rows?: number
}

export function runQuery(body: RunRequest, signal?: AbortSignal) {
  return unwrap(api.POST('/api/v1/analytics/queries/run', { body, signal }))
}

export interface SaveRequest {
  name: string
  description?: string
  connector_id: string
  sql: string
  chart: QueryChart
}

export function createSavedQuery(body: SaveRequest) {
  return unwrap(api.POST('/api/v1/analytics/queries', { body }))
}

export function updateSavedQuery(id: string, body: SaveRequest) {
  return unwrap(api.PUT('/api/v1/analytics/queries/{id}', { params: { path: { id } }, body }))
}

export function deleteSavedQuery(id: string) {
  return unwrap(api.DELETE('/api/v1/analytics/queries/{id}', { params: { path: { id } } }))
}

/**
 * What an export of a result fetches: the saved query's export (a file named after it) when the
 * result is the saved query's as saved, otherwise the ad-hoc export of the statement that produced
 * the result (POST, so that the SQL stays out of URLs and logs).
 */
export function exportRequest(format: ExportFormat, ran: RunRequest, saved?: Pick<SavedQuery, 'id' | 'connector_id' | 'sql'>): { path: string; init?: RequestInit; fallbackName: string } {
  if (saved && saved.connector_id === ran.connector_id && saved.sql === ran.sql) {
    return { path: `/api/v1/analytics/queries/${encodeURIComponent(saved.id)}/export?format=${format}`, fallbackName: `query.${format}` }
  }
  return {
    path: `/api/v1/analytics/queries/export?format=${format}`,
    init: { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ connector_id: ran.connector_id, sql: ran.sql }) },
    fallbackName: `query.${format}`,
  }
}

/** Exports a result as a file the browser saves (see exportRequest). */
export function exportResult(format: ExportFormat, ran: RunRequest, saved?: Pick<SavedQuery, 'id' | 'connector_id' | 'sql'>): Promise<void> {
  const r = exportRequest(format, ran, saved)
  return download(r.path, r.fallbackName, r.init)
}

// Analytics queries over the API: the database connectors a query can run on, an ad-hoc or saved
// run (read-only; the database refuses writes, and its message comes back as the error), saved
// queries with their chart.
import { useQuery } from '@tanstack/react-query'
import { api, unwrap, type Schemas } from '@/api/client'

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

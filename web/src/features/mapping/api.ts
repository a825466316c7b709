// The calls the mapping studio makes: auto-map suggestions, the expression function list, a preview
// of a map config on sample rows, and a saved connector's Discover for destination fields.
import { api, unwrap } from '@/api/client'
import type { FieldDef, MapConfig, Suggestion } from './model'

export interface ExpressionFunction {
  name: string
  signature: string
  group: string
}

export interface TransformPreview {
  fields: { name: string; type: string; nullable?: boolean }[] | null
  rows: Record<string, unknown>[] | null
  rejects: { pos?: number; field?: string; reason?: string }[] | null
}

const known = new Set(['bool', 'int', 'float', 'decimal', 'string', 'bytes', 'date', 'timestamp', 'json'])
const typed = (fs: FieldDef[]) => fs.map((f) => (f.type && known.has(f.type) ? { name: f.name, type: f.type } : { name: f.name }))

export async function suggestMappings(source: FieldDef[], destination: FieldDef[]): Promise<Suggestion[]> {
  const r = await unwrap(api.POST('/api/v1/mappings/suggest', { body: { source: typed(source), destination: typed(destination) } }))
  return (r.suggestions ?? []) as Suggestion[]
}

export async function listExpressionFunctions(): Promise<ExpressionFunction[]> {
  return ((await unwrap(api.GET('/api/v1/expression-functions'))) ?? []) as ExpressionFunction[]
}

export async function previewMap(config: MapConfig, rows: Record<string, unknown>[], signal?: AbortSignal): Promise<TransformPreview> {
  const r = await unwrap(api.POST('/api/v1/transformations/preview', { body: { type: 'map', config, rows }, signal }))
  return r as unknown as TransformPreview
}

export interface DiscoveredStream {
  name: string
  fields?: { name: string; type?: string }[] | null
}

export async function discoverConnector(id: string): Promise<DiscoveredStream[]> {
  const r = await unwrap(api.POST('/api/v1/connectors/{id}/discover', { params: { path: { id } } }))
  return ((r as { streams?: DiscoveredStream[] | null }).streams ?? []) as DiscoveredStream[]
}

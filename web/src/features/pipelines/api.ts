// Pipelines over the API: the calls the list page and the builder make. Specs travel as YAML text
// (Content-Type application/yaml), so that comments survive a save.
import { api, unwrap, type Schemas } from '@/api/client'

export type Pipeline = Schemas['Pipeline']
export type Run = Schemas['Run']
export type Validation = Schemas['Validation']
export type Preview = Schemas['Preview']
export type PipelineVersion = Schemas['PipelineVersion']
export type TransformType = Schemas['TransformType']
export type ConnectorType = Schemas['ConnectorType']
export type PipelineTemplate = Schemas['PipelineTemplate']

const yaml = { bodySerializer: (b: string) => b, headers: { 'Content-Type': 'application/yaml' } }

export const pipelineKeys = {
  all: ['pipelines'] as const,
  list: (search: string, page: number) => ['pipelines', 'list', search, page] as const,
  one: (id: string) => ['pipelines', 'one', id] as const,
  versions: (id: string) => ['pipelines', 'versions', id] as const,
  lastRun: (id: string) => ['pipelines', 'last-run', id] as const,
}

export function listPipelines(search: string, page: number, perPage = 25) {
  return unwrap(api.GET('/api/v1/pipelines', { params: { query: { search: search || undefined, page, per_page: perPage } } }))
}

export function getPipeline(id: string) {
  return unwrap(api.GET('/api/v1/pipelines/{id}', { params: { path: { id } } }))
}

/** Saves a new pipeline; with draft, a spec with problems is saved as a draft (that cannot run) instead of refused. */
export function createPipeline(text: string, draft = false) {
  return unwrap(api.POST('/api/v1/pipelines', { params: { query: { draft: draft || undefined } }, body: text, ...yaml }))
}

export function updatePipeline(id: string, text: string, opts: { comment?: string; draft?: boolean } = {}) {
  return unwrap(
    api.PUT('/api/v1/pipelines/{id}', { params: { path: { id }, query: { comment: opts.comment, draft: opts.draft || undefined } }, body: text, ...yaml }),
  )
}

export function deletePipeline(id: string) {
  return unwrap(api.DELETE('/api/v1/pipelines/{id}', { params: { path: { id } } }))
}

export function runPipeline(id: string) {
  return unwrap(api.POST('/api/v1/pipelines/{id}/run', { params: { path: { id } } }))
}

/** Checks a spec as a save would; with pipelineId, its triggers.after as a save of that pipeline (cycles through it). */
export function validateSpec(text: string, signal?: AbortSignal, pipelineId?: string) {
  return unwrap(api.POST('/api/v1/pipelines/validate', { params: { query: { pipeline_id: pipelineId || undefined } }, body: text, ...yaml, signal }))
}

export function previewSpec(text: string, rows = 20) {
  return unwrap(api.POST('/api/v1/pipelines/preview', { params: { query: { rows } }, body: text, ...yaml }))
}

export function listVersions(id: string) {
  return unwrap(api.GET('/api/v1/pipelines/{id}/versions', { params: { path: { id }, query: { per_page: 200 } } }))
}

/** The newest run of a pipeline, or null. */
export async function lastRun(pipelineId: string): Promise<Run | null> {
  const page = await unwrap(api.GET('/api/v1/runs', { params: { query: { pipeline_id: pipelineId, per_page: 1 } } }))
  return page.items?.[0] ?? null
}

export function listTransformTypes() {
  return unwrap(api.GET('/api/v1/transform-types')).then((x) => x ?? [])
}

export function listConnectorTypes() {
  return unwrap(api.GET('/api/v1/connector-types')).then((x) => x ?? [])
}

export function listTemplates() {
  return unwrap(api.GET('/api/v1/pipeline-templates')).then((x) => x ?? [])
}

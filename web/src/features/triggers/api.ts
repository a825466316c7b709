// A pipeline's webhook token over the API: its state (never the token), create or rotate (the token
// is shown once), revoke. See docs/runs.md#webhook.
import { api, unwrap, type Schemas } from '@/api/client'

export type TriggerToken = Schemas['TriggerToken']

export const triggerKeys = {
  token: (pipelineId: string) => ['pipelines', 'trigger-token', pipelineId] as const,
}

export function getTriggerToken(id: string) {
  return unwrap(api.GET('/api/v1/pipelines/{id}/trigger-token', { params: { path: { id } } }))
}

export function createTriggerToken(id: string) {
  return unwrap(api.POST('/api/v1/pipelines/{id}/trigger-token', { params: { path: { id } } }))
}

export function revokeTriggerToken(id: string) {
  return unwrap(api.DELETE('/api/v1/pipelines/{id}/trigger-token', { params: { path: { id } } }))
}

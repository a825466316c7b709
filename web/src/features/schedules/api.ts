// Schedules over the API: the preview the editor asks for while the user types, and pause/resume
// (no new version). The plain-words reading of a cron expression is the server's (one place: Go).
import { api, unwrap, type Schemas } from '@/api/client'

export type Schedule = Schemas['Schedule']
export type SchedulePreview = Schemas['SchedulePreview']

export const scheduleKeys = {
  preview: (cron: string, timezone: string) => ['schedules', 'preview', cron, timezone] as const,
}

export function previewSchedule(cron: string, timezone: string, signal?: AbortSignal) {
  return unwrap(api.GET('/api/v1/schedules/preview', { params: { query: { cron, timezone: timezone || undefined } }, signal }))
}

export function pauseSchedule(id: string) {
  return unwrap(api.POST('/api/v1/pipelines/{id}/schedule/pause', { params: { path: { id } } }))
}

export function resumeSchedule(id: string) {
  return unwrap(api.POST('/api/v1/pipelines/{id}/schedule/resume', { params: { path: { id } } }))
}

// The spec's `schedule:` as the editor edits it, and the presets it offers.
import type { PipelineSpec } from '@/features/graph'

export type Misfire = 'skip' | 'run_once'

export interface ScheduleSpec {
  cron: string
  timezone?: string
  misfire?: Misfire
}

export interface Preset {
  label: string
  cron: string
}

export const presets: Preset[] = [
  { label: 'Every 15 minutes', cron: '*/15 * * * *' },
  { label: 'Hourly', cron: '0 * * * *' },
  { label: 'Daily at 06:00', cron: '0 6 * * *' },
  { label: 'Weekdays at 06:00', cron: '0 6 * * 1-5' },
  { label: 'Mondays at 06:00', cron: '0 6 * * 1' },
  { label: 'Monthly on the 1st', cron: '0 6 1 * *' },
]

/** The spec's schedule, or null when it has none (or a malformed one: no cron text). */
export function scheduleOf(spec: PipelineSpec | null): ScheduleSpec | null {
  const s = spec?.schedule
  if (!s || typeof s !== 'object' || Array.isArray(s)) return null
  const o = s as Record<string, unknown>
  if (typeof o.cron !== 'string') return null
  return {
    cron: o.cron,
    timezone: typeof o.timezone === 'string' ? o.timezone : undefined,
    misfire: o.misfire === 'run_once' ? 'run_once' : o.misfire === 'skip' ? 'skip' : undefined,
  }
}

/**
 * The spec with its schedule set (null removes it). Defaults are left out of the YAML: no timezone
 * for UTC, no misfire for skip; keys the editor does not know are kept.
 */
export function withSchedule(spec: PipelineSpec, s: ScheduleSpec | null): PipelineSpec {
  const next: PipelineSpec = { ...spec }
  if (!s) {
    delete next.schedule
    return next
  }
  const old = spec.schedule && typeof spec.schedule === 'object' && !Array.isArray(spec.schedule) ? (spec.schedule as Record<string, unknown>) : {}
  const out: Record<string, unknown> = { ...old, cron: s.cron.trim() }
  if (s.timezone && s.timezone !== 'UTC') out.timezone = s.timezone
  else delete out.timezone
  if (s.misfire === 'run_once') out.misfire = 'run_once'
  else delete out.misfire
  next.schedule = out
  return next
}

/** Every IANA zone the browser knows (UTC first), for the time zone picker. */
export function timeZones(): string[] {
  const intl = Intl as unknown as { supportedValuesOf?: (k: string) => string[] }
  const list = intl.supportedValuesOf?.('timeZone') ?? ['Europe/Berlin', 'Europe/London', 'Europe/Paris', 'America/New_York', 'America/Los_Angeles', 'Asia/Tokyo']
  return ['UTC', ...list.filter((z) => z !== 'UTC')]
}

/** Zones whose name contains every word of the query (case-insensitive; "new york" finds America/New_York). */
export function searchZones(zones: string[], query: string): string[] {
  const words = query.toLowerCase().split(/[\s/_]+/).filter(Boolean)
  if (!words.length) return zones
  return zones.filter((z) => {
    const n = z.toLowerCase().replace(/_/g, ' ')
    return words.every((w) => n.includes(w))
  })
}

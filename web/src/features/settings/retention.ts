// The retention settings as the Settings page edits them: each period is a whole number of days or
// hours ("90d", "36h", as the server writes them), shown as a number and a unit.
import type { Schemas } from '@/api/client'

export type RetentionSettings = Schemas['RetentionSettings']
export type RetentionKey = keyof RetentionSettings
export type Unit = 'd' | 'h'

export interface Period {
  value: string // what the user typed
  unit: Unit
}

export type Draft = Record<RetentionKey, Period>

/** The settings, in the order the page shows them, with what each one deletes. */
export const retentionFields: Array<{ key: RetentionKey; label: string; help: string }> = [
  { key: 'runs', label: 'Finished runs', help: 'Succeeded, failed and cancelled runs are deleted this long after they finished, with their logs, checkpoints and dead letters. Queued and running runs are never deleted.' },
  { key: 'dead_letters', label: 'Dead letters', help: 'Rejected rows of finished runs are deleted this long after they were written; the run stays.' },
  { key: 'server_logs', label: 'System logs', help: 'The server\'s own log records (Administration > System logs) and log lines that belong to no run.' },
  { key: 'uploads', label: 'Unused uploads', help: 'Uploaded files that no saved pipeline, connector or transformation refers to, counted from the upload.' },
  { key: 'staged_outputs', label: 'Staged outputs', help: 'Temporary files a file destination left for a run that is no longer queued or running.' },
  { key: 'metrics_1m', label: 'Metrics, 1-minute points', help: 'Per-minute run figures (rows, runs, durations, lag) of the metrics history, counted from their minute.' },
  { key: 'metrics_1h', label: 'Metrics, 1-hour points', help: 'Hourly run figures of the metrics history; they outlive the minutes for longer charts.' },
  { key: 'metrics_1d', label: 'Metrics, 1-day points', help: 'Daily run figures of the metrics history, and the figures of each finished run (success rate, durations).' },
]

const MAX_HOURS = 3650 * 24

/** "90d" -> {value: "90", unit: "d"}; anything else is shown as typed, in days. */
export function toPeriod(text: string | undefined): Period {
  const m = /^\s*(\d+)\s*([dh])\s*$/i.exec(text ?? '')
  if (!m) return { value: text ?? '', unit: 'd' }
  return { value: String(Number(m[1])), unit: m[2].toLowerCase() as Unit }
}

/** The server's form: {value: "36", unit: "h"} -> "36h". */
export function fromPeriod(p: Period): string {
  return `${p.value.trim()}${p.unit}`
}

export function toDraft(s: RetentionSettings): Draft {
  return Object.fromEntries(retentionFields.map(({ key }) => [key, toPeriod(s[key])])) as Draft
}

export function fromDraft(d: Draft): RetentionSettings {
  return Object.fromEntries(retentionFields.map(({ key }) => [key, fromPeriod(d[key])])) as unknown as RetentionSettings
}

/** The problem with one period as the user typed it, or null (the server checks the same bounds). */
export function periodError(p: Period): string | null {
  const v = p.value.trim()
  if (!/^\d+$/.test(v)) return 'Enter a whole number'
  const hours = Number(v) * (p.unit === 'd' ? 24 : 1)
  if (hours < 1) return 'At least 1 hour'
  if (hours > MAX_HOURS) return 'At most 3650 days'
  return null
}

/** A period for people: "90d" -> "90 days", "1d" -> "1 day", "36h" -> "36 hours". */
export function describePeriod(text: string | undefined): string {
  const p = toPeriod(text)
  const n = Number(p.value)
  if (!text || !Number.isFinite(n)) return text ?? ''
  const word = p.unit === 'd' ? 'day' : 'hour'
  return `${n} ${word}${n === 1 ? '' : 's'}`
}

/** The normalised periods of two settings are the same (12d and 288h differ only in how they are written). */
export function sameSettings(a: RetentionSettings, b: RetentionSettings): boolean {
  return retentionFields.every(({ key }) => hoursOf(a[key]) === hoursOf(b[key]))
}

function hoursOf(text: string | undefined): number {
  const p = toPeriod(text)
  return Number(p.value) * (p.unit === 'd' ? 24 : 1)
}

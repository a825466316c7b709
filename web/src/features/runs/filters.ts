// The runs list's filters live in the URL query (?pipeline=..&status=failed,running&range=24h or
// &from=..&to=..&page=2) so that a filtered view can be shared and survives a reload.
import { RUN_STATUSES, type RunFilters, type RunStatus } from './queries'

export type Range = '' | '1h' | '24h' | '7d' | 'custom'
export const RANGES: Array<{ id: Range; label: string; ms?: number }> = [
  { id: '', label: 'Any time' },
  { id: '1h', label: 'Last hour', ms: 3_600_000 },
  { id: '24h', label: 'Last 24 hours', ms: 86_400_000 },
  { id: '7d', label: 'Last 7 days', ms: 7 * 86_400_000 },
  { id: 'custom', label: 'Custom range' },
]

export interface UrlFilters {
  pipeline: string
  status: RunStatus[]
  range: Range
  from: string // datetime-local value (custom range)
  to: string
  page: number
}

export function readFilters(q: URLSearchParams): UrlFilters {
  const status = (q.get('status') ?? '')
    .split(',')
    .filter((s): s is RunStatus => (RUN_STATUSES as string[]).includes(s))
  const range = (q.get('range') ?? '') as Range
  return {
    pipeline: q.get('pipeline') ?? '',
    status,
    range: RANGES.some((r) => r.id === range) ? range : '',
    from: q.get('from') ?? '',
    to: q.get('to') ?? '',
    page: Math.max(1, Number(q.get('page')) || 1),
  }
}

export function writeFilters(f: UrlFilters): URLSearchParams {
  const q = new URLSearchParams()
  if (f.pipeline) q.set('pipeline', f.pipeline)
  if (f.status.length) q.set('status', f.status.join(','))
  if (f.range) q.set('range', f.range)
  if (f.range === 'custom') {
    if (f.from) q.set('from', f.from)
    if (f.to) q.set('to', f.to)
  }
  if (f.page > 1) q.set('page', String(f.page))
  return q
}

/** The API filter for the URL's filters at time now (relative ranges end now). */
export function toApiFilters(f: UrlFilters, now: number): RunFilters {
  const out: RunFilters = { pipeline: f.pipeline || undefined, status: f.status.length ? f.status : undefined, page: f.page }
  const r = RANGES.find((x) => x.id === f.range)
  if (r?.ms) {
    // Rounded to the minute so that the query key stays the same between renders.
    out.from = new Date(Math.floor((now - r.ms) / 60_000) * 60_000).toISOString()
  } else if (f.range === 'custom') {
    const from = f.from ? new Date(f.from) : null
    const to = f.to ? new Date(f.to) : null
    if (from && !Number.isNaN(from.getTime())) out.from = from.toISOString()
    if (to && !Number.isNaN(to.getTime())) out.to = to.toISOString()
  }
  return out
}

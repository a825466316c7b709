// The dashboard's data model: the analytics API's shapes (docs/api.md, "Analytics"), the widget
// catalogue, the layout document stored through /api/v1/me/dashboards, and the time range. Pure
// functions only (tested in model.test.ts); api.ts fetches, the widgets draw.
import type { Schemas } from '@/api/client'

/** GET /api/v1/analytics/summary */
export type Summary = Schemas['AnalyticsSummary']
/** One item of GET /api/v1/analytics/pipelines */
export type PipelineStat = Schemas['PipelineAnalytics']

export type Metric =
  | 'rows_in' | 'rows_out' | 'rows_rejected' | 'bytes' | 'runs_started' | 'runs_succeeded' | 'runs_failed'
  | 'duration_ms_avg' | 'rows_per_second' | 'dead_letters' | 'stream_lag'

export type Point = Schemas['TimeseriesPoint']
export type Series = Schemas['TimeseriesSeries']
/** GET /api/v1/analytics/timeseries */
export type Timeseries = Schemas['Timeseries']

// ---- widgets ----

export type WidgetKind =
  | 'runs_by_status' | 'throughput' | 'running_now' | 'failing_pipelines' | 'stale_pipelines'
  | 'dead_letter_rate' | 'worker_health' | 'stream_lag'

export interface WidgetInfo {
  kind: WidgetKind
  title: string
  description: string
  /** Default and minimum size in grid cells (12 columns, 40 px rows). */
  w: number
  h: number
  minW: number
  minH: number
}

export const WIDGETS: Record<WidgetKind, WidgetInfo> = {
  runs_by_status: { kind: 'runs_by_status', title: 'Runs by status', description: 'How many runs started in the range ended in each status.', w: 4, h: 7, minW: 3, minH: 5 },
  throughput: { kind: 'throughput', title: 'Records per second', description: 'Rows read per second over the range, all pipelines.', w: 8, h: 7, minW: 4, minH: 5 },
  running_now: { kind: 'running_now', title: 'Running now', description: 'Runs executing at this moment, updated live.', w: 4, h: 7, minW: 3, minH: 4 },
  failing_pipelines: { kind: 'failing_pipelines', title: 'Failing pipelines', description: 'Pipelines whose last run failed.', w: 4, h: 7, minW: 3, minH: 4 },
  stale_pipelines: { kind: 'stale_pipelines', title: 'Stale pipelines', description: 'Scheduled pipelines whose last success is older than twice their interval.', w: 4, h: 7, minW: 3, minH: 4 },
  dead_letter_rate: { kind: 'dead_letter_rate', title: 'Dead-letter rate', description: 'Rows sent to dead-letter sets per row read, with the count over time.', w: 4, h: 6, minW: 3, minH: 4 },
  worker_health: { kind: 'worker_health', title: 'Workers and queue', description: 'Workers up and down, and runs waiting in the queue.', w: 4, h: 6, minW: 3, minH: 4 },
  stream_lag: { kind: 'stream_lag', title: 'Stream lag', description: 'The largest consumer lag of streaming runs over time.', w: 4, h: 6, minW: 3, minH: 4 },
}

export const WIDGET_KINDS = Object.keys(WIDGETS) as WidgetKind[]

export interface WidgetPlacement {
  i: string
  kind: WidgetKind
  x: number
  y: number
  w: number
  h: number
}

/** The layout document kept in a dashboard layout's `layout` field. */
export interface DashboardDoc {
  version: 1
  widgets: WidgetPlacement[]
}

export const COLS = 12

/** The dashboard a user has before saving one: every widget, in a sensible order. */
export function defaultDoc(): DashboardDoc {
  const order: Array<[WidgetKind, number, number]> = [
    ['runs_by_status', 0, 0], ['throughput', 4, 0],
    ['running_now', 0, 7], ['failing_pipelines', 4, 7], ['stale_pipelines', 8, 7],
    ['dead_letter_rate', 0, 14], ['worker_health', 4, 14], ['stream_lag', 8, 14],
  ]
  return {
    version: 1,
    widgets: order.map(([kind, x, y]) => ({ i: kind, kind, x, y, w: WIDGETS[kind].w, h: WIDGETS[kind].h })),
  }
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v)

/**
 * Reads a stored layout. Widgets of an unknown kind or with bad geometry are dropped (a layout saved
 * by a newer version stays usable); sizes are clamped to the grid; ids are made unique. A document
 * that is not a layout at all (an empty object: a dashboard saved by another client) gives null.
 */
export function parseDoc(raw: unknown): DashboardDoc | null {
  if (!raw || typeof raw !== 'object' || !Array.isArray((raw as { widgets?: unknown }).widgets)) return null
  const seen = new Set<string>()
  const widgets: WidgetPlacement[] = []
  for (const w of (raw as { widgets: unknown[] }).widgets) {
    if (!w || typeof w !== 'object') continue
    const { i, kind, x, y, w: width, h } = w as Record<string, unknown>
    if (typeof kind !== 'string' || !(kind in WIDGETS)) continue
    if (!isInt(x) || !isInt(y) || !isInt(width) || !isInt(h)) continue
    const info = WIDGETS[kind as WidgetKind]
    let id = typeof i === 'string' && i ? i : kind
    while (seen.has(id)) id += '_'
    seen.add(id)
    const ww = Math.min(COLS, Math.max(info.minW, width))
    widgets.push({
      i: id, kind: kind as WidgetKind,
      x: Math.min(COLS - ww, Math.max(0, x)), y: Math.max(0, y),
      w: ww, h: Math.max(info.minH, Math.min(40, h)),
    })
  }
  return { version: 1, widgets }
}

/** Applies positions from the grid (by id) to the document's widgets. */
export function applyLayout(doc: DashboardDoc, layout: ReadonlyArray<{ i: string; x: number; y: number; w: number; h: number }>): DashboardDoc {
  const byId = new Map(layout.map((l) => [l.i, l]))
  return {
    ...doc,
    widgets: doc.widgets.map((w) => {
      const l = byId.get(w.i)
      return l ? { ...w, x: l.x, y: l.y, w: l.w, h: l.h } : w
    }),
  }
}

/** Adds a widget of kind at the bottom of the dashboard. */
export function addWidget(doc: DashboardDoc, kind: WidgetKind): DashboardDoc {
  const bottom = doc.widgets.reduce((m, w) => Math.max(m, w.y + w.h), 0)
  let id: string = kind
  for (let n = 2; doc.widgets.some((w) => w.i === id); n++) id = `${kind}_${n}`
  const info = WIDGETS[kind]
  return { ...doc, widgets: [...doc.widgets, { i: id, kind, x: 0, y: bottom, w: info.w, h: info.h }] }
}

export function removeWidget(doc: DashboardDoc, id: string): DashboardDoc {
  return { ...doc, widgets: doc.widgets.filter((w) => w.i !== id) }
}

// ---- time range ----

export type RangePreset = '1h' | '24h' | '7d' | '30d'
export type RangeSpec = { preset: RangePreset } | { preset: 'custom'; from: string; to: string }

export const PRESETS: Array<{ value: RangePreset; label: string; ms: number }> = [
  { value: '1h', label: 'Last hour', ms: 3600_000 },
  { value: '24h', label: 'Last 24 hours', ms: 86_400_000 },
  { value: '7d', label: 'Last 7 days', ms: 7 * 86_400_000 },
  { value: '30d', label: 'Last 30 days', ms: 30 * 86_400_000 },
]

/** The absolute from/to (RFC 3339) of a range at time now, rounded down to the minute so that query keys stay stable. */
export function resolveRange(r: RangeSpec, now: number): { from: string; to: string } {
  if (r.preset === 'custom') return { from: new Date(r.from).toISOString(), to: new Date(r.to).toISOString() }
  const ms = PRESETS.find((p) => p.value === r.preset)?.ms ?? 86_400_000
  const to = Math.floor(now / 60_000) * 60_000 + 60_000
  return { from: new Date(to - ms).toISOString(), to: new Date(to).toISOString() }
}

/** Reads a range from the page's search parameters (?range=7d or ?from=..&to=..); 24 h otherwise. */
export function rangeFromSearch(sp: URLSearchParams): RangeSpec {
  const from = sp.get('from')
  const to = sp.get('to')
  if (from && to && !Number.isNaN(Date.parse(from)) && !Number.isNaN(Date.parse(to)) && Date.parse(from) < Date.parse(to)) {
    return { preset: 'custom', from, to }
  }
  const p = sp.get('range')
  return { preset: PRESETS.some((x) => x.value === p) ? (p as RangePreset) : '24h' }
}

export function rangeLabel(r: RangeSpec): string {
  if (r.preset !== 'custom') return PRESETS.find((p) => p.value === r.preset)?.label ?? ''
  const f = (s: string) => new Date(s).toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' })
  return `${f(r.from)} – ${f(r.to)}`
}

// ---- chart data ----

/** The most points a chart draws: more buckets are merged (drawing 1,440 SVG bars or points per chart is slow). */
export const MAX_CHART_POINTS = 240

/**
 * The points of a metric over [from, to) at step, ready to draw: missing buckets filled with 0 for a
 * count (the API omits empty buckets) or left null for a gauge (rate, lag) so that a line breaks; then,
 * beyond MAX_CHART_POINTS, neighbouring buckets merged by agg (sum for counts, avg or max for gauges).
 */
export function fillSeries(
  points: Point[], from: string, to: string, step: string, fill: 0 | null, agg: 'sum' | 'avg' | 'max' = fill === 0 ? 'sum' : 'max',
): Array<{ t: number; value: number | null }> {
  const stepMs = step === '1d' ? 86_400_000 : step === '1h' ? 3600_000 : 60_000
  const start = Math.floor(Date.parse(from) / stepMs) * stepMs
  const end = Date.parse(to)
  const byT = new Map(points.map((p) => [Math.floor(Date.parse(p.t) / stepMs) * stepMs, p.value]))
  const out: Array<{ t: number; value: number | null }> = []
  // bounded: the API returns at most ~1,500 buckets for step=auto; never more than 50,000 here
  for (let t = start; t < end && out.length < 50_000; t += stepMs) out.push({ t, value: byT.get(t) ?? fill })
  if (out.length <= MAX_CHART_POINTS) return out
  const k = Math.ceil(out.length / MAX_CHART_POINTS)
  const merged: Array<{ t: number; value: number | null }> = []
  for (let i = 0; i < out.length; i += k) {
    const vs = out.slice(i, i + k).map((p) => p.value).filter((v): v is number => v !== null)
    let value: number | null = null
    if (vs.length) value = agg === 'sum' ? vs.reduce((a, b) => a + b, 0) : agg === 'max' ? Math.max(...vs) : vs.reduce((a, b) => a + b, 0) / vs.length
    merged.push({ t: out[i].t, value })
  }
  return merged
}

export const STATUS_ORDER = ['succeeded', 'failed', 'running', 'queued', 'cancelled'] as const

/** runs_by_status as chart slices in a fixed order, zero slices left out. */
export function statusSlices(byStatus: Record<string, number>): Array<{ status: string; count: number }> {
  const known = STATUS_ORDER.map((s) => ({ status: s as string, count: byStatus[s] ?? 0 }))
  const other = Object.entries(byStatus)
    .filter(([s]) => !(STATUS_ORDER as readonly string[]).includes(s))
    .map(([status, count]) => ({ status, count }))
  return [...known, ...other].filter((s) => s.count > 0)
}

/** "3 h 20 min" for a number of seconds. */
export function formatAge(seconds: number | null | undefined): string {
  if (seconds == null || !Number.isFinite(seconds)) return 'never'
  const s = Math.max(0, Math.round(seconds))
  if (s < 60) return `${s} s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m} min`
  const h = Math.floor(m / 60)
  if (h < 48) return `${h} h${m % 60 ? ` ${m % 60} min` : ''}`
  return `${Math.floor(h / 24)} d`
}

/** Compact numbers for chart axes and tiles: 950, 12.5k, 3.2M. */
export function compact(n: number): string {
  return new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 }).format(n)
}

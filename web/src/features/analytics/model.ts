// Pure helpers of the query page: which columns are numbers, the chart a result gets by default,
// the rows a chart draws, and how a value is shown in the table.
import type { ChartType, QueryChart, QueryColumn, QueryResult } from './api'

export const chartTypes: Array<{ id: ChartType; label: string }> = [
  { id: 'line', label: 'Line' },
  { id: 'bar', label: 'Bar' },
  { id: 'area', label: 'Area' },
]

const numericTypes = new Set(['int', 'float', 'decimal'])

/** Whether a column holds numbers: by its type, or, for text, every non-null value is a number. */
export function isNumeric(col: QueryColumn, index: number, rows: ReadonlyArray<unknown[] | null>): boolean {
  if (numericTypes.has(col.type)) return true
  if (col.type !== 'string') return false
  let seen = 0
  for (const r of rows) {
    const v = r?.[index]
    if (v == null || v === '') continue
    if (typeof v !== 'string' || !/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(v.trim())) return false
    seen++
  }
  return seen > 0
}

/** The numeric columns of a result, by name. */
export function numericColumns(res: Pick<QueryResult, 'columns' | 'rows'>): string[] {
  return res.columns.filter((c, i) => isNumeric(c, i, res.rows)).map((c) => c.name)
}

/**
 * The chart a result gets when none is saved: x is the first date or text column (else the first
 * column), y the numeric columns other than x (at most three). Type is a line over dates and a bar
 * chart otherwise. null when there is nothing numeric to draw.
 */
export function defaultChart(res: Pick<QueryResult, 'columns' | 'rows'>): QueryChart | null {
  const nums = numericColumns(res)
  const x =
    res.columns.find((c) => c.type === 'date' || c.type === 'timestamp') ??
    res.columns.find((c) => !nums.includes(c.name)) ??
    res.columns[0]
  if (!x) return null
  const y = nums.filter((n) => n !== x.name).slice(0, 3)
  if (y.length === 0) return null
  return { type: x.type === 'date' || x.type === 'timestamp' ? 'line' : 'bar', x: x.name, y }
}

/** Keeps a chart's columns to those the result has; fills what is missing from defaultChart. */
export function fitChart(chart: QueryChart | null | undefined, res: Pick<QueryResult, 'columns' | 'rows'>): QueryChart | null {
  const names = new Set(res.columns.map((c) => c.name))
  const nums = numericColumns(res)
  const fallback = defaultChart(res)
  if (!chart || !chart.type) return fallback
  const x = names.has(chart.x) ? chart.x : (fallback?.x ?? res.columns[0]?.name ?? '')
  const y = (chart.y ?? []).filter((n) => nums.includes(n) && n !== x)
  return { type: chart.type, x, y: y.length ? y : (fallback?.y ?? []) }
}

function toNumber(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v)
    return Number.isFinite(n) ? n : null
  }
  return null
}

/** The rows a chart draws: one object per result row with x as text and each y as a number (or null). */
export function chartData(res: Pick<QueryResult, 'columns' | 'rows'>, chart: QueryChart): Array<Record<string, string | number | null>> {
  const xi = res.columns.findIndex((c) => c.name === chart.x)
  const ys = chart.y.map((n) => [n, res.columns.findIndex((c) => c.name === n)] as const).filter(([, i]) => i >= 0)
  return res.rows.map((row) => {
    const r = row ?? []
    const o: Record<string, string | number | null> = { [chart.x]: xi >= 0 ? display(r[xi]) : '' }
    for (const [n, i] of ys) o[n] = toNumber(r[i])
    return o
  })
}

/** A value as the table shows it. */
export function display(v: unknown): string {
  if (v == null) return ''
  if (typeof v === 'object') return JSON.stringify(v)
  return String(v)
}

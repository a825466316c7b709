// System logs page logic: the filters live in the URL (shareable), the levels are chips.

export const levels = ['debug', 'info', 'warn', 'error'] as const
export type Level = (typeof levels)[number]

export const levelTone = { debug: 'gray', info: 'blue', warn: 'amber', error: 'red' } as const

/** The query of GET /api/v1/system/logs from the page's search params (empty filters left out). */
export function logQuery(sp: URLSearchParams): {
  level?: Level[]
  component?: string
  request_id?: string
  run_id?: string
  q?: string
  from?: string
  to?: string
} {
  const out: ReturnType<typeof logQuery> = {}
  const lv = selectedLevels(sp)
  if (lv.length > 0 && lv.length < levels.length) out.level = lv
  for (const k of ['component', 'request_id', 'run_id', 'q'] as const) {
    const v = sp.get(k)?.trim()
    if (v) out[k] = v
  }
  for (const k of ['from', 'to'] as const) {
    const v = toRFC3339(sp.get(k))
    if (v) out[k] = v
  }
  return out
}

/** The levels chosen (none: every level). */
export function selectedLevels(sp: URLSearchParams): Level[] {
  const raw = (sp.get('level') ?? '').split(',')
  return levels.filter((l) => raw.includes(l))
}

/** The level param after a chip is clicked: toggles it; all or none selected means no filter. */
export function toggleLevel(sp: URLSearchParams, l: Level): string {
  const cur = new Set(selectedLevels(sp))
  if (cur.has(l)) cur.delete(l)
  else cur.add(l)
  const next = levels.filter((x) => cur.has(x))
  return next.length === levels.length ? '' : next.join(',')
}

/** datetime-local value (local wall time) -> RFC 3339, or undefined. */
export function toRFC3339(local: string | null | undefined): string | undefined {
  if (!local) return undefined
  const d = new Date(local)
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString()
}

/** A record's attributes as short "key=value" pairs for the table (the drawer shows them all). */
export function attrPairs(attrs: unknown, max = 4): string[] {
  if (!attrs || typeof attrs !== 'object' || Array.isArray(attrs)) return []
  const order = ['route', 'status', 'duration', 'error']
  const entries = Object.entries(attrs as Record<string, unknown>).sort(([a], [b]) => {
    const ia = order.indexOf(a), ib = order.indexOf(b)
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.localeCompare(b)
  })
  return entries.slice(0, max).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
}

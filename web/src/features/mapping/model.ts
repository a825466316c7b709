// The schema-mapping studio's state and its translation to and from a map node's config
// (docs/transformations.md "map"). Pure functions: the studio (MappingStudio.tsx) keeps a
// MappingState, edits it with connect/disconnect/setExpression/acceptSuggestion, and hands
// toConfig(...) to its onChange.
//
// A destination field is fed either by a source field (a rename when the names differ, a cast when
// the types differ) or by an expression over the source fields (map's `expressions`, computed first).
// `select` lists the linked destination fields in destination order, so unlinked source fields are
// left out. Options the studio does not own (drop, defaults, add, ...) are kept as they are.

export interface FieldDef {
  name: string
  /** A record kind: bool, int, float, decimal, string, bytes, date, timestamp, json (absent: unknown). */
  type?: string
}

export type Link = { kind: 'field'; source: string } | { kind: 'expr'; expression: string }

export interface MappingState {
  /** Destination fields, in order. */
  destination: FieldDef[]
  /** Destination field name -> what feeds it. */
  links: Record<string, Link>
}

export interface ExprField {
  name: string
  expression: string
  type?: string
}

export interface MapConfig {
  rename?: Record<string, string>
  select?: string[]
  drop?: string[]
  cast?: Record<string, string>
  defaults?: Record<string, unknown>
  add?: unknown[]
  expressions?: ExprField[]
  [key: string]: unknown
}

/** A suggestion of POST /api/v1/mappings/suggest. */
export interface Suggestion {
  source: string
  destination: string
  source_type?: string
  destination_type?: string
  confidence: number
  match?: string
  cast?: boolean
  type_compatible?: boolean
  reason?: string
}

export const KINDS = ['bool', 'int', 'float', 'decimal', 'string', 'bytes', 'date', 'timestamp', 'json'] as const

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/

/** Builds the studio's state from a map config, the source fields and the known destination fields. */
export function fromConfig(config: MapConfig | undefined, source: FieldDef[], destination: FieldDef[]): MappingState {
  const c = config ?? {}
  const links: Record<string, Link> = {}
  const sourceNames = new Set(source.map((f) => f.name))
  for (const e of c.expressions ?? []) {
    if (!e || typeof e.name !== 'string') continue
    const x = String(e.expression ?? '').trim()
    links[e.name] = IDENT.test(x) && sourceNames.has(x) ? { kind: 'field', source: x } : { kind: 'expr', expression: String(e.expression ?? '') }
  }
  for (const [from, to] of Object.entries(c.rename ?? {})) {
    if (typeof to === 'string' && !links[to]) links[to] = { kind: 'field', source: from }
  }
  const renamedAway = new Set(Object.keys(c.rename ?? {}))
  for (const name of c.select ?? []) {
    if (!links[name] && sourceNames.has(name) && !renamedAway.has(name)) links[name] = { kind: 'field', source: name }
  }
  const dest = destination.map((f) => ({ ...f }))
  const known = new Set(dest.map((f) => f.name))
  const order = [...(c.select ?? []), ...Object.keys(links)]
  for (const name of order) {
    if (links[name] && !known.has(name)) {
      dest.push({ name, type: c.cast?.[name] ?? c.expressions?.find((e) => e.name === name)?.type })
      known.add(name)
    }
  }
  const sourceType = new Map(source.map((f) => [f.name, f.type]))
  for (const f of dest) {
    if (!f.type && c.cast?.[f.name]) f.type = c.cast[f.name]
    // A field copied without a cast keeps its source's type.
    const l = links[f.name]
    if (!f.type && l?.kind === 'field') f.type = sourceType.get(l.source)
  }
  return { destination: dest, links }
}

/** The map config for a state: base's other options kept, rename/select/cast/expressions rewritten. */
export function toConfig(state: MappingState, source: FieldDef[], base: MapConfig = {}): MapConfig {
  const { rename: _r, select: _s, cast: _c, expressions: _e, ...rest } = base
  const sourceNames = new Set(source.map((f) => f.name))
  const typeOf = new Map(source.map((f) => [f.name, f.type]))
  const linked = state.destination.filter((d) => state.links[d.name])
  const rename: Record<string, string> = {}
  const cast: Record<string, string> = {}
  const copies: ExprField[] = []
  const exprs: ExprField[] = []
  const exprNames = new Set(linked.filter((d) => state.links[d.name].kind === 'expr').map((d) => d.name))
  const directUses = new Map<string, number>()
  for (const d of linked) {
    const l = state.links[d.name]
    if (l.kind === 'field') directUses.set(l.source, (directUses.get(l.source) ?? 0) + 1)
  }
  for (const d of linked) {
    const l = state.links[d.name]
    if (l.kind === 'expr') {
      exprs.push(d.type ? { name: d.name, expression: l.expression, type: d.type } : { name: d.name, expression: l.expression })
      continue
    }
    const st = typeOf.get(l.source)
    if (d.type && st && d.type !== st) cast[d.name] = d.type
    if (l.source === d.name) continue
    // A rename is only safe when the new name is free and the source feeds one field; otherwise
    // the value is copied by an expression (computed before any rename).
    const safe = !sourceNames.has(d.name) && !exprNames.has(d.name) && directUses.get(l.source) === 1 && !exprNames.has(l.source)
    if (safe) rename[l.source] = d.name
    else copies.push({ name: d.name, expression: IDENT.test(l.source) ? l.source : `$env[${JSON.stringify(l.source)}]` })
  }
  const out: MapConfig = { ...rest }
  const expressions = [...copies, ...exprs]
  if (expressions.length) out.expressions = expressions
  if (Object.keys(rename).length) out.rename = rename
  if (linked.length) out.select = linked.map((d) => d.name)
  if (Object.keys(cast).length) out.cast = cast
  return out
}

export function connect(s: MappingState, source: string, destination: string): MappingState {
  return { ...s, links: { ...s.links, [destination]: { kind: 'field', source } } }
}

export function disconnect(s: MappingState, destination: string): MappingState {
  const links = { ...s.links }
  delete links[destination]
  return { ...s, links }
}

export function setExpression(s: MappingState, destination: string, expression: string): MappingState {
  return { ...s, links: { ...s.links, [destination]: { kind: 'expr', expression } } }
}

export function addDestination(s: MappingState, f: FieldDef): MappingState {
  if (!f.name || s.destination.some((d) => d.name === f.name)) return s
  return { ...s, destination: [...s.destination, f] }
}

export function removeDestination(s: MappingState, name: string): MappingState {
  const links = { ...s.links }
  delete links[name]
  return { destination: s.destination.filter((d) => d.name !== name), links }
}

export function setDestinationType(s: MappingState, name: string, type: string | undefined): MappingState {
  return { ...s, destination: s.destination.map((d) => (d.name === name ? { ...d, type: type || undefined } : d)) }
}

export function acceptSuggestion(s: MappingState, sg: Suggestion): MappingState {
  let next = s
  if (!next.destination.some((d) => d.name === sg.destination)) next = addDestination(next, { name: sg.destination, type: sg.destination_type })
  return connect(next, sg.source, sg.destination)
}

export function acceptAll(s: MappingState, sgs: Suggestion[]): MappingState {
  return sgs.reduce(acceptSuggestion, s)
}

/**
 * How a value of kind `from` becomes kind `to`, following record.Cast: 'same', 'safe' (always
 * converts), 'parse' (converts when the value parses; other rows are rejected), or 'never'.
 */
export function castability(from: string | undefined, to: string | undefined): 'same' | 'safe' | 'parse' | 'never' | 'unknown' {
  if (!from || !to) return 'unknown'
  if (from === to) return 'same'
  if (to === 'string' || to === 'json') return 'safe'
  if (from === 'string' || from === 'json') return 'parse'
  const table: Record<string, Record<string, 'safe' | 'parse'>> = {
    int: { bool: 'safe', float: 'parse', decimal: 'parse' },
    float: { int: 'safe', decimal: 'safe', bool: 'safe' },
    decimal: { int: 'safe', float: 'parse' },
    bool: { int: 'parse' },
    date: { timestamp: 'safe' },
    timestamp: { date: 'safe', int: 'safe' },
  }
  return table[to]?.[from] ?? 'never'
}

export interface FieldProblem {
  level: 'error' | 'warning'
  message: string
}

/** Problems of each destination field, found before a run: unknown sources, impossible casts. */
export function problems(s: MappingState, source: FieldDef[]): Record<string, FieldProblem> {
  const out: Record<string, FieldProblem> = {}
  const types = new Map(source.map((f) => [f.name, f.type]))
  for (const d of s.destination) {
    const l = s.links[d.name]
    if (!l) continue
    if (l.kind === 'expr') {
      if (!l.expression.trim()) out[d.name] = { level: 'error', message: 'The expression is empty.' }
      continue
    }
    if (!types.has(l.source)) {
      out[d.name] = { level: 'error', message: `Source field "${l.source}" does not exist.` }
      continue
    }
    const st = types.get(l.source)
    const c = castability(st, d.type)
    if (c === 'never') out[d.name] = { level: 'error', message: `${st} "${l.source}" cannot become ${d.type}.` }
    else if (c === 'parse') out[d.name] = { level: 'warning', message: `${st} "${l.source}" must parse as ${d.type}; rows that do not are rejected.` }
  }
  return out
}

/** Source fields no destination field uses. */
export function unusedSources(s: MappingState, source: FieldDef[]): string[] {
  const used = new Set(Object.values(s.links).flatMap((l) => (l.kind === 'field' ? [l.source] : [])))
  return source.map((f) => f.name).filter((n) => !used.has(n))
}

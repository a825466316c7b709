// The pipeline spec as the web app sees it (DESIGN.md "Pipeline spec", docs/pipeline-spec.md) and the
// pure operations the builder performs on it. The spec is the single source of truth: the canvas is
// drawn from it (flow.ts) and the YAML text follows it (builder/yamlSync.ts). Nothing here touches React.

export type NodeKind = 'source' | 'transform' | 'destination'

/** One source, transform or destination of a spec. Keys the UI does not know are kept as they are. */
export interface SpecNode {
  id: string
  type?: string
  /** sources/destinations: a connector saved on the server, instead of type + config */
  connector?: string
  /** transforms: a transformation saved on the server, instead of type + config */
  transformation?: string
  inputs?: string[] | string
  config?: Record<string, unknown>
  [key: string]: unknown
}

export interface PipelineSpec {
  version: number
  name: string
  description?: string
  sources: SpecNode[]
  transforms?: SpecNode[]
  destinations: SpecNode[]
  [key: string]: unknown
}

/** The list key of the spec that holds each kind of node. */
export const listOf: Record<NodeKind, 'sources' | 'transforms' | 'destinations'> = {
  source: 'sources',
  transform: 'transforms',
  destination: 'destinations',
}

export const kinds: NodeKind[] = ['source', 'transform', 'destination']

/** A node of the spec with its kind and its position in its list. */
export interface LocatedNode {
  kind: NodeKind
  index: number
  node: SpecNode
}

/** Input bounds of a transform type (from GET /api/v1/transform-types; max 0 means no limit). */
export interface InputBounds {
  min_inputs: number
  max_inputs: number
}

export function emptySpec(name = 'new-pipeline'): PipelineSpec {
  return { version: 1, name, sources: [], transforms: [], destinations: [] }
}

/** inputs as a list ("inputs: orders" is accepted as [orders]). */
export function inputsOf(n: SpecNode): string[] {
  if (Array.isArray(n.inputs)) return n.inputs.filter((x): x is string => typeof x === 'string')
  if (typeof n.inputs === 'string' && n.inputs) return [n.inputs]
  return []
}

/** Every node of the spec, sources first, then transforms, then destinations, each in its list order. */
export function allNodes(spec: PipelineSpec): LocatedNode[] {
  const out: LocatedNode[] = []
  for (const kind of kinds) {
    const list = spec[listOf[kind]]
    if (!Array.isArray(list)) continue
    list.forEach((node, index) => {
      if (node && typeof node === 'object' && typeof node.id === 'string') out.push({ kind, index, node })
    })
  }
  return out
}

export function findNode(spec: PipelineSpec, id: string): LocatedNode | undefined {
  return allNodes(spec).find((n) => n.node.id === id)
}

/** The label of a node's type: its type, or the saved connector / transformation it names. */
export function typeLabel(n: SpecNode): string {
  if (n.type) return n.type
  if (n.connector) return `connector: ${n.connector}`
  if (n.transformation) return `transformation: ${n.transformation}`
  return '?'
}

/** A new id for a node of this type that no node of the spec has yet (orders, orders_2, ...). */
export function uniqueId(spec: PipelineSpec, base: string): string {
  const clean = base.replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^[^A-Za-z0-9]+/, '') || 'node'
  const taken = new Set(allNodes(spec).map((n) => n.node.id))
  if (!taken.has(clean)) return clean
  for (let i = 2; ; i++) if (!taken.has(`${clean}_${i}`)) return `${clean}_${i}`
}

/**
 * mappingNodeFor is the map transform whose fields the mapping studio edits for node id: the node
 * itself when it is a map, the map feeding a destination directly, else undefined.
 */
export function mappingNodeFor(spec: PipelineSpec, id: string): string | undefined {
  const loc = findNode(spec, id)
  if (!loc) return undefined
  if (loc.kind === 'transform' && loc.node.type === 'map') return id
  if (loc.kind !== 'destination') return undefined
  const maps = inputsOf(loc.node).filter((i) => {
    const up = findNode(spec, i)
    return up?.kind === 'transform' && up.node.type === 'map'
  })
  return maps.length === 1 ? maps[0] : undefined
}

function withList(spec: PipelineSpec, kind: NodeKind, f: (list: SpecNode[]) => SpecNode[]): PipelineSpec {
  const key = listOf[kind]
  const list = Array.isArray(spec[key]) ? (spec[key] as SpecNode[]) : []
  return { ...spec, [key]: f(list) }
}

function mapNode(spec: PipelineSpec, id: string, f: (n: SpecNode) => SpecNode): PipelineSpec {
  const loc = findNode(spec, id)
  if (!loc) return spec
  return withList(spec, loc.kind, (list) => list.map((n, i) => (i === loc.index ? f(n) : n)))
}

/** Adds a node of a kind and type with a fresh id; returns the new spec and the id. */
export function addNode(
  spec: PipelineSpec, kind: NodeKind, type: string, opts: { id?: string; config?: Record<string, unknown> } = {},
): { spec: PipelineSpec; id: string } {
  const id = uniqueId(spec, opts.id ?? type)
  const node: SpecNode = { id, type }
  if (kind !== 'source') node.inputs = []
  node.config = opts.config ?? {}
  return { spec: withList(spec, kind, (list) => [...list, node]), id }
}

/** Removes a node and every edge that reads it. */
export function removeNode(spec: PipelineSpec, id: string): PipelineSpec {
  const loc = findNode(spec, id)
  if (!loc) return spec
  let next = withList(spec, loc.kind, (list) => list.filter((_, i) => i !== loc.index))
  for (const n of allNodes(next)) {
    if (inputsOf(n.node).includes(id)) next = disconnect(next, id, n.node.id)
  }
  return next
}

/** Renames a node and every input that names it. Refused (spec unchanged) when the id is taken or invalid. */
export function renameNode(spec: PipelineSpec, from: string, to: string): { spec: PipelineSpec; error?: string } {
  if (from === to) return { spec }
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(to)) {
    return { spec, error: 'An id has letters, digits, "_", "." or "-" and starts with a letter or digit' }
  }
  if (findNode(spec, to)) return { spec, error: `Another node is already called "${to}"` }
  let next = mapNode(spec, from, (n) => ({ ...n, id: to }))
  for (const n of allNodes(next)) {
    const ins = inputsOf(n.node)
    if (ins.includes(from)) next = mapNode(next, n.node.id, (m) => ({ ...m, inputs: ins.map((x) => (x === from ? to : x)) }))
  }
  return { spec: next }
}

export function setConfig(spec: PipelineSpec, id: string, config: Record<string, unknown>): PipelineSpec {
  return mapNode(spec, id, (n) => ({ ...n, config }))
}

export function updateNode(spec: PipelineSpec, id: string, patch: Partial<SpecNode>): PipelineSpec {
  return mapNode(spec, id, (n) => ({ ...n, ...patch }))
}

/** The edges of the spec: one per input, from the input's node to the node reading it, in input order. */
export function specEdges(spec: PipelineSpec): Array<{ source: string; target: string; index: number }> {
  const out: Array<{ source: string; target: string; index: number }> = []
  for (const n of allNodes(spec)) {
    if (n.kind === 'source') continue
    inputsOf(n.node).forEach((source, index) => out.push({ source, target: n.node.id, index }))
  }
  return out
}

/** The ids reachable from `from` by following edges downstream. */
function downstream(spec: PipelineSpec, from: string): Set<string> {
  const next = new Map<string, string[]>()
  for (const e of specEdges(spec)) next.set(e.source, [...(next.get(e.source) ?? []), e.target])
  const seen = new Set<string>()
  const stack = [from]
  while (stack.length) {
    const id = stack.pop()!
    for (const t of next.get(id) ?? []) {
      if (!seen.has(t)) {
        seen.add(t)
        stack.push(t)
      }
    }
  }
  return seen
}

/** A cycle of the spec as a list of ids (first repeated at the end), or null when it has none. */
export function findCycle(spec: PipelineSpec): string[] | null {
  const next = new Map<string, string[]>()
  for (const e of specEdges(spec)) next.set(e.source, [...(next.get(e.source) ?? []), e.target])
  const state = new Map<string, 1 | 2>()
  const path: string[] = []
  const visit = (id: string): string[] | null => {
    state.set(id, 1)
    path.push(id)
    for (const t of next.get(id) ?? []) {
      if (state.get(t) === 1) return [...path.slice(path.indexOf(t)), t]
      if (!state.has(t)) {
        const c = visit(t)
        if (c) return c
      }
    }
    path.pop()
    state.set(id, 2)
    return null
  }
  for (const id of next.keys()) {
    if (!state.has(id)) {
      const c = visit(id)
      if (c) return c
    }
  }
  return null
}

/**
 * Why an edge from `source` to `target` may not be added, or null when it may. The rules: both nodes
 * exist, a source reads nothing, a destination feeds nothing, no node reads itself or the same input
 * twice, a transform takes at most its type's max_inputs, and no edge closes a cycle.
 */
export function connectionProblem(
  spec: PipelineSpec, source: string, target: string, bounds?: Record<string, InputBounds>,
): string | null {
  const from = findNode(spec, source)
  const to = findNode(spec, target)
  if (!from) return `There is no node "${source}"`
  if (!to) return `There is no node "${target}"`
  if (source === target) return `"${source}" cannot read its own output`
  if (from.kind === 'destination') return `"${source}" is a destination: it has no output to connect`
  if (to.kind === 'source') return `"${target}" is a source: it reads its data itself and takes no input`
  const ins = inputsOf(to.node)
  if (ins.includes(source)) return `"${target}" already reads "${source}"`
  if (downstream(spec, target).has(source)) {
    return `Connecting "${source}" to "${target}" would make a cycle: "${target}" already feeds "${source}"`
  }
  if (to.kind === 'transform' && to.node.type && bounds?.[to.node.type]) {
    const max = bounds[to.node.type].max_inputs
    if (max > 0 && ins.length >= max) {
      return `A ${to.node.type} transform takes at most ${max} input${max === 1 ? '' : 's'}; "${target}" already reads ${ins.map((i) => `"${i}"`).join(', ')}`
    }
  }
  return null
}

/** Adds an edge (source feeds target), or returns why not. */
export function connect(
  spec: PipelineSpec, source: string, target: string, bounds?: Record<string, InputBounds>,
): { spec: PipelineSpec; error?: string } {
  const error = connectionProblem(spec, source, target, bounds)
  if (error) return { spec, error }
  return { spec: mapNode(spec, target, (n) => ({ ...n, inputs: [...inputsOf(n), source] })) }
}

export function disconnect(spec: PipelineSpec, source: string, target: string): PipelineSpec {
  return mapNode(spec, target, (n) => ({ ...n, inputs: inputsOf(n).filter((i) => i !== source) }))
}

/** Per node id, what is wrong with its inputs (too few for its type, a missing input node). */
export function inputProblems(spec: PipelineSpec, bounds?: Record<string, InputBounds>): Record<string, string> {
  const out: Record<string, string> = {}
  const ids = new Set(allNodes(spec).map((n) => n.node.id))
  for (const n of allNodes(spec)) {
    if (n.kind === 'source') continue
    const ins = inputsOf(n.node)
    const missing = ins.filter((i) => !ids.has(i))
    if (missing.length) out[n.node.id] = `reads ${missing.map((m) => `"${m}"`).join(', ')}, which is not a node`
    else if (ins.length === 0) out[n.node.id] = 'has no input: connect a node to it'
    else if (n.kind === 'transform' && n.node.type && bounds?.[n.node.type]) {
      const min = Math.max(bounds[n.node.type].min_inputs, 1)
      if (ins.length < min) out[n.node.id] = `a ${n.node.type} transform needs at least ${min} inputs`
    }
  }
  return out
}

/**
 * The node a validation problem's path points at ("transforms[0].config.expression" -> the id of the
 * first transform) and the rest of the path ("config.expression"), or null for a pipeline-wide problem.
 */
export function nodeOfPath(spec: PipelineSpec, path: string): { id: string; field: string } | null {
  const m = /^(sources|transforms|destinations)\[(\d+)\]\.?(.*)$/.exec(path)
  if (!m) return null
  const list = spec[m[1]]
  const node = Array.isArray(list) ? (list[Number(m[2])] as SpecNode | undefined) : undefined
  if (!node || typeof node.id !== 'string') return null
  return { id: node.id, field: m[3] }
}

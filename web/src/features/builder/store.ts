// The builder's client state: the YAML text (what is saved), the spec parsed from it (what the canvas
// draws), node positions and the selection. The text is the source of truth: a YAML edit re-parses it;
// a canvas edit changes the spec and writes it back into the same YAML document (yamlSync.ts).
import { create } from 'zustand'
import { allNodes, type PipelineSpec } from '@/features/graph'
import { applySpec, parseSpec } from './yamlSync'

export type XY = { x: number; y: number }

interface BuilderState {
  text: string
  /** The text as last saved (or loaded): dirty when text differs. */
  savedText: string
  /** The text as loaded (a template or a blank spec): leaving it untouched asks nothing. */
  loadedText: string
  /** The last spec that parsed; the canvas draws it. */
  spec: PipelineSpec | null
  parseError: { message: string; line?: number } | null
  positions: Record<string, XY>
  selected: string | null
  /** Bumped when the whole graph should be laid out again (load, auto-layout button). */
  layoutRequest: number
  /** The last layoutRequest the canvas carried out. */
  layoutDone: number
  /** The last layoutRequest whose positions are on the canvas. */
  layoutApplied: number
  load: (text: string, opts?: { saved?: boolean }) => void
  setText: (text: string) => void
  /** A canvas edit: the new spec, written back into the YAML. */
  applySpec: (spec: PipelineSpec) => void
  setPositions: (p: Record<string, XY>) => void
  moveNode: (id: string, p: XY) => void
  select: (id: string | null) => void
  markSaved: (text?: string) => void
  requestLayout: () => void
}

export const useBuilder = create<BuilderState>()((set, get) => ({
  text: '',
  savedText: '',
  loadedText: '',
  spec: null,
  parseError: null,
  positions: {},
  selected: null,
  layoutRequest: 0,
  layoutDone: 0,
  layoutApplied: 0,
  load(text, opts = {}) {
    const p = parseSpec(text)
    set({
      text, savedText: opts.saved ? text : '', loadedText: text, spec: p.spec, parseError: p.error, positions: {}, selected: null,
      layoutRequest: get().layoutRequest + 1,
    })
  },
  setText(text) {
    const p = parseSpec(text)
    set(p.spec ? { text, spec: p.spec, parseError: null } : { text, parseError: p.error })
  },
  applySpec(spec) {
    const text = applySpec(get().text, spec)
    const ids = new Set(allNodes(spec).map((n) => n.node.id))
    const selected = get().selected
    set({ text, spec, parseError: null, selected: selected && ids.has(selected) ? selected : null })
  },
  setPositions(p) {
    set({ positions: { ...get().positions, ...p } })
  },
  moveNode(id, p) {
    set({ positions: { ...get().positions, [id]: p } })
  },
  select(id) {
    set({ selected: id })
  },
  markSaved(text) {
    set({ savedText: text ?? get().text })
  },
  requestLayout() {
    set({ layoutRequest: get().layoutRequest + 1 })
  },
}))

/**
 * Positions for nodes that have none yet (added in the YAML): to the right of their inputs, or below
 * the lowest node.
 */
export function placeMissing(spec: PipelineSpec, positions: Record<string, XY>): Record<string, XY> {
  const out = { ...positions }
  let maxY = Math.max(0, ...Object.values(out).map((p) => p.y))
  for (const n of allNodes(spec)) {
    if (out[n.node.id]) continue
    const ins = (Array.isArray(n.node.inputs) ? n.node.inputs : n.node.inputs ? [n.node.inputs] : [])
      .map((i) => out[String(i)])
      .filter(Boolean)
    if (ins.length) {
      out[n.node.id] = { x: Math.max(...ins.map((p) => p.x)) + 300, y: Math.max(...ins.map((p) => p.y)) }
    } else {
      maxY += 110
      out[n.node.id] = { x: n.kind === 'source' ? 0 : n.kind === 'transform' ? 300 : 600, y: maxY }
    }
  }
  return out
}

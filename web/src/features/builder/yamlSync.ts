// Two-way YAML <-> spec. The YAML text is parsed with the `yaml` package's Document API; a change made
// on the canvas is applied to the same Document node by node (syncDoc), so comments, key order and flow
// style ({path: x}) of everything the change did not touch stay as the author wrote them.
import { isMap, isScalar, isSeq, parseDocument, type Document, type Node as YNode } from 'yaml'
import type { PipelineSpec } from '@/features/graph'

export interface Parsed {
  doc: Document
  spec: PipelineSpec | null
  /** The first syntax error, with its line, or a shape error (the document is not a mapping). */
  error: { message: string; line?: number } | null
}

export function parseSpec(text: string): Parsed {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true })
  if (doc.errors.length) {
    const e = doc.errors[0]
    const line = e.linePos?.[0]?.line
    return { doc, spec: null, error: { message: e.message.split('\n')[0], line } }
  }
  const js = doc.toJS() as unknown
  if (!js || typeof js !== 'object' || Array.isArray(js)) {
    return { doc, spec: null, error: { message: 'A pipeline is a mapping with version, name, sources and destinations' } }
  }
  const spec = js as PipelineSpec
  for (const k of ['sources', 'transforms', 'destinations'] as const) {
    if (spec[k] != null && !Array.isArray(spec[k])) return { doc, spec: null, error: { message: `${k} must be a list` } }
  }
  return { doc, spec, error: null }
}

export function stringify(doc: Document): string {
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false })
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v)
const isScalarValue = (v: unknown) => v === null || ['string', 'number', 'boolean'].includes(typeof v)

function create(doc: Document, value: unknown): YNode {
  const n = doc.createNode(value) as YNode
  // Short lists of names (inputs, keys) read best inline: inputs: [orders].
  if (isSeq(n) && Array.isArray(value) && value.every(isScalarValue)) n.flow = true
  return n
}

function sync(doc: Document, node: unknown, value: unknown): YNode {
  if (isPlainObject(value)) {
    if (!isMap(node)) return create(doc, value)
    for (const pair of [...node.items]) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key)
      if (!(key in value) || value[key] === undefined) node.delete(pair.key)
    }
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue
      const existing = node.get(k, true) as unknown
      if (existing === undefined) node.set(k, create(doc, v))
      else {
        const next = sync(doc, existing, v)
        if (next !== existing) node.set(k, next)
      }
    }
    return node
  }
  if (Array.isArray(value)) {
    if (!isSeq(node)) return create(doc, value)
    // "sources: []" written inline becomes a block list once it holds nodes.
    if (node.flow && value.some(isPlainObject)) node.flow = false
    const old = [...node.items]
    const newIds = new Set(value.map((v) => (isPlainObject(v) ? v.id : undefined)))
    node.items = value.map((v, i) => {
      let match: unknown
      if (isPlainObject(v) && typeof v.id === 'string') {
        match = old.find((it) => isMap(it) && it.get('id') === v.id)
        // A renamed node keeps its place (and its comments) when the old id went away.
        const here = old[i]
        if (match === undefined && isMap(here) && !newIds.has(here.get('id'))) match = here
      } else {
        match = old[i]
      }
      return match === undefined ? create(doc, v) : sync(doc, match, v)
    })
    return node
  }
  if (isScalar(node)) {
    if (node.value !== value) node.value = value
    return node
  }
  return create(doc, value)
}

/** Makes doc hold value, touching only the nodes that differ. */
export function syncDoc(doc: Document, value: PipelineSpec): void {
  if (!isMap(doc.contents)) {
    doc.contents = doc.createNode(value) as typeof doc.contents
    return
  }
  sync(doc, doc.contents, value)
}

/** The YAML text after a canvas change: the old text's document, synced to the new spec. */
export function applySpec(text: string, spec: PipelineSpec): string {
  const { doc, error } = parseSpec(text)
  if (error && !isMap(doc.contents)) return stringify(parseDocument(JSON.stringify(spec)))
  syncDoc(doc, spec)
  return stringify(doc)
}

export function blankSpecText(name: string): string {
  return `version: 1\nname: ${name}\nsources: []\ntransforms: []\ndestinations: []\n`
}

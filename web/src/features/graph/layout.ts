// Auto-layout with elkjs (layered, left to right). Returns a position per node id; the caller merges it.
// elkjs is large (about 1.4 MB): it is loaded on the first layout, as its own chunk.
import type { ELK as Elk } from 'elkjs/lib/elk-api'
import { NODE_HEIGHT, NODE_WIDTH } from './flow'

let elk: Promise<Elk> | null = null
function getElk(): Promise<Elk> {
  elk ??= import('elkjs/lib/elk.bundled.js').then((m) => new m.default())
  return elk
}

export interface LayoutInput {
  nodes: Array<{ id: string; width?: number; height?: number }>
  edges: Array<{ id: string; source: string; target: string }>
}

export async function layout({ nodes, edges }: LayoutInput): Promise<Record<string, { x: number; y: number }>> {
  const ids = new Set(nodes.map((n) => n.id))
  const graph = await (await getElk()).layout({
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'RIGHT',
      'elk.layered.spacing.nodeNodeBetweenLayers': '80',
      'elk.spacing.nodeNode': '36',
      'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF',
      'elk.edgeRouting': 'ORTHOGONAL',
    },
    children: nodes.map((n) => ({ id: n.id, width: n.width ?? NODE_WIDTH, height: n.height ?? NODE_HEIGHT })),
    edges: edges
      .filter((e) => ids.has(e.source) && ids.has(e.target))
      .map((e) => ({ id: e.id, sources: [e.source], targets: [e.target] })),
  })
  const out: Record<string, { x: number; y: number }> = {}
  for (const c of graph.children ?? []) out[c.id] = { x: c.x ?? 0, y: c.y ?? 0 }
  return out
}

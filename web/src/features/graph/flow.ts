// spec -> React Flow nodes and edges. Node ids are the spec's node ids; an edge's id is
// "<source>-><target>". Positions come from a layout (layout.ts) or from the builder's store.
import type { Edge, Node } from '@xyflow/react'
import { allNodes, specEdges, typeLabel, type NodeKind, type PipelineSpec } from './spec'

export interface PipelineNodeData extends Record<string, unknown> {
  kind: NodeKind
  /** The connector / transform type, or "connector: name" for a saved one. */
  type: string
  config: Record<string, unknown>
  inputs: string[]
  /** Problems found on this node (validation); shown as a red badge. */
  problems?: string[]
  /** Anything the page wants to show on the node (run counters, a status). */
  badge?: React.ReactNode
  /** A chip on the node's lower edge (a stateful node's memory and spill figures). */
  chip?: React.ReactNode
}

export type PipelineFlowNode = Node<PipelineNodeData, 'pipeline'>

export const NODE_WIDTH = 220
export const NODE_HEIGHT = 72

export const edgeId = (source: string, target: string) => `${source}->${target}`

export function specToFlow(
  spec: PipelineSpec, positions: Record<string, { x: number; y: number }> = {},
): { nodes: PipelineFlowNode[]; edges: Edge[] } {
  const located = allNodes(spec)
  const nodes: PipelineFlowNode[] = located.map((n, i) => ({
    id: n.node.id,
    type: 'pipeline',
    position: positions[n.node.id] ?? { x: i * (NODE_WIDTH + 60), y: 0 },
    width: NODE_WIDTH,
    height: NODE_HEIGHT,
    data: {
      kind: n.kind,
      type: typeLabel(n.node),
      config: (n.node.config && typeof n.node.config === 'object' ? n.node.config : {}) as Record<string, unknown>,
      inputs: [],
    },
  }))
  const ids = new Set(nodes.map((n) => n.id))
  const inputsByTarget = new Map<string, string[]>()
  const edges: Edge[] = []
  for (const e of specEdges(spec)) {
    inputsByTarget.set(e.target, [...(inputsByTarget.get(e.target) ?? []), e.source])
    if (!ids.has(e.source)) continue // an input naming no node: a validation problem, not an edge
    edges.push({ id: edgeId(e.source, e.target), source: e.source, target: e.target, type: 'smoothstep' })
  }
  for (const n of nodes) n.data.inputs = inputsByTarget.get(n.id) ?? []
  return { nodes, edges }
}

// A read-only picture of a pipeline's DAG (the run page uses it): the spec laid out left to right with
// elkjs, each node with an optional badge (e.g. live counters) and problems. Props:
//   spec      the pipeline spec (an object as the API returns it in `spec`)
//   badges    per node id, something to show on the node (run counters, a status)
//   chips     per node id, a chip on the node's lower edge (a stateful node's memory figures)
//   edgeLabels  per edge id ("<source>-><target>"), something to show on the edge (a queue's fill)
//   problems  per node id, messages shown as a red badge
//   onNodeClick(id)  when a node is clicked (e.g. to filter dead letters by node)
//   selected  the id of a node to highlight
//   height    CSS height of the canvas (default 360px)
import { useEffect, useMemo, useState, type ReactNode } from 'react'
import {
  Background, BaseEdge, Controls, EdgeLabelRenderer, ReactFlow, ReactFlowProvider, getSmoothStepPath, useReactFlow,
  type Edge, type EdgeProps,
} from '@xyflow/react'
import '@xyflow/react/dist/style.css'
import { usePrefs } from '@/app/prefs'
import { nodeTypes } from './PipelineNode'
import { specToFlow } from './flow'
import { layout } from './layout'
import type { PipelineSpec } from './spec'

export interface PipelineGraphProps {
  spec: PipelineSpec
  badges?: Record<string, ReactNode>
  chips?: Record<string, ReactNode>
  edgeLabels?: Record<string, ReactNode | EdgeLabel>
  problems?: Record<string, string[]>
  onNodeClick?: (id: string) => void
  selected?: string | null
  height?: number | string
  className?: string
}

export function PipelineGraph(props: PipelineGraphProps) {
  return (
    <ReactFlowProvider>
      <Graph {...props} />
    </ReactFlowProvider>
  )
}

type LabeledEdgeType = Edge<{ label: ReactNode; tone?: string }, 'labeled'>

/** A smooth-step edge with an HTML label at its middle and an optional stroke colour. */
function LabeledEdge({ id, sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition, markerEnd, data }: EdgeProps<LabeledEdgeType>) {
  const [path, x, y] = getSmoothStepPath({ sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition })
  return (
    <>
      <BaseEdge id={id} path={path} markerEnd={markerEnd} style={data?.tone ? { stroke: data.tone, strokeWidth: 2 } : undefined} />
      <EdgeLabelRenderer>
        <div className="nodrag nopan absolute" style={{ transform: `translate(-50%, -50%) translate(${x}px, ${y}px)` }}>
          {data?.label}
        </div>
      </EdgeLabelRenderer>
    </>
  )
}

const edgeTypes = { labeled: LabeledEdge }

/** An edge label with a stroke colour for its edge (e.g. a full queue). */
export interface EdgeLabel {
  label: ReactNode
  tone?: string
}

function Graph({ spec, badges, chips, edgeLabels, problems, onNodeClick, selected, height = 360, className }: PipelineGraphProps) {
  const base = useMemo(() => specToFlow(spec), [spec])
  const [positions, setPositions] = useState<Record<string, { x: number; y: number }> | null>(null)
  const { fitView } = useReactFlow()
  const dark = useDark()

  useEffect(() => {
    let live = true
    layout(base).then((p) => {
      if (live) setPositions(p)
    })
    return () => {
      live = false
    }
  }, [base])

  useEffect(() => {
    if (positions) requestAnimationFrame(() => void fitView({ padding: 0.15, maxZoom: 1 }))
  }, [positions, fitView])

  const nodes = useMemo(
    () =>
      base.nodes.map((n) => ({
        ...n,
        position: positions?.[n.id] ?? n.position,
        selected: selected === n.id,
        draggable: false,
        connectable: false,
        data: { ...n.data, badge: badges?.[n.id], chip: chips?.[n.id], problems: problems?.[n.id] },
      })),
    [base, positions, badges, chips, problems, selected],
  )
  const edges = useMemo(
    () =>
      base.edges.map((e) => {
        const l = edgeLabels?.[e.id]
        if (l == null) return e
        const { label, tone } = isEdgeLabel(l) ? l : { label: l, tone: undefined }
        return { ...e, type: 'labeled', data: { label, tone } }
      }),
    [base, edgeLabels],
  )

  return (
    <div
      className={className ?? 'rounded-lg border border-slate-200 bg-slate-50 dark:border-slate-800 dark:bg-slate-950'}
      style={{ height }}
      aria-label="Pipeline graph"
      role="figure"
    >
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        edgeTypes={edgeTypes}
        nodesDraggable={false}
        nodesConnectable={false}
        elementsSelectable={!!onNodeClick}
        onNodeClick={onNodeClick ? (_, n) => onNodeClick(n.id) : undefined}
        colorMode={dark ? 'dark' : 'light'}
        fitView
        fitViewOptions={{ padding: 0.15, maxZoom: 1 }}
        proOptions={{ hideAttribution: true }}
        minZoom={0.2}
      >
        <Background gap={20} />
        <Controls showInteractive={false} />
      </ReactFlow>
    </div>
  )
}

function isEdgeLabel(x: unknown): x is EdgeLabel {
  return typeof x === 'object' && x !== null && 'label' in x && !('$$typeof' in x)
}

/** Whether the app is in dark mode (the .dark class on <html>, set from prefs). */
export function useDark(): boolean {
  const theme = usePrefs((s) => s.theme)
  const [dark, setDark] = useState(() => document.documentElement.classList.contains('dark'))
  useEffect(() => {
    setDark(document.documentElement.classList.contains('dark'))
    const obs = new MutationObserver(() => setDark(document.documentElement.classList.contains('dark')))
    obs.observe(document.documentElement, { attributes: true, attributeFilter: ['class'] })
    return () => obs.disconnect()
  }, [theme])
  return dark
}

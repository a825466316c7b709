// The editable canvas: the spec's nodes and edges (React Flow), drag from the palette or drop a file,
// connect handles (an edge that would make a cycle or join incompatible nodes is refused with the
// reason), delete with Backspace/Delete, auto-layout. Node positions are UI state (not in the spec).
import { useCallback, useEffect, useMemo, useState } from 'react'
import {
  Background, Controls, MiniMap, ReactFlow, applyEdgeChanges, applyNodeChanges, useReactFlow, type Connection, type Edge,
  type EdgeChange, type NodeChange,
} from '@xyflow/react'
import '@xyflow/react/dist/style.css'
import { AlertTriangle, FileUp, MousePointerClick } from 'lucide-react'
import {
  addNode, connect, disconnect, layout, nodeTypes, removeNode, specToFlow, useDark, type InputBounds, type NodeKind,
  type PipelineFlowNode,
} from '@/features/graph'
import { toast } from '@/components/toasts'
import { DND_TYPE } from './Palette'
import { placeMissing, useBuilder } from './store'

export interface CanvasProps {
  bounds: Record<string, InputBounds>
  problems: Record<string, string[]>
  readOnly: boolean
  readOnlyReason?: string
  onDropFiles: (files: File[], at: { x: number; y: number }) => void
  uploading?: string | null
}

export function Canvas({ bounds, problems, readOnly, readOnlyReason, onDropFiles, uploading }: CanvasProps) {
  const spec = useBuilder((s) => s.spec)
  const positions = useBuilder((s) => s.positions)
  const selected = useBuilder((s) => s.selected)
  const layoutRequest = useBuilder((s) => s.layoutRequest)
  const layoutApplied = useBuilder((s) => s.layoutApplied)
  const { screenToFlowPosition, fitView } = useReactFlow()
  const dark = useDark()
  const [refusal, setRefusal] = useState<string | null>(null)
  const [dragOver, setDragOver] = useState(false)

  const flow = useMemo(() => (spec ? specToFlow(spec) : { nodes: [], edges: [] }), [spec])
  const placed = useMemo(() => (spec ? placeMissing(spec, positions) : {}), [spec, positions])
  const [nodes, setNodes] = useState<PipelineFlowNode[]>([])
  const [edges, setEdges] = useState<Edge[]>([])

  // Rebuild the React Flow nodes when the spec, positions, problems or selection change (not per drag frame:
  // a drag moves the local node; its position reaches the store when the drag ends).
  // A node whose position, selection, config, inputs and problems did not change keeps its object, so
  // that React Flow redraws only what changed (a drag's end moves one node, not a hundred).
  useEffect(() => {
    setNodes((prev) => {
      const old = new Map(prev.map((n) => [n.id, n]))
      return flow.nodes.map((n) => {
        const position = placed[n.id] ?? n.position
        const probs = problems[n.id]?.length ? problems[n.id] : undefined
        const o = old.get(n.id)
        if (
          o && o.position.x === position.x && o.position.y === position.y && !!o.selected === (n.id === selected) &&
          o.data.kind === n.data.kind && o.data.type === n.data.type && o.data.config === n.data.config &&
          o.data.inputs.join('\n') === n.data.inputs.join('\n') && (o.data.problems ?? []).join('\n') === (probs ?? []).join('\n')
        ) {
          return o
        }
        return { ...n, position, selected: n.id === selected, data: probs ? { ...n.data, problems: probs } : n.data }
      })
    })
  }, [flow, placed, problems, selected])
  useEffect(() => setEdges(flow.edges), [flow])

  // Lay the whole graph out when asked (load, the Auto-layout button).
  useEffect(() => {
    if (!spec || layoutRequest === useBuilder.getState().layoutDone) return
    useBuilder.setState({ layoutDone: layoutRequest })
    const f = specToFlow(spec)
    void layout(f).then((p) => {
      useBuilder.setState({ positions: p })
      // fitView is queued until the moved nodes are measured; "applied" (data-layout="done") waits
      // for the viewport it sets, so that what reads node positions next reads the final ones.
      requestAnimationFrame(() => {
        void fitView({ padding: 0.2, maxZoom: 1 }).finally(() => useBuilder.setState({ layoutApplied: layoutRequest }))
      })
    })
  }, [layoutRequest, spec, fitView])

  const refuse = useCallback((why: string) => {
    setRefusal(why)
    toast.error('Edge refused', why)
  }, [])
  useEffect(() => {
    if (!refusal) return
    const t = setTimeout(() => setRefusal(null), 6000)
    return () => clearTimeout(t)
  }, [refusal])

  const onNodesChange = useCallback((changes: NodeChange<PipelineFlowNode>[]) => {
    setNodes((nds) => applyNodeChanges(changes, nds))
    for (const c of changes) {
      if (c.type === 'position' && c.dragging === false && c.position) useBuilder.getState().moveNode(c.id, c.position)
      if (c.type === 'select') {
        if (c.selected) useBuilder.getState().select(c.id)
        else if (useBuilder.getState().selected === c.id) useBuilder.getState().select(null)
      }
    }
  }, [])
  const onEdgesChange = useCallback((changes: EdgeChange[]) => setEdges((eds) => applyEdgeChanges(changes, eds)), [])

  const onConnect = useCallback(
    (c: Connection) => {
      const s = useBuilder.getState().spec
      if (!s || !c.source || !c.target) return
      const r = connect(s, c.source, c.target, bounds)
      if (r.error) refuse(r.error)
      else {
        setRefusal(null)
        useBuilder.getState().applySpec(r.spec)
      }
    },
    [bounds, refuse],
  )

  const onNodesDelete = useCallback((deleted: PipelineFlowNode[]) => {
    let s = useBuilder.getState().spec
    if (!s) return
    for (const n of deleted) s = removeNode(s, n.id)
    useBuilder.getState().applySpec(s)
  }, [])
  const onEdgesDelete = useCallback((deleted: Edge[]) => {
    let s = useBuilder.getState().spec
    if (!s) return
    for (const e of deleted) s = disconnect(s, e.source, e.target)
    useBuilder.getState().applySpec(s)
  }, [])

  const onDrop = useCallback(
    (e: React.DragEvent) => {
      e.preventDefault()
      setDragOver(false)
      if (readOnly) {
        if (readOnlyReason) toast.error('The canvas is read-only', readOnlyReason)
        return
      }
      const at = screenToFlowPosition({ x: e.clientX, y: e.clientY })
      const raw = e.dataTransfer.getData(DND_TYPE)
      if (raw) {
        const { kind, type } = JSON.parse(raw) as { kind: NodeKind; type: string }
        addAt(kind, type, { x: at.x - 110, y: at.y - 36 })
        return
      }
      const files = Array.from(e.dataTransfer.files ?? [])
      if (files.length) onDropFiles(files, at)
    },
    [readOnly, readOnlyReason, screenToFlowPosition, onDropFiles],
  )

  return (
    <div
      className="relative h-full w-full"
      onDragOver={(e) => {
        e.preventDefault()
        e.dataTransfer.dropEffect = 'copy'
        if (!dragOver) setDragOver(true)
      }}
      onDragLeave={(e) => {
        if (e.currentTarget === e.target) setDragOver(false)
      }}
      onDrop={onDrop}
      data-testid="canvas"
      data-layout={layoutApplied === layoutRequest ? 'done' : 'pending'}
    >
      <ReactFlow<PipelineFlowNode>
        aria-label="Pipeline canvas"
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        onNodesChange={onNodesChange}
        onEdgesChange={onEdgesChange}
        onConnect={onConnect}
        onNodesDelete={onNodesDelete}
        onEdgesDelete={onEdgesDelete}
        onPaneClick={() => useBuilder.getState().select(null)}
        nodesDraggable
        nodesConnectable={!readOnly}
        deleteKeyCode={readOnly ? null : ['Backspace', 'Delete']}
        colorMode={dark ? 'dark' : 'light'}
        defaultEdgeOptions={{ type: 'smoothstep', style: { strokeWidth: 1.75 } }}
        fitView
        fitViewOptions={{ padding: 0.2, maxZoom: 1 }}
        minZoom={0.1}
        proOptions={{ hideAttribution: true }}
      >
        <Background gap={20} />
        <Controls />
        <MiniMap pannable zoomable ariaLabel="Mini map" className="!hidden md:!block" />
      </ReactFlow>
      {spec && flow.nodes.length === 0 && (
        <div className="pointer-events-none absolute inset-0 flex items-center justify-center">
          <div className="rounded-xl border border-dashed border-slate-300 bg-white/80 px-8 py-6 text-center text-sm text-slate-500 backdrop-blur dark:border-slate-700 dark:bg-slate-900/80 dark:text-slate-400">
            <MousePointerClick className="mx-auto mb-2 size-6 text-slate-400" aria-hidden />
            <p className="font-medium text-slate-700 dark:text-slate-200">Drag a source from the palette to start</p>
            <p>or drop a CSV, JSON or Excel file here</p>
          </div>
        </div>
      )}
      {dragOver && !readOnly && (
        <div className="pointer-events-none absolute inset-2 rounded-xl border-2 border-dashed border-brand-400 bg-brand-50/30 dark:bg-brand-500/5" aria-hidden />
      )}
      {uploading && (
        <div role="status" className="absolute left-1/2 top-3 w-80 -translate-x-1/2 rounded-lg bg-white p-3 text-sm shadow-lg ring-1 ring-slate-900/10 dark:bg-slate-800 dark:ring-slate-700">
          <p className="flex items-center gap-2 font-medium">
            <FileUp className="size-4 text-brand-500" aria-hidden /> {uploading}
          </p>
          <div className="mt-2 h-1.5 overflow-hidden rounded-full bg-slate-200 dark:bg-slate-700">
            <div className="h-full w-1/3 animate-[progress_1.2s_ease-in-out_infinite] rounded-full bg-brand-500" />
          </div>
        </div>
      )}
      {refusal && (
        <div role="alert" className="absolute left-1/2 top-3 flex max-w-lg -translate-x-1/2 items-start gap-2 rounded-lg border border-rose-200 bg-rose-50 px-3 py-2 text-sm text-rose-800 shadow dark:border-rose-900 dark:bg-rose-950 dark:text-rose-200">
          <AlertTriangle className="mt-0.5 size-4 shrink-0" aria-hidden />
          <span>Edge refused: {refusal}</span>
        </div>
      )}
      {readOnly && readOnlyReason && (
        <div className="absolute bottom-3 left-1/2 -translate-x-1/2 rounded-md bg-amber-50 px-3 py-1.5 text-xs text-amber-800 ring-1 ring-amber-200 dark:bg-amber-950 dark:text-amber-200 dark:ring-amber-900">
          {readOnlyReason}
        </div>
      )}
    </div>
  )
}

/** Adds a node of a type at a canvas position and selects it. */
export function addAt(
  kind: NodeKind, type: string, at: { x: number; y: number }, opts: { config?: Record<string, unknown>; id?: string } = {},
): string | null {
  const st = useBuilder.getState()
  if (!st.spec) return null
  const r = addNode(st.spec, kind, type, opts)
  st.moveNode(r.id, at)
  st.applySpec(r.spec)
  st.select(r.id)
  return r.id
}

// The run's DAG (the builder's read-only PipelineGraph) with live counters on every node: rows in,
// out, rejected and rows per second while the run runs; on a stateful node (dedup keep last,
// aggregate, join) a chip with the state it holds in memory and what it spilled to disk; on the
// edges, while the run runs, how full the queue between two nodes is, so backpressure shows: a full
// queue in front of a node means that node is the slow side. Clicking a node filters the dead
// letters by it.
import { useMemo } from 'react'
import { HardDrive, MemoryStick } from 'lucide-react'
import { PipelineGraph, edgeId, type EdgeLabel, type PipelineSpec } from '@/features/graph'
import { cn } from '@/lib/cn'
import { formatBytes, formatCount } from '@/lib/format'
import { isActive, type Run } from './queries'

export function RunGraph({
  run, spec, selected, onSelect,
}: { run: Run; spec: PipelineSpec; selected: string | null; onSelect: (id: string | null) => void }) {
  const active = isActive(run.status)
  const rates = run.node_rates
  const badges = useMemo(() => {
    const out: Record<string, React.ReactNode> = {}
    for (const n of run.nodes) {
      const rate = rates?.[n.id]
      out[n.id] = (
        <span className="tabular-nums text-slate-600 dark:text-slate-300" aria-label={`${n.id}: ${n.in} in, ${n.out} out, ${n.rejected} rejected`}>
          {n.kind !== 'source' && <>{formatCount(n.in)} in · </>}
          {formatCount(n.out)} out
          {n.rejected > 0 && <span className="font-semibold text-rose-600 dark:text-rose-400"> · {formatCount(n.rejected)} rejected</span>}
          {rate != null && active && <span className="text-brand-600 dark:text-brand-300"> · {formatCount(Math.round(rate))}/s</span>}
        </span>
      )
    }
    return out
  }, [run.nodes, rates, active])
  const chips = useMemo(() => {
    const out: Record<string, React.ReactNode> = {}
    for (const n of run.nodes) {
      const state = n.state_bytes ?? 0
      const spilled = n.spilled_bytes ?? 0
      if (state > 0 || spilled > 0) out[n.id] = <StateChip id={n.id} state={state} spilled={spilled} active={active} />
    }
    return out
  }, [run.nodes, active])
  const edgeLabels = useMemo(() => {
    const out: Record<string, EdgeLabel> = {}
    if (!active) return out
    for (const b of run.buffers ?? []) {
      const full = b.cap > 0 && b.len >= b.cap
      out[edgeId(b.from, b.to)] = {
        label: <QueueMeter from={b.from} to={b.to} len={b.len} cap={b.cap} />,
        tone: full ? '#f43f5e' : undefined,
      }
    }
    return out
  }, [run.buffers, active])
  const stateful = run.nodes.filter((n) => (n.state_bytes ?? 0) > 0 || (n.spilled_bytes ?? 0) > 0).length
  return (
    <div>
      <PipelineGraph
        spec={spec}
        badges={badges}
        chips={chips}
        edgeLabels={edgeLabels}
        selected={selected}
        onNodeClick={(id) => onSelect(selected === id ? null : id)}
        height={300}
      />
      {(Object.keys(edgeLabels).length > 0 || stateful > 0) && (
        <p className="mt-2 flex flex-wrap items-center gap-x-4 gap-y-1 text-xs text-slate-500 dark:text-slate-400">
          {Object.keys(edgeLabels).length > 0 && (
            <span className="inline-flex items-center gap-1.5">
              <span className="inline-block h-1.5 w-6 rounded-full bg-gradient-to-r from-emerald-500 via-amber-400 to-rose-500" aria-hidden />
              Queues between nodes: a full queue means the node after it is the slow side.
            </span>
          )}
          {stateful > 0 && run.memory_budget != null && run.memory_budget > 0 && (
            <span className="inline-flex items-center gap-1.5">
              <MemoryStick className="size-3.5" aria-hidden />
              Memory budget {formatBytes(run.memory_budget)} for stateful transforms; beyond it they spill to disk with the same results.
            </span>
          )}
        </p>
      )}
    </div>
  )
}

/** A stateful node's state held in memory and what it spilled to disk. */
export function StateChip({ id, state, spilled, active }: { id: string; state: number; spilled: number; active: boolean }) {
  const label = `${id}: ${formatBytes(state)} of state in memory, ${formatBytes(spilled)} spilled to disk`
  return (
    <span
      role="img"
      aria-label={label}
      title={label}
      className={cn(
        'inline-flex items-center gap-1 rounded-full border px-2 py-0.5 text-[10px] font-medium tabular-nums shadow-sm',
        spilled > 0
          ? 'border-amber-300 bg-amber-50 text-amber-800 dark:border-amber-500/40 dark:bg-amber-950 dark:text-amber-200'
          : 'border-violet-200 bg-violet-50 text-violet-700 dark:border-violet-500/40 dark:bg-violet-950 dark:text-violet-200',
      )}
    >
      {(active || state > 0) && (
        <>
          <MemoryStick className="size-3" aria-hidden />
          {formatBytes(state)}
        </>
      )}
      {spilled > 0 && (
        <>
          {(active || state > 0) && <span className="opacity-50">/</span>}
          <HardDrive className="size-3" aria-hidden />
          {formatBytes(spilled)} spilled
        </>
      )}
    </span>
  )
}

/** How full the queue between two nodes is. */
export function QueueMeter({ from, to, len, cap }: { from: string; to: string; len: number; cap: number }) {
  const pct = cap > 0 ? Math.min(100, Math.round((len / cap) * 100)) : 0
  const color = pct >= 100 ? 'bg-rose-500' : pct >= 50 ? 'bg-amber-400' : 'bg-emerald-500'
  return (
    <div
      role="meter"
      aria-label={`Queue from ${from} to ${to}`}
      aria-valuemin={0}
      aria-valuemax={cap}
      aria-valuenow={len}
      aria-valuetext={`${len} of ${cap} batches waiting`}
      title={`${len} of ${cap} batches waiting between ${from} and ${to}`}
      className="-translate-y-3 rounded-full border border-slate-200 bg-white/95 p-0.5 shadow-sm dark:border-slate-700 dark:bg-slate-900/95"
    >
      <div className="h-1.5 w-8 overflow-hidden rounded-full bg-slate-200 dark:bg-slate-700">
        <div className={cn('h-full rounded-full transition-all duration-300', color)} style={{ width: `${pct}%` }} />
      </div>
    </div>
  )
}

// The run's DAG (the builder's read-only PipelineGraph) with live counters on every node:
// rows in, out, rejected and rows per second while the run runs. Clicking a node filters the dead
// letters by it.
import { useMemo } from 'react'
import { PipelineGraph, type PipelineSpec } from '@/features/graph'
import { formatCount } from '@/lib/format'
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
  return (
    <PipelineGraph
      spec={spec}
      badges={badges}
      selected={selected}
      onNodeClick={(id) => onSelect(selected === id ? null : id)}
      height={300}
    />
  )
}

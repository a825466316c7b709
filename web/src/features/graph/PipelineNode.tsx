// The node drawn on the canvas for a source, transform or destination: its kind's colour and icon, its
// id and type, a red badge with its problems, and an optional badge (run counters) from the page.
import { memo } from 'react'
import { Handle, Position, type NodeProps } from '@xyflow/react'
import { AlertCircle, ArrowDownToLine, Database, Shuffle } from 'lucide-react'
import { cn } from '@/lib/cn'
import type { PipelineFlowNode } from './flow'
import type { NodeKind } from './spec'

export const kindStyle: Record<NodeKind, { label: string; icon: typeof Database; accent: string; chip: string }> = {
  source: {
    label: 'Source', icon: Database, accent: 'bg-emerald-500',
    chip: 'bg-emerald-50 text-emerald-700 dark:bg-emerald-500/10 dark:text-emerald-400',
  },
  transform: {
    label: 'Transform', icon: Shuffle, accent: 'bg-violet-500',
    chip: 'bg-violet-50 text-violet-700 dark:bg-violet-500/10 dark:text-violet-300',
  },
  destination: {
    label: 'Destination', icon: ArrowDownToLine, accent: 'bg-sky-500',
    chip: 'bg-sky-50 text-sky-700 dark:bg-sky-500/10 dark:text-sky-400',
  },
}

const handle =
  '!size-3 !border-2 !border-white !bg-slate-400 hover:!bg-brand-500 dark:!border-slate-900 dark:!bg-slate-500'

export const PipelineNode = memo(function PipelineNode({ id, data, selected, isConnectable }: NodeProps<PipelineFlowNode>) {
  const style = kindStyle[data.kind]
  const Icon = style.icon
  const problems = data.problems ?? []
  return (
    <div
      role="group"
      aria-label={`${style.label} ${id} (${data.type})`}
      data-node-id={id}
      className={cn(
        'relative flex h-[72px] w-[220px] rounded-lg border bg-white shadow-sm transition-shadow dark:bg-slate-900',
        selected
          ? 'border-brand-500 ring-2 ring-brand-500/30'
          : problems.length
            ? 'border-rose-400 dark:border-rose-500/70'
            : 'border-slate-200 hover:shadow-md dark:border-slate-700',
      )}
    >
      <div className={cn('w-1 shrink-0 rounded-l-[7px]', style.accent)} aria-hidden />
      <div className="flex min-w-0 flex-1 items-center gap-2.5 px-3">
        <div className={cn('flex size-8 shrink-0 items-center justify-center rounded-md', style.chip)}>
          <Icon className="size-4" aria-hidden />
        </div>
        <div className="min-w-0 flex-1">
          <p className="truncate text-sm font-semibold text-slate-900 dark:text-slate-100">{id}</p>
          <p className="truncate text-xs text-slate-500 dark:text-slate-400">
            {style.label} · {data.type}
          </p>
          {data.badge != null && <div className="mt-0.5 truncate text-[11px]">{data.badge}</div>}
        </div>
      </div>
      {data.chip != null && (
        <div className="absolute -bottom-2.5 left-1/2 z-10 -translate-x-1/2 whitespace-nowrap">{data.chip}</div>
      )}
      {problems.length > 0 && (
        <span
          role="img"
          aria-label={`${problems.length} problem${problems.length === 1 ? '' : 's'}: ${problems.join('; ')}`}
          title={problems.join('\n')}
          className="absolute right-1.5 top-1.5 inline-flex items-center gap-0.5 rounded-full bg-rose-600 px-1.5 py-0.5 text-[10px] font-semibold text-white"
        >
          <AlertCircle className="size-3" aria-hidden />
          {problems.length}
        </span>
      )}
      {data.kind !== 'source' && (
        <Handle type="target" position={Position.Left} isConnectable={isConnectable} className={handle} aria-label={`Input of ${id}`} />
      )}
      {data.kind !== 'destination' && (
        <Handle type="source" position={Position.Right} isConnectable={isConnectable} className={handle} aria-label={`Output of ${id}`} />
      )}
    </div>
  )
})

export const nodeTypes = { pipeline: PipelineNode }

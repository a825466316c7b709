// One widget on the board: its card (title, range, drag handle and remove button while editing) and
// the data its view needs. Queries are shared between widgets through TanStack Query's cache.
import type { ReactNode } from 'react'
import { GripVertical, RotateCw, X } from 'lucide-react'
import { Card, IconButton, Skeleton } from '@/components/ui'
import { errorMessage } from '@/api/errors'
import { useRuns } from '@/features/runs/queries'
import { useNow } from '@/features/runs/useNow'
import { cn } from '@/lib/cn'
import { usePipelineStats, useSeries, useSummary } from './api'
import { WIDGETS, type WidgetKind } from './model'
import {
  DeadLetterView, FailingPipelinesView, RunningNowView, RunsByStatusView, StalePipelinesView, StreamLagView, ThroughputView,
  WorkerHealthView,
} from './widgets'

export interface WidgetContext {
  from: string
  to: string
  rangeLabel: string
  /** Events arrive over the WebSocket (else the queries poll). */
  live: boolean
  /** The role may list runs (runs:read): the Running now widget lists them. */
  canListRuns: boolean
}

export function WidgetCard({
  kind, subtitle, editing, onRemove, children,
}: { kind: WidgetKind; subtitle?: string; editing?: boolean; onRemove?: () => void; children: ReactNode }) {
  const info = WIDGETS[kind]
  return (
    <Card
      className={cn('flex h-full flex-col overflow-hidden', editing && 'ring-2 ring-brand-500/30')}
      data-widget={kind}
      role="region"
      aria-label={info.title}
    >
      <div className="flex items-center gap-1.5 border-b border-slate-100 px-3 py-2 dark:border-slate-800">
        {editing && (
          <span className="dash-drag -ml-1 cursor-grab text-slate-400 active:cursor-grabbing" title="Drag to move" aria-label={`Move ${info.title}`}>
            <GripVertical className="size-4" aria-hidden />
          </span>
        )}
        <h2 className="min-w-0 flex-1 truncate text-sm font-semibold" title={info.description}>{info.title}</h2>
        {subtitle && <span className="shrink-0 text-[11px] text-slate-400">{subtitle}</span>}
        {editing && onRemove && (
          <IconButton label={`Remove ${info.title}`} onClick={onRemove} className="dash-nodrag -mr-1 size-6">
            <X className="size-3.5" aria-hidden />
          </IconButton>
        )}
      </div>
      <div className="min-h-0 flex-1 p-3">{children}</div>
    </Card>
  )
}

function Loading() {
  return (
    <div className="space-y-2" aria-busy="true" aria-label="Loading">
      <Skeleton className="h-8 w-24" />
      <Skeleton className="h-4 w-full" />
      <Skeleton className="h-4 w-2/3" />
    </div>
  )
}

function Failed({ error, retry }: { error: unknown; retry: () => void }) {
  return (
    <div role="alert" className="flex h-full flex-col items-center justify-center gap-2 text-center text-xs text-rose-700 dark:text-rose-300">
      <p>{errorMessage(error)}</p>
      <button type="button" onClick={retry} className="inline-flex items-center gap-1 font-medium text-brand-600 hover:underline dark:text-brand-400">
        <RotateCw className="size-3" aria-hidden /> Try again
      </button>
    </div>
  )
}

interface QueryLike { data?: unknown; isError: boolean; error: unknown; refetch: () => unknown }

/** Renders the view once every query has data; the first error otherwise; skeletons while loading. */
function Gate({ queries, children }: { queries: QueryLike[]; children: () => ReactNode }) {
  const failed = queries.find((q) => q.isError && q.data === undefined)
  if (failed) return <Failed error={failed.error} retry={() => queries.forEach((q) => void q.refetch())} />
  if (queries.some((q) => q.data === undefined)) return <Loading />
  return <>{children()}</>
}

export function WidgetBody({ kind, ctx }: { kind: WidgetKind; ctx: WidgetContext }) {
  switch (kind) {
    case 'runs_by_status':
      return <RunsByStatus ctx={ctx} />
    case 'throughput':
      return <Throughput ctx={ctx} />
    case 'running_now':
      return <RunningNow ctx={ctx} />
    case 'failing_pipelines':
      return <Failing ctx={ctx} />
    case 'stale_pipelines':
      return <Stale ctx={ctx} />
    case 'dead_letter_rate':
      return <DeadLetters ctx={ctx} />
    case 'worker_health':
      return <WorkersQueue ctx={ctx} />
    case 'stream_lag':
      return <StreamLag ctx={ctx} />
  }
}

function RunsByStatus({ ctx }: { ctx: WidgetContext }) {
  const s = useSummary(ctx.from, ctx.to, ctx.live)
  return <Gate queries={[s]}>{() => <RunsByStatusView byStatus={s.data!.runs_by_status} />}</Gate>
}

function Throughput({ ctx }: { ctx: WidgetContext }) {
  const q = useSeries('rows_per_second', ctx.from, ctx.to, ctx.live)
  return <Gate queries={[q]}>{() => <ThroughputView data={q.data!} />}</Gate>
}

function RunningNow({ ctx }: { ctx: WidgetContext }) {
  return ctx.canListRuns ? <RunningList ctx={ctx} /> : <RunningCount ctx={ctx} />
}

/** The running runs themselves, kept live by the runs channel (useLiveRuns on the page). */
function RunningList({ ctx }: { ctx: WidgetContext }) {
  const p = usePipelineStats(ctx.from, ctx.to, ctx.live)
  const runs = useRuns({ status: ['running'] }, !ctx.live)
  const now = useNow(true, 1000)
  const names = new Map((p.data ?? []).map((x) => [x.pipeline_id, x.pipeline_name]))
  return <Gate queries={[runs]}>{() => <RunningNowView runs={runs.data!.items} total={runs.data!.total} names={names} now={now} />}</Gate>
}

/** Without runs:read (an executive): the number only, from the summary. */
function RunningCount({ ctx }: { ctx: WidgetContext }) {
  const s = useSummary(ctx.from, ctx.to, ctx.live)
  return <Gate queries={[s]}>{() => <RunningNowView runs={[]} total={s.data!.running_now} names={new Map()} now={0} />}</Gate>
}

function Failing({ ctx }: { ctx: WidgetContext }) {
  const p = usePipelineStats(ctx.from, ctx.to, ctx.live)
  const now = useNow(true, 30_000)
  return <Gate queries={[p]}>{() => <FailingPipelinesView items={p.data!} now={now} />}</Gate>
}

function Stale({ ctx }: { ctx: WidgetContext }) {
  const p = usePipelineStats(ctx.from, ctx.to, ctx.live)
  return <Gate queries={[p]}>{() => <StalePipelinesView items={p.data!} />}</Gate>
}

function DeadLetters({ ctx }: { ctx: WidgetContext }) {
  const s = useSummary(ctx.from, ctx.to, ctx.live)
  const ts = useSeries('dead_letters', ctx.from, ctx.to, ctx.live)
  return <Gate queries={[s]}>{() => <DeadLetterView summary={s.data!} series={ts.data} />}</Gate>
}

function WorkersQueue({ ctx }: { ctx: WidgetContext }) {
  const s = useSummary(ctx.from, ctx.to, ctx.live)
  return <Gate queries={[s]}>{() => <WorkerHealthView summary={s.data!} />}</Gate>
}

function StreamLag({ ctx }: { ctx: WidgetContext }) {
  const s = useSummary(ctx.from, ctx.to, ctx.live)
  const ts = useSeries('stream_lag', ctx.from, ctx.to, ctx.live)
  return <Gate queries={[s]}>{() => <StreamLagView summary={s.data!} series={ts.data} />}</Gate>
}

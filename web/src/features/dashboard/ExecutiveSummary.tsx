// The read-only summary a role without runs:read (the executive) sees: headline figures for the
// range, throughput, runs by status and the pipelines that need attention. No editing, no links into
// pages the role cannot open; it refreshes by polling (the live channel needs runs:read).
import type { ReactNode } from 'react'
import { Card, Skeleton } from '@/components/ui'
import { ErrorState } from '@/components/ui'
import { formatCount } from '@/lib/format'
import { cn } from '@/lib/cn'
import { usePipelineStats, useSeries, useSummary } from './api'
import { compact, formatAge, type PipelineStat, type Summary } from './model'
import { WidgetCard, type WidgetContext } from './Widget'
import { RunsByStatusView, ThroughputView } from './widgets'

export function Kpi({ label, value, hint, tone }: { label: string; value: ReactNode; hint?: string; tone?: 'red' | 'green' | 'amber' }) {
  return (
    <Card className="p-4">
      <p className="text-xs font-medium uppercase tracking-wide text-slate-500 dark:text-slate-400">{label}</p>
      <p
        className={cn(
          'mt-1 text-2xl font-semibold tabular-nums',
          tone === 'red' && 'text-rose-600 dark:text-rose-400',
          tone === 'green' && 'text-emerald-600 dark:text-emerald-400',
          tone === 'amber' && 'text-amber-600 dark:text-amber-400',
        )}
      >
        {value}
      </p>
      {hint && <p className="mt-0.5 text-xs text-slate-500 dark:text-slate-400">{hint}</p>}
    </Card>
  )
}

/** The headline figures of a summary (pure: tested on fixed data). */
export function KpiRow({ summary, pipelines }: { summary: Summary; pipelines: PipelineStat[] }) {
  const byStatus = summary.runs_by_status
  const finished = (byStatus.succeeded ?? 0) + (byStatus.failed ?? 0)
  const rate = finished ? (byStatus.succeeded ?? 0) / finished : null
  const total = Object.values(byStatus).reduce((a, b) => a + b, 0)
  return (
    <div className="grid gap-4 sm:grid-cols-2 xl:grid-cols-5" data-testid="kpis">
      <Kpi label="Runs" value={formatCount(total)} hint={`${formatCount(summary.running_now)} running now`} />
      <Kpi label="Success rate" value={rate == null ? '—' : `${(rate * 100).toFixed(1)} %`} hint={`${formatCount(byStatus.failed ?? 0)} failed`} tone={rate == null ? undefined : rate >= 0.99 ? 'green' : rate < 0.9 ? 'red' : 'amber'} />
      <Kpi label="Rows delivered" value={compact(summary.rows_out)} hint={`${compact(summary.rows_rejected)} rejected`} />
      <Kpi label="Failing pipelines" value={formatCount(summary.failing_pipelines)} hint={`of ${formatCount(pipelines.length)} pipelines`} tone={summary.failing_pipelines ? 'red' : 'green'} />
      <Kpi label="Stale pipelines" value={formatCount(summary.stale_pipelines)} hint="behind their schedule" tone={summary.stale_pipelines ? 'amber' : 'green'} />
    </div>
  )
}

/** Pipelines that need attention, read-only: failing first, then stale. */
export function AttentionList({ pipelines }: { pipelines: PipelineStat[] }) {
  const rows = pipelines
    .filter((p) => p.last_status === 'failed' || p.stale)
    .sort((a, b) => Number(b.last_status === 'failed') - Number(a.last_status === 'failed') || a.pipeline_name.localeCompare(b.pipeline_name))
  if (!rows.length) {
    return <p className="py-6 text-center text-sm text-emerald-700 dark:text-emerald-400">Every pipeline is healthy: none failing, none behind its schedule.</p>
  }
  return (
    <table className="min-w-full text-sm" aria-label="Pipelines needing attention">
      <thead>
        <tr className="text-left text-xs uppercase tracking-wide text-slate-500">
          <th className="py-1.5 font-medium">Pipeline</th>
          <th className="py-1.5 font-medium">Issue</th>
          <th className="py-1.5 text-right font-medium">Success rate</th>
          <th className="py-1.5 text-right font-medium">Last success</th>
        </tr>
      </thead>
      <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
        {rows.slice(0, 20).map((p) => (
          <tr key={p.pipeline_id}>
            <td className="py-1.5 font-medium">{p.pipeline_name}</td>
            <td className="py-1.5">{p.last_status === 'failed' ? <span className="text-rose-600 dark:text-rose-400">Last run failed</span> : <span className="text-amber-600 dark:text-amber-400">Stale</span>}</td>
            <td className="py-1.5 text-right tabular-nums">{p.success_rate == null ? '—' : `${Math.round(p.success_rate * 100)} %`}</td>
            <td className="py-1.5 text-right tabular-nums text-slate-500">{p.last_success_at ? `${formatAge(p.freshness_seconds)} ago` : 'never'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}

export function ExecutiveSummary({ ctx }: { ctx: WidgetContext }) {
  const s = useSummary(ctx.from, ctx.to, false)
  const p = usePipelineStats(ctx.from, ctx.to, false)
  const ts = useSeries('rows_per_second', ctx.from, ctx.to, false)
  const err = [s, p].find((q) => q.isError && q.data === undefined)
  if (err) return <ErrorState error={err.error} retry={() => { void s.refetch(); void p.refetch() }} title="The summary could not be loaded" />
  return (
    <div className="space-y-4" data-testid="executive-summary">
      {s.data && p.data ? <KpiRow summary={s.data} pipelines={p.data} /> : <div className="grid gap-4 sm:grid-cols-5">{Array.from({ length: 5 }, (_, i) => <Skeleton key={i} className="h-24" />)}</div>}
      <div className="grid gap-4 lg:grid-cols-3">
        <div className="h-72 lg:col-span-2">
          <WidgetCard kind="throughput" subtitle={ctx.rangeLabel}>
            {ts.data ? <ThroughputView data={ts.data} /> : <Skeleton className="h-full" />}
          </WidgetCard>
        </div>
        <div className="h-72">
          <WidgetCard kind="runs_by_status" subtitle={ctx.rangeLabel}>
            {s.data ? <RunsByStatusView byStatus={s.data.runs_by_status} linkless /> : <Skeleton className="h-full" />}
          </WidgetCard>
        </div>
      </div>
      <Card className="p-4">
        <h2 className="mb-2 text-sm font-semibold">Needs attention</h2>
        {p.data ? <AttentionList pipelines={p.data} /> : <Skeleton className="h-24" />}
      </Card>
    </div>
  )
}

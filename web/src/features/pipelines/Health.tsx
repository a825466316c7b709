// Per-pipeline health on the Pipelines list: success rate and p95 duration over the last 7 days and
// freshness (time since the last success) from GET /api/v1/analytics/pipelines, with a Stale badge
// when a scheduled pipeline has had no success for more than twice its schedule's interval.
import { useQuery } from '@tanstack/react-query'
import { api, unwrap, type Schemas } from '@/api/client'
import { Badge } from '@/components/ui'
import { formatDuration } from '@/lib/format'

export type PipelineHealth = Schemas['PipelineAnalytics']

const WEEK_MS = 7 * 24 * 3600 * 1000

/** The figures of every pipeline by id, over the last 7 days (read again every minute). */
export function usePipelineHealth(enabled: boolean) {
  return useQuery({
    queryKey: ['analytics', 'pipelines', 'list-health'],
    enabled,
    refetchInterval: 60_000,
    queryFn: async () => {
      const from = new Date(Date.now() - WEEK_MS).toISOString()
      const res = await unwrap(api.GET('/api/v1/analytics/pipelines', { params: { query: { from } } }))
      return new Map((res.items ?? []).map((it) => [it.pipeline_id, it]))
    },
  })
}

/** "3 min", "5 h", "2 d" for a number of seconds. */
export function formatAge(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds)} s`
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h`
  return `${Math.round(seconds / 86400)} d`
}

export function HealthCell({ health }: { health?: PipelineHealth }) {
  if (!health || health.runs === 0) {
    return (
      <span className="text-slate-400 dark:text-slate-500">
        No runs in 7 days
        {health?.stale && (
          <Badge className="ml-2" tone="red">
            Stale
          </Badge>
        )}
      </span>
    )
  }
  const rate = health.success_rate
  const tone = rate == null ? 'text-slate-500' : rate >= 0.99 ? 'text-emerald-600 dark:text-emerald-400' : rate >= 0.9 ? 'text-amber-600 dark:text-amber-400' : 'text-rose-600 dark:text-rose-400'
  const fresh = health.freshness_seconds
  const interval = health.expected_interval_seconds
  return (
    <div className="text-sm">
      <span className={`font-medium tabular-nums ${tone}`} title={`${health.succeeded} succeeded, ${health.failed} failed of ${health.runs} runs in 7 days`}>
        {rate == null ? '—' : `${(rate * 100).toFixed(rate === 1 ? 0 : 1)}%`}
      </span>
      <span className="text-slate-500 dark:text-slate-400"> · p95 {formatDuration(health.p95_duration_ms)}</span>
      <div className="text-xs text-slate-500 dark:text-slate-400">
        {fresh == null ? 'never succeeded' : `fresh ${formatAge(fresh)} ago`}
        {interval != null && <span title="Expected interval from its schedule"> · every {formatAge(interval)}</span>}
        {health.stale && (
          <Badge className="ml-2" tone="red">
            Stale
          </Badge>
        )}
      </div>
    </div>
  )
}

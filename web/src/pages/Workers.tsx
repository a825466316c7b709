import { Card, ErrorState, PageHeader, Skeleton } from '@/components/ui'
import { useNow } from '@/features/runs/useNow'
import { WorkersTable } from '@/features/workers/WorkersTable'
import { totals, useWorkers } from '@/features/workers/workers'
import { cn } from '@/lib/cn'

/** Operate > Workers: the processes that execute runs, with their load and heartbeats. */
export default function Workers() {
  const q = useWorkers()
  const now = useNow(true, 1000)
  const t = q.data ? totals(q.data.items) : null
  return (
    <div>
      <PageHeader
        title="Workers"
        description="The processes that execute runs: aggregator serve (with RUN_WORKERS above 0) and every aggregator worker. Refreshed every five seconds."
      />
      <div className="space-y-4 p-6">
        <div className="grid gap-4 sm:grid-cols-3">
          <Stat label="Live workers" value={t ? String(t.alive) : null} />
          <Stat label="Runs executing" value={t ? `${t.running} of ${t.slots} slots` : null} />
          <Stat label="Load" value={t ? `${Math.round(t.load * 100)} %` : null} bar={t?.load} />
        </div>
        <Card className={cn('overflow-hidden')} aria-busy={q.isFetching}>
          {q.isPending ? (
            <div className="space-y-2 p-4">
              {Array.from({ length: 3 }, (_, i) => <Skeleton key={i} className="h-12" />)}
            </div>
          ) : q.isError ? (
            <ErrorState error={q.error} retry={() => void q.refetch()} title="The workers could not be loaded" />
          ) : (
            <WorkersTable items={q.data.items} now={now} />
          )}
        </Card>
      </div>
    </div>
  )
}

function Stat({ label, value, bar }: { label: string; value: string | null; bar?: number }) {
  return (
    <Card className="p-4">
      <p className="text-xs font-medium uppercase tracking-wide text-slate-500 dark:text-slate-400">{label}</p>
      {value === null ? <Skeleton className="mt-2 h-7 w-24" /> : <p className="mt-1 text-2xl font-semibold tabular-nums">{value}</p>}
      {bar !== undefined && (
        <div className="mt-2 h-1.5 overflow-hidden rounded-full bg-slate-100 dark:bg-slate-800" aria-hidden>
          <div className={cn('h-full rounded-full', bar > 0.9 ? 'bg-amber-500' : 'bg-brand-500')} style={{ width: `${bar * 100}%` }} />
        </div>
      )}
    </Card>
  )
}

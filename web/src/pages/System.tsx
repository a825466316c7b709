import type { ReactNode } from 'react'
import { Link } from 'react-router'
import { useQuery } from '@tanstack/react-query'
import { Database, HardDrive, Layers, Package, ScrollText, Server, Zap } from 'lucide-react'
import { api, unwrap } from '@/api/client'
import { Badge, Button, Card, ErrorState, PageHeader, Skeleton } from '@/components/ui'
import { DefinitionList } from '@/components/ui/controls'
import { formatBytes, formatCount, formatTime } from '@/lib/format'
import { diskSummary, formatUptime, statusLabel, statusTone, type HealthStatus } from '@/features/system/health'
import { CleanupNowCard, RetentionCard } from '@/features/settings/RetentionCard'

function Status({ status }: { status: string }) {
  const s = status as HealthStatus
  return <Badge tone={statusTone[s] ?? 'gray'}>{statusLabel[s] ?? status}</Badge>
}

function HealthCard({ title, icon, status, children }: { title: string; icon: ReactNode; status: string; children: ReactNode }) {
  return (
    <Card className="p-4" aria-label={title}>
      <section aria-label={title}>
        <div className="mb-3 flex items-center gap-2">
          <span className="text-slate-400">{icon}</span>
          <h2 className="text-sm font-semibold">{title}</h2>
          <span className="ml-auto"><Status status={status} /></span>
        </div>
        <div className="text-sm">{children}</div>
      </section>
    </Card>
  )
}

/** Administration > System: health of the platform's parts, retention and clean-up, and the build. */
export default function System() {
  const q = useQuery({
    queryKey: ['system', 'health'],
    refetchInterval: 15_000,
    queryFn: () => unwrap(api.GET('/api/v1/system/health')),
  })
  const h = q.data
  return (
    <div>
      <PageHeader
        title="System"
        description="Health of the metadata store, Redis, the workers, the run queue and the disk, how long data is kept, and which build is running."
        actions={
          <>
            {h && <span className="text-xs text-slate-500">Checked {formatTime(h.checked_at)}</span>}
            <Button onClick={() => void q.refetch()} disabled={q.isFetching}>Check now</Button>
          </>
        }
      />
      <div className="mx-auto grid max-w-6xl gap-6 p-6">
        {q.isPending ? (
          <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-3">{Array.from({ length: 6 }, (_, i) => <Skeleton key={i} className="h-36" />)}</div>
        ) : q.isError ? (
          <ErrorState error={q.error} retry={() => void q.refetch()} title="The health could not be read" />
        ) : h ? (
          <>
            <div className="flex items-center gap-3 rounded-xl border border-slate-200 bg-white px-5 py-4 dark:border-slate-800 dark:bg-slate-900">
              <span className="text-sm font-semibold">Overall</span>
              <Status status={h.status} />
              <span className="text-sm text-slate-500">
                {h.status === 'ok' ? 'Every part answers.' : 'A part needs attention: see below.'}
              </span>
            </div>
            <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-3">
              <HealthCard title="Metadata store" icon={<Database className="size-4" aria-hidden />} status={h.store.status}>
                <DefinitionList
                  items={[
                    ['Database', h.store.dialect === 'postgres' ? 'PostgreSQL' : 'SQLite'],
                    ['Schema', `${h.store.schema_version} of ${h.store.latest_schema}`],
                    ['Ping', `${h.store.latency_ms} ms`],
                    ...(h.store.error ? ([['Error', h.store.error]] as Array<[string, ReactNode]>) : []),
                  ]}
                />
              </HealthCard>
              <HealthCard title="Redis" icon={<Zap className="size-4" aria-hidden />} status={h.redis.status}>
                {h.redis.configured ? (
                  <DefinitionList items={[['Ping', h.redis.error ? h.redis.error : `${h.redis.latency_ms ?? 0} ms`]]} />
                ) : (
                  <p className="text-slate-500">REDIS_URL is not set: events, rate limits and caches stay in this process.</p>
                )}
              </HealthCard>
              <HealthCard title="Workers" icon={<Server className="size-4" aria-hidden />} status={h.workers.status}>
                <DefinitionList
                  items={[
                    ['Alive', formatCount(h.workers.alive)],
                    ['Stopped', formatCount(h.workers.stopped)],
                    ['Dead', formatCount(h.workers.dead)],
                  ]}
                />
                <Link to="/workers" className="mt-2 inline-block text-xs text-sky-700 hover:underline dark:text-sky-400">All workers</Link>
              </HealthCard>
              <HealthCard title="Run queue" icon={<Layers className="size-4" aria-hidden />} status={h.queue.status}>
                <DefinitionList items={[['Queued', formatCount(h.queue.queued)], ['Running', formatCount(h.queue.running)]]} />
              </HealthCard>
              <HealthCard title="Disk of DATA_DIR" icon={<HardDrive className="size-4" aria-hidden />} status={h.disk.status}>
                {h.disk.error ? (
                  <p className="text-rose-700">{h.disk.error}</p>
                ) : (
                  <>
                    <p className="mb-2">{diskSummary(h.disk, formatBytes)}</p>
                    <div className="h-2 overflow-hidden rounded-full bg-slate-100 dark:bg-slate-800" role="meter" aria-label="Disk used" aria-valuenow={h.disk.used_percent} aria-valuemin={0} aria-valuemax={100}>
                      <div className={h.disk.status === 'ok' ? 'h-full bg-emerald-500' : 'h-full bg-amber-500'} style={{ width: `${Math.min(100, h.disk.used_percent)}%` }} />
                    </div>
                    <p className="mt-2 truncate font-mono text-xs text-slate-500" title={h.disk.path}>{h.disk.path}</p>
                  </>
                )}
              </HealthCard>
              <HealthCard title="System logs" icon={<ScrollText className="size-4" aria-hidden />} status={h.logs.status}>
                {h.logs.writer ? (
                  <DefinitionList
                    items={[
                      ['Stored', formatCount(h.logs.writer.written)],
                      ['Dropped', formatCount(h.logs.writer.dropped)],
                      ['Failed', formatCount(h.logs.writer.failed)],
                      ['Buffered', `${formatCount(h.logs.writer.buffered)} of ${formatCount(h.logs.writer.capacity)}`],
                    ]}
                  />
                ) : (
                  <p className="text-slate-500">Log records are not kept by this process.</p>
                )}
                <Link to="/admin/system-logs" className="mt-2 inline-block text-xs text-sky-700 hover:underline dark:text-sky-400">Open system logs</Link>
              </HealthCard>
            </div>
            <Card className="p-5">
              <section aria-label="Build">
                <div className="mb-3 flex items-center gap-2">
                  <Package className="size-4 text-slate-400" aria-hidden />
                  <h2 className="text-base font-semibold">Version and build</h2>
                </div>
                <DefinitionList
                  items={[
                    ['Version', <code key="v" className="text-xs">{h.build.version}</code>],
                    ['Commit', <code key="c" className="text-xs">{h.build.commit || '—'}</code>],
                    ['Built', h.build.date ? formatTime(h.build.date) : '—'],
                    ['Go', h.build.go_version],
                    ['Platform', `${h.build.os}/${h.build.arch}`],
                    ['Up since', `${formatTime(h.build.started_at)} (${formatUptime(h.build.uptime_seconds)})`],
                  ]}
                />
              </section>
            </Card>
          </>
        ) : null}
        <RetentionCard />
        <CleanupNowCard />
      </div>
    </div>
  )
}

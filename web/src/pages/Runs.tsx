// /runs: every run the user may read, newest first, filtered by pipeline, status and time (the
// filters are in the URL), kept fresh by live events (polling when the socket is not open).
import { useMemo } from 'react'
import { Link, useNavigate, useSearchParams } from 'react-router'
import { ChevronLeft, ChevronRight, PlayCircle, X } from 'lucide-react'
import {
  Button, Card, EmptyState, ErrorState, Field, Input, PageHeader, Select, Skeleton, StatusBadge, Table, Td, Th,
} from '@/components/ui'
import { formatCount, formatDuration, formatTime, relativeTime } from '@/lib/format'
import { cn } from '@/lib/cn'
import { PER_PAGE, RUN_STATUSES, isActive, usePipelineNames, useRuns, type RunStatus } from '@/features/runs/queries'
import { RANGES, readFilters, toApiFilters, writeFilters, type Range, type UrlFilters } from '@/features/runs/filters'
import { useLiveRuns } from '@/features/runs/useLive'
import { LiveIndicator } from '@/features/runs/LiveIndicator'
import { rowsRead, rowsRejected, runDuration } from '@/features/runs/format'
import { TriggerBadge } from '@/features/runs/Trigger'
import { useNow } from '@/features/runs/useNow'

const label = (s: string) => s.charAt(0).toUpperCase() + s.slice(1)

export default function Runs() {
  const [params, setParams] = useSearchParams()
  const f = readFilters(params)
  const live = useLiveRuns()
  const now = useNow(true, 1000)
  const minute = Math.floor(now / 60_000)
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const apiFilters = useMemo(() => toApiFilters(f, minute * 60_000), [params.toString(), minute])
  const runs = useRuns(apiFilters, !live)
  const pipelines = usePipelineNames()
  const names = useMemo(() => new Map((pipelines.data ?? []).map((p) => [p.id, p.name])), [pipelines.data])
  const navigate = useNavigate()

  const set = (patch: Partial<UrlFilters>) => setParams(writeFilters({ ...f, page: 1, ...patch }), { replace: true })
  const toggleStatus = (s: RunStatus) =>
    set({ status: f.status.includes(s) ? f.status.filter((x) => x !== s) : [...f.status, s] })
  const filtered = !!(f.pipeline || f.status.length || f.range)
  const total = runs.data?.total ?? 0
  const pages = Math.max(1, Math.ceil(total / PER_PAGE))

  return (
    <div>
      <PageHeader
        title="Runs"
        description="Every execution of your pipelines, newest first."
        actions={<LiveIndicator />}
      />
      <div className="space-y-4 p-6">
        <Card className="flex flex-wrap items-end gap-4 p-4">
          <Field label="Pipeline" className="w-56">
            {(p) => (
              <Select {...p} value={f.pipeline} onChange={(e) => set({ pipeline: e.target.value })}>
                <option value="">All pipelines</option>
                {(pipelines.data ?? []).map((x) => (
                  <option key={x.id} value={x.id}>{x.name}</option>
                ))}
              </Select>
            )}
          </Field>
          <fieldset className="space-y-1">
            <legend className="text-sm font-medium text-slate-700 dark:text-slate-300">Status</legend>
            <div className="flex flex-wrap gap-1.5">
              {RUN_STATUSES.map((s) => {
                const on = f.status.includes(s)
                return (
                  <button
                    key={s}
                    type="button"
                    aria-pressed={on}
                    onClick={() => toggleStatus(s)}
                    className={cn(
                      'h-9 rounded-md px-3 text-sm font-medium ring-1 ring-inset transition-colors',
                      on
                        ? 'bg-brand-600 text-white ring-brand-600 hover:bg-brand-700'
                        : 'bg-white text-slate-600 ring-slate-300 hover:bg-slate-50 dark:bg-slate-900 dark:text-slate-300 dark:ring-slate-700 dark:hover:bg-slate-800',
                    )}
                  >
                    {label(s)}
                  </button>
                )
              })}
            </div>
          </fieldset>
          <Field label="Time range" className="w-44">
            {(p) => (
              <Select {...p} value={f.range} onChange={(e) => set({ range: e.target.value as Range })}>
                {RANGES.map((r) => (
                  <option key={r.id} value={r.id}>{r.label}</option>
                ))}
              </Select>
            )}
          </Field>
          {f.range === 'custom' && (
            <>
              <Field label="From" className="w-52">
                {(p) => <Input {...p} type="datetime-local" value={f.from} onChange={(e) => set({ from: e.target.value })} />}
              </Field>
              <Field label="To" className="w-52">
                {(p) => <Input {...p} type="datetime-local" value={f.to} onChange={(e) => set({ to: e.target.value })} />}
              </Field>
            </>
          )}
          {filtered && (
            <Button variant="ghost" icon={<X className="size-4" aria-hidden />} onClick={() => setParams(new URLSearchParams(), { replace: true })}>
              Clear filters
            </Button>
          )}
        </Card>

        <Card className="overflow-hidden">
          {runs.isError ? (
            <ErrorState error={runs.error} retry={() => void runs.refetch()} title="Could not load the runs" />
          ) : runs.isPending ? (
            <div className="space-y-2 p-4" aria-busy="true">
              {Array.from({ length: 6 }, (_, i) => <Skeleton key={i} className="h-9 w-full" />)}
            </div>
          ) : runs.data.items.length === 0 ? (
            filtered ? (
              <EmptyState title="No run matches these filters" action={<Button onClick={() => setParams(new URLSearchParams())}>Clear filters</Button>}>
                Widen the time range or pick other statuses.
              </EmptyState>
            ) : (
              <EmptyState
                title="No runs yet"
                icon={<PlayCircle className="size-6" aria-hidden />}
                action={<Link to="/pipelines"><Button variant="primary">Go to pipelines</Button></Link>}
              >
                Open a pipeline and press Run: its run appears here and updates live.
              </EmptyState>
            )
          ) : (
            <>
              <Table label="Runs">
                <thead className="bg-slate-50 dark:bg-slate-900/60">
                  <tr>
                    <Th>Status</Th>
                    <Th>Pipeline</Th>
                    <Th>Trigger</Th>
                    <Th>Started</Th>
                    <Th className="text-right">Duration</Th>
                    <Th className="text-right">Rows</Th>
                    <Th className="text-right">Rejected</Th>
                  </tr>
                </thead>
                <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
                  {runs.data.items.map((r) => {
                    const rej = rowsRejected(r)
                    return (
                      <tr
                        key={r.id}
                        onClick={(e) => {
                          if (!(e.target as HTMLElement).closest('a')) navigate(`/runs/${r.id}`)
                        }}
                        className="cursor-pointer hover:bg-slate-50 dark:hover:bg-slate-800/50"
                      >
                        <Td><StatusBadge status={r.status} /></Td>
                        <Td>
                          <Link to={`/runs/${r.id}`} className="font-medium text-slate-900 hover:text-brand-700 hover:underline dark:text-slate-100 dark:hover:text-brand-300">
                            {names.get(r.pipeline_id) ?? r.pipeline_id}
                          </Link>
                          <span className="ml-2 text-xs text-slate-400">v{r.pipeline_version}</span>
                        </Td>
                        <Td className="whitespace-nowrap text-slate-600 dark:text-slate-300">
                          <TriggerBadge run={r} />
                          {r.actor_name && <span className="ml-1.5 text-xs text-slate-400">{r.actor_name}</span>}
                        </Td>
                        <Td className="whitespace-nowrap text-slate-600 dark:text-slate-300">
                          <span title={formatTime(r.started_at ?? r.created_at)}>{relativeTime(r.started_at ?? r.created_at, now)}</span>
                        </Td>
                        <Td className="text-right tabular-nums text-slate-600 dark:text-slate-300">
                          {isActive(r.status) && !r.started_at ? '—' : formatDuration(runDuration(r, now))}
                        </Td>
                        <Td className="text-right tabular-nums">{formatCount(rowsRead(r))}</Td>
                        <Td className={cn('text-right tabular-nums', rej > 0 ? 'font-medium text-rose-600 dark:text-rose-400' : 'text-slate-400')}>
                          {formatCount(rej)}
                        </Td>
                      </tr>
                    )
                  })}
                </tbody>
              </Table>
              <div className="flex items-center justify-between border-t border-slate-200 px-4 py-2.5 text-sm text-slate-500 dark:border-slate-800 dark:text-slate-400">
                <span>
                  {formatCount(total)} run{total === 1 ? '' : 's'}
                  {runs.isFetching && <span className="ml-2 text-xs">Refreshing…</span>}
                </span>
                {pages > 1 && (
                  <div className="flex items-center gap-2">
                    <Button size="sm" icon={<ChevronLeft className="size-4" aria-hidden />} disabled={f.page <= 1} onClick={() => set({ page: f.page - 1 })}>
                      Previous
                    </Button>
                    <span>Page {f.page} of {pages}</span>
                    <Button size="sm" disabled={f.page >= pages} onClick={() => set({ page: f.page + 1 })}>
                      Next <ChevronRight className="size-4" aria-hidden />
                    </Button>
                  </div>
                )}
              </div>
            </>
          )}
        </Card>
      </div>
    </div>
  )
}

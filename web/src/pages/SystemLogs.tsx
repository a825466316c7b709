import { useCallback } from 'react'
import { useSearchParams } from 'react-router'
import { useInfiniteQuery } from '@tanstack/react-query'
import { ScrollText } from 'lucide-react'
import { api, unwrap } from '@/api/client'
import { Badge, Button, Card, EmptyState, ErrorState, Field, Input, PageHeader, Skeleton, Table, Td, Th } from '@/components/ui'
import { formatCount, formatTime } from '@/lib/format'
import { cn } from '@/lib/cn'
import { attrPairs, levels, levelTone, logQuery, selectedLevels, toggleLevel, type Level } from '@/features/system/logs'
import { RequestDrawer } from '@/features/system/RequestDrawer'

const PAGE = 100

/** Administration > System logs: the server's own records, filtered, with a request id followed in a drawer. */
export default function SystemLogs() {
  const [sp, setSp] = useSearchParams()
  const get = (k: string) => sp.get(k) ?? ''
  const set = (k: string, v: string) => {
    const n = new URLSearchParams(sp)
    if (v) n.set(k, v)
    else n.delete(k)
    setSp(n, { replace: true })
  }
  const filter = logQuery(sp)
  const chosen = selectedLevels(sp)
  const q = useInfiniteQuery({
    queryKey: ['system', 'logs', filter],
    initialPageParam: '',
    queryFn: ({ pageParam }) =>
      unwrap(api.GET('/api/v1/system/logs', { params: { query: { ...filter, limit: PAGE, cursor: pageParam || undefined } } })),
    getNextPageParam: (last) => last.next_cursor || undefined,
  })
  const items = q.data?.pages.flatMap((p) => p.items) ?? []
  const writer = q.data?.pages[0]?.writer
  const openReq = get('trace') || null
  const closeDrawer = useCallback(() => {
    setSp((cur) => {
      const n = new URLSearchParams(cur)
      n.delete('trace')
      return n
    }, { replace: true })
  }, [setSp])
  const filtered = [...sp.keys()].some((k) => k !== 'trace')

  return (
    <div>
      <PageHeader
        title="System logs"
        description="What the server logged, newest first. Click a request id to follow it to its audit entry, the run it started and that run's log lines."
        actions={
          <>
            {writer && (
              <span className={cn('text-xs', writer.dropped + writer.failed > 0 ? 'text-amber-700 dark:text-amber-400' : 'text-slate-500')} data-testid="log-drops">
                {formatCount(writer.dropped)} dropped · {formatCount(writer.failed)} failed since start
              </span>
            )}
            <Button onClick={() => void q.refetch()} disabled={q.isFetching}>Refresh</Button>
          </>
        }
      />
      <div className="space-y-4 p-6">
        <Card className="space-y-3 p-4">
          <div role="group" aria-label="Levels" className="flex flex-wrap items-center gap-2">
            <span className="text-xs font-semibold uppercase tracking-wide text-slate-500">Level</span>
            {levels.map((l) => {
              const on = chosen.includes(l)
              return (
                <button
                  key={l}
                  type="button"
                  aria-pressed={on}
                  onClick={() => set('level', toggleLevel(sp, l))}
                  className={cn(
                    'rounded-full px-3 py-1 text-xs font-medium uppercase ring-1 ring-inset transition',
                    on ? 'bg-slate-900 text-white ring-slate-900 dark:bg-white dark:text-slate-900' : 'text-slate-600 ring-slate-300 hover:bg-slate-100 dark:text-slate-300 dark:ring-slate-700 dark:hover:bg-slate-800',
                  )}
                >
                  {l}
                </button>
              )
            })}
          </div>
          <div className="grid gap-3 sm:grid-cols-2 lg:grid-cols-6">
            <Field label="Search">
              {(p) => <Input {...p} placeholder="Text in message or attributes" value={get('q')} onChange={(e) => set('q', e.target.value)} />}
            </Field>
            <Field label="Component">
              {(p) => <Input {...p} placeholder="api, runs, river…" value={get('component')} onChange={(e) => set('component', e.target.value.trim())} />}
            </Field>
            <Field label="Request id">
              {(p) => <Input {...p} className="font-mono" value={get('request_id')} onChange={(e) => set('request_id', e.target.value.trim())} />}
            </Field>
            <Field label="Run id">
              {(p) => <Input {...p} className="font-mono" value={get('run_id')} onChange={(e) => set('run_id', e.target.value.trim())} />}
            </Field>
            <Field label="From">
              {(p) => <Input {...p} type="datetime-local" value={get('from')} onChange={(e) => set('from', e.target.value)} />}
            </Field>
            <Field label="To">
              {(p) => <Input {...p} type="datetime-local" value={get('to')} onChange={(e) => set('to', e.target.value)} />}
            </Field>
          </div>
          {filtered && (
            <Button size="sm" onClick={() => setSp(new URLSearchParams(), { replace: true })}>Clear filters</Button>
          )}
        </Card>
        <Card className="overflow-hidden" aria-busy={q.isFetching}>
          {q.isPending ? (
            <div className="space-y-2 p-4">{Array.from({ length: 10 }, (_, i) => <Skeleton key={i} className="h-7" />)}</div>
          ) : q.isError ? (
            <ErrorState error={q.error} retry={() => void q.refetch()} title="The system logs could not be loaded" />
          ) : items.length === 0 ? (
            <EmptyState title={filtered ? 'No record matches these filters' : 'Nothing logged yet'} icon={<ScrollText className="size-6" aria-hidden />}>
              {filtered ? 'Widen the time range or clear a filter.' : 'Records appear here a second after the server logs them.'}
            </EmptyState>
          ) : (
            <>
              <Table label="System log records">
                <thead className="bg-slate-50 dark:bg-slate-800/50">
                  <tr>
                    <Th>Time</Th>
                    <Th>Level</Th>
                    <Th>Component</Th>
                    <Th>Message</Th>
                    <Th>Request</Th>
                    <Th>User</Th>
                  </tr>
                </thead>
                <tbody className="divide-y divide-slate-100 font-mono text-xs dark:divide-slate-800">
                  {items.map((l) => (
                    <tr key={l.id} className="hover:bg-slate-50 dark:hover:bg-slate-800/40">
                      <Td className="whitespace-nowrap py-2 text-slate-500">{formatTime(l.time)}</Td>
                      <Td className="py-2"><Badge tone={levelTone[l.level as Level]} className="uppercase">{l.level}</Badge></Td>
                      <Td className="py-2 text-slate-600 dark:text-slate-300">{l.component || '—'}</Td>
                      <Td className="max-w-xl py-2">
                        <span className="font-medium text-slate-900 dark:text-slate-100">{l.message}</span>
                        {attrPairs(l.attrs).map((a) => (
                          <span key={a} className="ml-2 text-slate-500">{a}</span>
                        ))}
                        {l.run_id && (
                          <button type="button" className="ml-2 text-violet-700 hover:underline dark:text-violet-300" onClick={() => set('run_id', l.run_id!)}>
                            run={l.run_id.slice(0, 8)}
                          </button>
                        )}
                      </Td>
                      <Td className="py-2">
                        {l.request_id ? (
                          <button
                            type="button"
                            className="text-sky-700 hover:underline dark:text-sky-400"
                            aria-label={`Follow request ${l.request_id}`}
                            onClick={() => set('trace', l.request_id!)}
                          >
                            {l.request_id.slice(0, 8)}
                          </button>
                        ) : (
                          '—'
                        )}
                      </Td>
                      <Td className="py-2 text-slate-600 dark:text-slate-300">{l.user || '—'}</Td>
                    </tr>
                  ))}
                </tbody>
              </Table>
              <div className="flex items-center justify-between border-t border-slate-200 px-4 py-3 text-xs text-slate-500 dark:border-slate-800">
                <span>{formatCount(items.length)} records shown</span>
                {q.hasNextPage && (
                  <Button size="sm" onClick={() => void q.fetchNextPage()} disabled={q.isFetchingNextPage}>
                    {q.isFetchingNextPage ? 'Loading…' : 'Load older'}
                  </Button>
                )}
              </div>
            </>
          )}
        </Card>
      </div>
      <RequestDrawer requestId={openReq} onClose={closeDrawer} />
    </div>
  )
}

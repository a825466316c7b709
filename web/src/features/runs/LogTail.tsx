// The run's log: the last lines from GET /runs/{id}/logs, then live run.log events appended, with a
// level filter. It follows the bottom while the user has not scrolled up.
import { useEffect, useMemo, useRef, useState } from 'react'
import { useQuery } from '@tanstack/react-query'
import { ErrorState, Skeleton, EmptyState } from '@/components/ui'
import { cn } from '@/lib/cn'
import { formatCount, formatTime } from '@/lib/format'
import { fetchLogTail, isActive, runKeys, type Run } from './queries'

const LEVELS = ['debug', 'info', 'warn', 'error'] as const
const levelStyle: Record<string, string> = {
  debug: 'text-slate-400',
  info: 'text-sky-600 dark:text-sky-400',
  warn: 'text-amber-600 dark:text-amber-400',
  error: 'text-rose-600 dark:text-rose-400',
}

export function LogTail({ run, live }: { run: Run; live: boolean }) {
  const logs = useQuery({
    queryKey: runKeys.logs(run.id),
    queryFn: () => fetchLogTail(run.id),
    refetchInterval: !live && isActive(run.status) ? 2000 : false,
  })
  const [min, setMin] = useState<(typeof LEVELS)[number]>('debug')
  const box = useRef<HTMLDivElement>(null)
  const stick = useRef(true)
  const lines = useMemo(() => {
    const at = LEVELS.indexOf(min)
    return (logs.data?.lines ?? []).filter((l) => {
      const i = LEVELS.indexOf(l.level as (typeof LEVELS)[number])
      return i < 0 || i >= at
    })
  }, [logs.data, min])
  useEffect(() => {
    const el = box.current
    if (el && stick.current) el.scrollTop = el.scrollHeight
  }, [lines])

  return (
    <div className="space-y-3">
      <div className="flex flex-wrap items-center gap-3">
        <div role="radiogroup" aria-label="Minimum log level" className="inline-flex rounded-md ring-1 ring-inset ring-slate-300 dark:ring-slate-700">
          {LEVELS.map((l) => (
            <button
              key={l}
              type="button"
              role="radio"
              aria-checked={min === l}
              onClick={() => setMin(l)}
              className={cn(
                'px-3 py-1.5 text-xs font-medium capitalize first:rounded-l-md last:rounded-r-md',
                min === l ? 'bg-brand-600 text-white' : 'text-slate-600 hover:bg-slate-50 dark:text-slate-300 dark:hover:bg-slate-800',
              )}
            >
              {l === 'debug' ? 'All' : l === 'info' ? 'Info+' : l === 'warn' ? 'Warnings+' : 'Errors'}
            </button>
          ))}
        </div>
        {logs.data && (
          <span className="text-xs text-slate-500 dark:text-slate-400">
            {logs.data.total > logs.data.lines.length
              ? `Last ${formatCount(logs.data.lines.length)} of ${formatCount(logs.data.total)} lines`
              : `${formatCount(logs.data.total)} line${logs.data.total === 1 ? '' : 's'}`}
          </span>
        )}
      </div>
      {logs.isError ? (
        <ErrorState error={logs.error} retry={() => void logs.refetch()} title="Could not load the log" />
      ) : logs.isPending ? (
        <Skeleton className="h-48 w-full" />
      ) : lines.length === 0 ? (
        <EmptyState title={logs.data.lines.length ? 'No line at this level' : 'No log lines yet'}>
          {isActive(run.status) ? 'Lines appear here as the run writes them.' : undefined}
        </EmptyState>
      ) : (
        <div
          ref={box}
          role="log"
          aria-label="Run log"
          tabIndex={0}
          onScroll={(e) => {
            const el = e.currentTarget
            stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24
          }}
          className="max-h-96 overflow-auto rounded-lg bg-slate-950 p-3 font-mono text-xs leading-relaxed text-slate-200 ring-1 ring-slate-800"
        >
          {lines.map((l, i) => (
            <div key={`${l.id}-${i}`} className="flex gap-3 whitespace-pre-wrap break-all">
              <span className="shrink-0 text-slate-500">{formatTime(l.time).split(', ').pop()}</span>
              <span className={cn('w-11 shrink-0 font-semibold uppercase', levelStyle[l.level] ?? 'text-slate-300')}>{l.level}</span>
              {l.node && <span className="shrink-0 text-violet-300">[{l.node}]</span>}
              <span className="min-w-0">{l.message}</span>
            </div>
          ))}
        </div>
      )}
    </div>
  )
}

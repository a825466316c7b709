// The chunks of a partitioned run: a summary (how many ended, run, wait; rows and rate) with a
// stacked status bar, and one tile per key range with its status colour, rows, rate, worker,
// attempt and error. Live through run.chunk events (useLive.ts folds them into the cached run).
import { Link } from 'react-router'
import { Layers } from 'lucide-react'
import { Card, StatusBadge } from '@/components/ui'
import { cn } from '@/lib/cn'
import { formatCount } from '@/lib/format'
import { chunkTotals, type Run, type RunChunk } from './queries'

const bar: Record<string, string> = {
  succeeded: 'bg-emerald-500',
  running: 'bg-sky-500',
  failed: 'bg-rose-500',
  cancelled: 'bg-amber-400',
  queued: 'bg-slate-300 dark:bg-slate-700',
}

const edge: Record<string, string> = {
  succeeded: 'border-l-emerald-500',
  running: 'border-l-sky-500',
  failed: 'border-l-rose-500',
  cancelled: 'border-l-amber-400',
  queued: 'border-l-slate-300 dark:border-l-slate-700',
}

const order = ['succeeded', 'running', 'failed', 'cancelled', 'queued'] as const

const isInt = (s: string) => /^-?\d+$/.test(s)

/** A chunk's key range in words: "1 – 12,500", "≥ 87,501", "< 12,501", or the raw bounds. */
export function rangeLabel(c: Pick<RunChunk, 'lo' | 'hi'>): string {
  const { lo, hi } = c
  if (!lo && !hi) return 'all keys'
  if ((lo === '' || isInt(lo)) && (hi === '' || isInt(hi))) {
    const f = (s: string) => formatCount(Number(s))
    if (!lo) return `≤ ${f(String(BigInt(hi) - 1n))}`
    if (!hi) return `≥ ${f(lo)}`
    return `${f(lo)} – ${f(String(BigInt(hi) - 1n))}`
  }
  if (!lo) return `before ${hi}`
  if (!hi) return `from ${lo}`
  return `${lo} – before ${hi}`
}

function shortWorker(id: string) {
  // host-pid-random: the host and pid say where it ran
  const parts = id.split('-')
  return parts.length >= 3 ? parts.slice(0, -1).join('-') : id
}

export function Chunks({ run, linkWorkers }: { run: Run; linkWorkers: boolean }) {
  const chunks = run.chunks ?? []
  const t = chunkTotals(run)
  const ended = t.by.succeeded + t.by.failed + t.by.cancelled
  const field = chunks[0]?.field ?? 'key'
  return (
    <Card className="overflow-hidden">
      <div className="flex flex-wrap items-center justify-between gap-3 border-b border-slate-200 px-4 py-3 dark:border-slate-800">
        <div className="flex items-center gap-2">
          <Layers className="size-4 text-slate-400" aria-hidden />
          <h2 className="text-sm font-semibold">Chunks</h2>
          <span className="text-xs text-slate-500 dark:text-slate-400">
            {t.total} key ranges of <span className="font-mono">{field}</span>
          </span>
        </div>
        <div className="flex flex-wrap items-center gap-x-4 gap-y-1 text-xs text-slate-600 dark:text-slate-300">
          {order.filter((s) => t.by[s] > 0).map((s) => (
            <span key={s} className="inline-flex items-center gap-1.5">
              <span aria-hidden className={cn('size-2 rounded-sm', bar[s])} />
              {t.by[s]} {s}
            </span>
          ))}
          {t.by.running > 0 && t.rate > 0 && (
            <span className="tabular-nums text-slate-500 dark:text-slate-400">{formatCount(Math.round(t.rate))} rows/s</span>
          )}
        </div>
      </div>
      <div className="px-4 pt-3">
        <div
          className="flex h-2 overflow-hidden rounded-full bg-slate-100 dark:bg-slate-800"
          role="progressbar"
          aria-label="Chunks ended"
          aria-valuemin={0}
          aria-valuemax={t.total}
          aria-valuenow={ended}
          aria-valuetext={`${ended} of ${t.total} chunks ended`}
        >
          {order.map((s) =>
            t.by[s] > 0 && s !== 'queued' ? (
              <div key={s} className={cn('h-full transition-all duration-500', bar[s], s === 'running' && 'animate-pulse')} style={{ width: `${(100 * t.by[s]) / t.total}%` }} />
            ) : null,
          )}
        </div>
        <p className="mt-1.5 text-xs text-slate-500 dark:text-slate-400">
          {ended} of {t.total} ended · {formatCount(t.read)} rows read · {formatCount(t.written)} written
        </p>
      </div>
      <ul className="grid grid-cols-1 gap-2.5 p-4 sm:grid-cols-2 lg:grid-cols-4 2xl:grid-cols-6" aria-label="Chunks">
        {chunks.map((c) => (
          <ChunkTile key={c.idx} c={c} rate={run.chunk_rates?.[c.idx]} linkWorkers={linkWorkers} />
        ))}
      </ul>
    </Card>
  )
}

function ChunkTile({ c, rate, linkWorkers }: { c: RunChunk; rate?: number; linkWorkers: boolean }) {
  const worker = c.worker_id ? shortWorker(c.worker_id) : ''
  return (
    <li
      aria-label={`Chunk ${c.idx}`}
      className={cn(
        'flex min-w-0 flex-col gap-1.5 rounded-lg border border-l-4 border-slate-200 bg-white px-3 py-2.5 dark:border-slate-800 dark:bg-slate-950/40',
        edge[c.status],
      )}
    >
      <div className="flex items-center justify-between gap-2">
        <span className="text-xs font-semibold text-slate-700 dark:text-slate-200">#{c.idx}</span>
        <StatusBadge status={c.status} />
      </div>
      <div className="truncate font-mono text-xs text-slate-600 dark:text-slate-300" title={`${c.field} in [${c.lo || '-∞'}, ${c.hi || '+∞'})`}>
        {c.field} {rangeLabel(c)}
      </div>
      <div className="flex items-baseline justify-between gap-2 text-xs">
        <span className="tabular-nums text-slate-900 dark:text-slate-100">
          <span className="font-semibold">{formatCount(c.rows_read)}</span> rows
        </span>
        {c.status === 'running' && rate != null && rate > 0 && (
          <span className="tabular-nums text-sky-700 dark:text-sky-400">{formatCount(Math.round(rate))}/s</span>
        )}
      </div>
      <div className="flex items-center justify-between gap-2 text-[11px] text-slate-500 dark:text-slate-400">
        <span className="truncate font-mono" title={c.worker_id || undefined}>
          {worker ? (linkWorkers ? <Link to="/workers" className="hover:underline">{worker}</Link> : worker) : 'waiting for a worker'}
        </span>
        {c.attempt > 1 && <span className="shrink-0 rounded bg-amber-50 px-1.5 py-0.5 font-medium text-amber-800 dark:bg-amber-500/10 dark:text-amber-300">attempt {c.attempt}</span>}
      </div>
      {c.error && c.status !== 'succeeded' && (
        <p className={cn('line-clamp-2 break-words text-[11px]', c.status === 'failed' ? 'text-rose-700 dark:text-rose-400' : 'text-slate-500 dark:text-slate-400')} title={c.error}>
          {c.error}
        </p>
      )}
    </li>
  )
}

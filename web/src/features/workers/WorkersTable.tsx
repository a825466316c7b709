import { Server } from 'lucide-react'
import { Badge, EmptyState, Table, Td, Th } from '@/components/ui'
import { CopyButton } from '@/components/ui/controls'
import { formatTime, relativeTime } from '@/lib/format'
import { cn } from '@/lib/cn'
import type { Worker, WorkerStatus } from './types'
import { ageText, heartbeatAge, sortWorkers } from './workers'

const statusBadge: Record<WorkerStatus, { tone: 'green' | 'gray' | 'red'; word: string }> = {
  alive: { tone: 'green', word: 'Alive' },
  stopped: { tone: 'gray', word: 'Stopped' },
  dead: { tone: 'red', word: 'No heartbeat' },
}

export function WorkerStatusBadge({ status }: { status: WorkerStatus }) {
  const b = statusBadge[status] ?? { tone: 'gray' as const, word: status }
  return (
    <Badge tone={b.tone}>
      <span aria-hidden className={cn('size-1.5 rounded-full bg-current', status === 'alive' && 'animate-pulse')} />
      {b.word}
    </Badge>
  )
}

/** The workers as a table, alive first; `now` drives the heartbeat ages. */
export function WorkersTable({ items, now }: { items: Worker[]; now: number }) {
  if (items.length === 0) return <NoWorkers />
  return (
    <Table label="Workers">
      <thead>
        <tr>
          <Th>Status</Th>
          <Th>Worker</Th>
          <Th>Queues</Th>
          <Th className="text-right">Running</Th>
          <Th className="text-right">Last heartbeat</Th>
          <Th>Started</Th>
          <Th>Version</Th>
        </tr>
      </thead>
      <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
        {sortWorkers(items).map((w) => {
          const age = heartbeatAge(w, now)
          const share = w.concurrency ? Math.min(1, w.running / w.concurrency) : 0
          return (
            <tr key={w.id} aria-label={`Worker ${w.host} ${w.pid}`} className={cn(w.status !== 'alive' && 'text-slate-500 dark:text-slate-400')}>
              <Td><WorkerStatusBadge status={w.status} /></Td>
              <Td>
                <div className="font-medium text-slate-900 dark:text-slate-100">
                  {w.host} <span className="font-normal text-slate-500 dark:text-slate-400">· pid {w.pid}</span>
                </div>
                <div className="font-mono text-xs text-slate-400 dark:text-slate-500">{w.id}</div>
              </Td>
              <Td>
                <div className="flex flex-wrap gap-1">
                  {w.queues.map((q) => <Badge key={q} tone="violet">{q}</Badge>)}
                </div>
              </Td>
              <Td className="text-right">
                <div className="tabular-nums" data-testid="running">{w.running} / {w.concurrency}</div>
                <div className="ml-auto mt-1 h-1.5 w-20 overflow-hidden rounded-full bg-slate-100 dark:bg-slate-800" aria-hidden>
                  <div className={cn('h-full rounded-full', w.status === 'alive' ? 'bg-brand-500' : 'bg-slate-300 dark:bg-slate-600')} style={{ width: `${share * 100}%` }} />
                </div>
              </Td>
              <Td className="text-right">
                <time
                  dateTime={w.last_heartbeat}
                  title={formatTime(w.last_heartbeat)}
                  className={cn('tabular-nums', w.status === 'alive' && age > 30 && 'text-amber-600 dark:text-amber-400', w.status === 'dead' && 'text-rose-600 dark:text-rose-400')}
                >
                  {ageText(age)} ago
                </time>
              </Td>
              <Td>
                <time dateTime={w.started_at} title={formatTime(w.started_at)}>{relativeTime(w.started_at, now)}</time>
                {w.stopped_at && <div className="text-xs">stopped {relativeTime(w.stopped_at, now)}</div>}
              </Td>
              <Td className="font-mono text-xs">{w.version}</Td>
            </tr>
          )
        })}
      </tbody>
    </Table>
  )
}

/** No worker registered: runs wait in the queue; how to start one. */
export function NoWorkers() {
  const cmd = 'aggregator worker'
  return (
    <EmptyState title="No worker is running" icon={<Server className="size-6" aria-hidden />}>
      Runs wait in the queue until a worker takes them. Start a worker process on any machine that reaches the metadata
      store with <code className="rounded bg-slate-100 px-1 py-0.5 font-mono text-xs dark:bg-slate-800">{cmd}</code>{' '}
      <CopyButton text={cmd} label="Copy command" />, or run <code className="rounded bg-slate-100 px-1 py-0.5 font-mono text-xs dark:bg-slate-800">aggregator serve</code>{' '}
      with <code className="font-mono text-xs">RUN_WORKERS</code> above 0.
    </EmptyState>
  )
}

// The deployment of a streaming run: its state and controls (pause, resume, restart, stop with a
// confirmation), a throughput sparkline of the last minutes, and per partition the committed
// position, the lag and the rate, beside the instances with their workers. Live through run.instance
// and run.deployment events (queries.ts folds them into the cached run).
import { useEffect, useState } from 'react'
import { Pause, Play, RotateCw, Square, Radio } from 'lucide-react'
import { Badge, Button, Card, ConfirmDialog, InlineError, StatusBadge } from '@/components/ui'
import { cn } from '@/lib/cn'
import { formatCount } from '@/lib/format'
import type { Control, Deployment as DeploymentT, Run } from './queries'

const stateTone: Record<string, 'green' | 'amber' | 'blue' | 'red' | 'gray'> = {
  running: 'green',
  paused: 'amber',
  restarting: 'blue',
  stopping: 'blue',
  stopped: 'gray',
  failed: 'red',
}

/** The controls a deployment in state offers. */
export function controlsFor(state: string): Control[] {
  switch (state) {
    case 'running':
      return ['pause', 'restart', 'stop']
    case 'paused':
      return ['resume', 'restart', 'stop']
    case 'restarting':
      return ['stop']
    default:
      return []
  }
}

export interface PartitionRow {
  key: string
  source: string
  partition: string
  /** The instances that report it: one per Kafka partition; every instance for a shared JetStream consumer or queue. */
  instances: number[]
  committed: string
  lag: number
  lagUnit: string
  rate: number
}

/**
 * Every partition the running instances read, by source and partition. A partition several instances
 * share (one JetStream durable, one queue) is one row, from the latest report.
 */
export function partitionRows(d: DeploymentT): PartitionRow[] {
  const by = new Map<string, PartitionRow & { at: string }>()
  for (const inst of d.instances ?? []) {
    if (inst.state !== 'running') continue
    for (const p of inst.partitions ?? []) {
      const key = `${p.source}/${p.partition}`
      const at = inst.reported_at ?? ''
      const prev = by.get(key)
      const row = { key, source: p.source, partition: p.partition, instances: [...(prev?.instances ?? []), inst.idx], committed: p.committed ?? '',
        lag: p.lag, lagUnit: p.lag_unit, rate: p.rows_per_second, at }
      by.set(key, prev && prev.at > at ? { ...prev, instances: row.instances } : row)
    }
  }
  return [...by.values()]
    .map(({ at: _at, ...r }) => r)
    .sort((a, b) => a.source.localeCompare(b.source) || a.partition.localeCompare(b.partition, undefined, { numeric: true }))
}

/** A lag in words: "1,204 records", "3.2 MB of WAL", "unknown". */
export function lagLabel(lag: number, unit: string): string {
  if (lag < 0) return 'unknown'
  if (unit === 'bytes') {
    if (lag < 1024) return `${lag} B`
    const units = ['KB', 'MB', 'GB', 'TB']
    let v = lag / 1024
    let i = 0
    while (v >= 1024 && i < units.length - 1) {
      v /= 1024
      i++
    }
    return `${v.toFixed(1)} ${units[i]}`
  }
  return `${formatCount(lag)} ${lag === 1 ? 'record' : 'records'}`
}

const HISTORY = 120

function Sparkline({ values }: { values: number[] }) {
  const w = 240
  const h = 48
  const top = Math.max(1, ...values)
  const pts = values.map((v, i) => `${(i / Math.max(1, HISTORY - 1)) * w},${h - (v / top) * (h - 4) - 2}`).join(' ')
  const last = values.at(-1) ?? 0
  return (
    <svg
      role="img"
      aria-label={`Throughput: ${formatCount(Math.round(last))} rows/s now, peak ${formatCount(Math.round(top))} rows/s`}
      viewBox={`0 0 ${w} ${h}`}
      className="h-12 w-60 text-brand-500"
      preserveAspectRatio="none"
    >
      <line x1="0" y1={h - 1} x2={w} y2={h - 1} className="stroke-slate-200 dark:stroke-slate-800" strokeWidth="1" />
      {values.length > 1 && <polyline points={pts} fill="none" stroke="currentColor" strokeWidth="2" strokeLinejoin="round" />}
    </svg>
  )
}

const controlLabel: Record<Control, string> = { pause: 'Pause', resume: 'Resume', restart: 'Restart', stop: 'Stop' }
const controlIcon: Record<Control, React.ReactNode> = {
  pause: <Pause className="size-4" aria-hidden />,
  resume: <Play className="size-4" aria-hidden />,
  restart: <RotateCw className="size-4" aria-hidden />,
  stop: <Square className="size-4" aria-hidden />,
}

export function Deployment({ run, canControl, onControl }: { run: Run; canControl: boolean; onControl: (c: Control) => Promise<unknown> }) {
  const d = run.deployment
  const [history, setHistory] = useState<number[]>([])
  const [busy, setBusy] = useState<Control | null>(null)
  const [error, setError] = useState<unknown>(null)
  const [confirmStop, setConfirmStop] = useState(false)
  const rate = d?.rows_per_second ?? 0
  useEffect(() => {
    setHistory((h) => [...h.slice(-(HISTORY - 1)), rate])
  }, [rate, d?.instances])
  if (!d) return null
  const rows = partitionRows(d)
  const controls = canControl && !run.live_only && run.status === 'running' ? controlsFor(d.state) : []
  const act = async (c: Control) => {
    setBusy(c)
    setError(null)
    try {
      await onControl(c)
      setConfirmStop(false)
    } catch (e) {
      setError(e)
    } finally {
      setBusy(null)
    }
  }
  const totalLag = rows.filter((r) => r.lag >= 0 && r.lagUnit === 'records').reduce((a, r) => a + r.lag, 0)
  return (
    <Card className="overflow-hidden" aria-label="Deployment">
      <div className="flex flex-wrap items-center justify-between gap-3 border-b border-slate-200 px-4 py-3 dark:border-slate-800">
        <div className="flex items-center gap-2">
          <Radio className="size-4 text-slate-400" aria-hidden />
          <h2 className="text-sm font-semibold">Stream</h2>
          <Badge tone={stateTone[d.state] ?? 'gray'}>{d.state.charAt(0).toUpperCase() + d.state.slice(1)}</Badge>
          <span className="text-xs text-slate-500 dark:text-slate-400">
            {d.parallelism} {d.parallelism === 1 ? 'instance' : 'instances'}
          </span>
        </div>
        {controls.length > 0 && (
          <div className="flex flex-wrap gap-2">
            {controls.map((c) => (
              <Button
                key={c}
                size="sm"
                variant={c === 'stop' ? 'danger' : 'secondary'}
                icon={controlIcon[c]}
                loading={busy === c}
                disabled={busy !== null}
                onClick={() => (c === 'stop' ? setConfirmStop(true) : void act(c))}
              >
                {controlLabel[c]}
              </Button>
            ))}
          </div>
        )}
      </div>
      {error != null && !confirmStop && <div className="px-4 pt-3"><InlineError error={error} /></div>}
      <div className="grid gap-4 px-4 py-4 lg:grid-cols-[auto_1fr]">
        <div className="space-y-1">
          <p className="text-xs font-medium text-slate-500 dark:text-slate-400">Throughput</p>
          <p className="text-2xl font-semibold tabular-nums">
            {formatCount(Math.round(rate))} <span className="text-sm font-normal text-slate-500 dark:text-slate-400">rows/s</span>
          </p>
          <Sparkline values={history} />
          <p className="text-xs text-slate-500 dark:text-slate-400">
            Lag <span className="font-medium tabular-nums text-slate-700 dark:text-slate-200">{lagLabel(totalLag, 'records')}</span>
          </p>
        </div>
        <div className="min-w-0 overflow-x-auto">
          <table className="w-full text-left text-sm" aria-label="Partitions">
            <thead className="text-xs text-slate-500 dark:text-slate-400">
              <tr>
                <th className="py-1.5 pr-3 font-medium">Partition</th>
                <th className="py-1.5 pr-3 font-medium">Committed</th>
                <th className="py-1.5 pr-3 text-right font-medium">Lag</th>
                <th className="py-1.5 pr-3 text-right font-medium">Rows/s</th>
                <th className="py-1.5 font-medium">Instances</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
              {rows.length === 0 && (
                <tr>
                  <td colSpan={5} className="py-3 text-slate-500 dark:text-slate-400">
                    No positions reported yet: running instances report every few seconds.
                  </td>
                </tr>
              )}
              {rows.map((r) => (
                <tr key={r.key}>
                  <td className="py-1.5 pr-3 font-mono text-xs">{r.partition}</td>
                  <td className="py-1.5 pr-3 font-mono text-xs text-slate-600 dark:text-slate-300">{r.committed || '—'}</td>
                  <td className={cn('py-1.5 pr-3 text-right tabular-nums', r.lag > 0 && 'text-amber-600 dark:text-amber-400')}>{lagLabel(r.lag, r.lagUnit)}</td>
                  <td className="py-1.5 pr-3 text-right tabular-nums">{formatCount(Math.round(r.rate))}</td>
                  <td className="py-1.5 text-xs text-slate-600 dark:text-slate-300">{r.instances.map((i) => `#${i}`).join(', ')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </div>
      <div className="border-t border-slate-200 px-4 py-3 dark:border-slate-800">
        <ul aria-label="Instances" className="grid gap-2 sm:grid-cols-2 lg:grid-cols-4">
          {(d.instances ?? []).map((inst) => (
            <li key={inst.idx} className="rounded-lg border border-slate-200 px-3 py-2 text-xs dark:border-slate-800">
              <div className="flex items-center justify-between gap-2">
                <span className="font-semibold">Instance #{inst.idx}</span>
                <StatusBadge status={inst.state} />
              </div>
              <p className="mt-1 truncate font-mono text-slate-600 dark:text-slate-300" title={inst.worker_id}>{inst.worker_id || 'no worker yet'}</p>
              <p className="mt-0.5 tabular-nums text-slate-500 dark:text-slate-400">
                {formatCount(inst.rows_read)} read · {formatCount(Math.round(inst.rows_per_second))} rows/s · attempt {inst.attempt}
              </p>
              {inst.error && <p className="mt-0.5 truncate text-slate-500 dark:text-slate-400" title={inst.error}>{inst.error}</p>}
            </li>
          ))}
        </ul>
      </div>
      <ConfirmDialog
        open={confirmStop}
        title="Stop this stream?"
        confirmLabel="Stop stream"
        danger
        loading={busy === 'stop'}
        onConfirm={() => void act('stop')}
        onClose={() => setConfirmStop(false)}
      >
        <p>Every instance commits what it read and stops; the run ends. Records published afterwards wait in the broker for the next run of this pipeline.</p>
        <div className="mt-3"><InlineError error={error} /></div>
      </ConfirmDialog>
    </Card>
  )
}

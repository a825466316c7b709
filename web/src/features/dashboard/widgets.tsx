// The dashboard's widgets as pure views: each takes typed data (the analytics API's shapes, runs) and
// draws it, with an empty state that says what to do. Data fetching lives in Widget.tsx; Vitest
// renders these on fixed data (widgets.test.tsx).
import type { ReactNode } from 'react'
import { Link } from 'react-router'
import {
  Area, AreaChart, Bar, BarChart, CartesianGrid, Cell, Line, LineChart, Pie, PieChart, ResponsiveContainer, Tooltip,
  XAxis, YAxis,
} from 'recharts'
import { Activity, CheckCircle2, Clock, Cpu, Inbox, PlayCircle, Radio, ShieldAlert, TimerReset } from 'lucide-react'
import { cn } from '@/lib/cn'
import { formatCount, formatDuration, relativeTime } from '@/lib/format'
import type { Run } from '@/features/runs/queries'
import { compact, fillSeries, formatAge, statusSlices, type PipelineStat, type Summary, type Timeseries } from './model'

export const STATUS_COLORS: Record<string, string> = {
  succeeded: '#10b981', failed: '#f43f5e', running: '#6366f1', queued: '#94a3b8', cancelled: '#f59e0b',
}
const BRAND = '#6366f1'

/** A widget's empty state: an icon, what is (not) there, and what to do about it. */
export function WidgetEmpty({ icon, title, children, tone = 'gray' }: { icon?: ReactNode; title: string; children?: ReactNode; tone?: 'gray' | 'green' }) {
  return (
    <div className="flex h-full flex-col items-center justify-center gap-2 px-4 py-3 text-center">
      <div
        className={cn(
          'flex size-9 items-center justify-center rounded-full',
          tone === 'green' ? 'bg-emerald-50 text-emerald-600 dark:bg-emerald-500/10 dark:text-emerald-400' : 'bg-slate-100 text-slate-500 dark:bg-slate-800 dark:text-slate-400',
        )}
      >
        {icon ?? <Inbox className="size-5" aria-hidden />}
      </div>
      <p className="text-sm font-medium">{title}</p>
      {children && <p className="max-w-xs text-xs text-slate-500 dark:text-slate-400">{children}</p>}
    </div>
  )
}

function BigNumber({ value, label, tone }: { value: string; label: string; tone?: 'red' | 'green' | 'amber' }) {
  return (
    <div>
      <p
        className={cn(
          'text-3xl font-semibold tabular-nums tracking-tight',
          tone === 'red' && 'text-rose-600 dark:text-rose-400',
          tone === 'green' && 'text-emerald-600 dark:text-emerald-400',
          tone === 'amber' && 'text-amber-600 dark:text-amber-400',
        )}
      >
        {value}
      </p>
      <p className="text-xs text-slate-500 dark:text-slate-400">{label}</p>
    </div>
  )
}

const tooltipStyle = {
  contentStyle: { borderRadius: 8, border: '1px solid rgb(148 163 184 / 0.3)', fontSize: 12, background: '#fff' },
  labelStyle: { color: '#64748b' },
}

function timeTick(step: string) {
  return (t: number) =>
    new Date(t).toLocaleString(undefined, step === '1d' ? { month: 'short', day: 'numeric' } : step === '1h' ? { weekday: 'short', hour: '2-digit' } : { hour: '2-digit', minute: '2-digit' })
}
const timeLabel = (t: unknown) => new Date(Number(t)).toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' })

// ---- runs by status ----

export function RunsByStatusView({ byStatus, linkless }: { byStatus: Record<string, number>; linkless?: boolean }) {
  const slices = statusSlices(byStatus)
  const total = slices.reduce((s, x) => s + x.count, 0)
  if (total === 0) {
    return (
      <WidgetEmpty icon={<PlayCircle className="size-5" aria-hidden />} title="No runs in this range">
        Run a pipeline from the Pipelines page or give it a schedule, or pick a longer time range.
      </WidgetEmpty>
    )
  }
  return (
    <div className="flex h-full items-center gap-4">
      <div className="relative h-full min-h-28 w-2/5 min-w-28" aria-hidden>
        <ResponsiveContainer width="100%" height="100%">
          <PieChart>
            <Pie data={slices} dataKey="count" nameKey="status" innerRadius="62%" outerRadius="95%" paddingAngle={slices.length > 1 ? 2 : 0} stroke="none" isAnimationActive={false}>
              {slices.map((s) => <Cell key={s.status} fill={STATUS_COLORS[s.status] ?? '#64748b'} />)}
            </Pie>
          </PieChart>
        </ResponsiveContainer>
        <div className="pointer-events-none absolute inset-0 flex flex-col items-center justify-center">
          <span className="text-xl font-semibold tabular-nums">{compact(total)}</span>
          <span className="text-[11px] text-slate-500">runs</span>
        </div>
      </div>
      <ul className="flex-1 space-y-1.5 text-sm" aria-label="Runs by status">
        {slices.map((s) => (
          <li key={s.status} className="flex items-center gap-2">
            <span className="size-2.5 rounded-sm" style={{ background: STATUS_COLORS[s.status] ?? '#64748b' }} aria-hidden />
            {linkless ? <span className="flex-1 capitalize">{s.status}</span> : <Link to={`/runs?status=${s.status}`} className="flex-1 capitalize hover:underline">{s.status}</Link>}
            <span className="tabular-nums font-medium" data-testid={`status-${s.status}`}>{formatCount(s.count)}</span>
            <span className="w-10 text-right text-xs tabular-nums text-slate-400">{Math.round((s.count / total) * 100)} %</span>
          </li>
        ))}
      </ul>
    </div>
  )
}

// ---- records per second ----

export function ThroughputView({ data }: { data: Timeseries }) {
  const s = data.series?.[0]
  const points = fillSeries(s?.points ?? [], data.from, data.to, data.step, 0, 'max')
  const values = (s?.points ?? []).map((p) => p.value)
  if (!values.some((v) => v > 0)) {
    return (
      <WidgetEmpty icon={<Activity className="size-5" aria-hidden />} title="No rows moved in this range">
        Records per second appear as soon as a run reads rows. Run a pipeline, or pick a longer time range.
      </WidgetEmpty>
    )
  }
  const peak = Math.max(...values)
  const avg = values.reduce((a, b) => a + b, 0) / values.length
  return (
    <div className="flex h-full flex-col gap-2">
      <div className="flex gap-6">
        <BigNumber value={compact(peak)} label="peak rows/s" />
        <BigNumber value={compact(avg)} label="average rows/s while moving" />
      </div>
      <div className="min-h-24 flex-1 text-slate-400" aria-label="Records per second chart" role="img">
        <ResponsiveContainer width="100%" height="100%">
          <AreaChart data={points} margin={{ top: 4, right: 4, bottom: 0, left: -8 }}>
            <defs>
              <linearGradient id="dash-tp" x1="0" y1="0" x2="0" y2="1">
                <stop offset="0%" stopColor={BRAND} stopOpacity={0.35} />
                <stop offset="100%" stopColor={BRAND} stopOpacity={0} />
              </linearGradient>
            </defs>
            <CartesianGrid stroke="currentColor" strokeOpacity={0.15} vertical={false} />
            <XAxis dataKey="t" type="number" domain={['dataMin', 'dataMax']} scale="time" tickFormatter={timeTick(data.step)} tick={{ fill: 'currentColor', fontSize: 11 }} stroke="currentColor" strokeOpacity={0.3} minTickGap={40} />
            <YAxis tickFormatter={compact} tick={{ fill: 'currentColor', fontSize: 11 }} stroke="currentColor" strokeOpacity={0.3} width={44} />
            <Tooltip {...tooltipStyle} labelFormatter={timeLabel} formatter={(v) => [`${formatCount(Math.round(Number(v)))} rows/s`, 'Rate']} />
            <Area type="monotone" dataKey="value" stroke={BRAND} strokeWidth={2} fill="url(#dash-tp)" isAnimationActive={false} />
          </AreaChart>
        </ResponsiveContainer>
      </div>
    </div>
  )
}

// ---- running now ----

export function RunningNowView({ runs, total, names, now }: { runs: Run[]; total: number; names: Map<string, string>; now: number }) {
  if (total === 0) {
    return (
      <WidgetEmpty icon={<PlayCircle className="size-5" aria-hidden />} title="Nothing is running">
        Runs show here the moment they start. Start one from the Pipelines page.
      </WidgetEmpty>
    )
  }
  return (
    <div className="flex h-full flex-col gap-2">
      <BigNumber value={formatCount(total)} label={total === 1 ? 'run executing' : 'runs executing'} />
      <ul className="-mx-1 flex-1 space-y-1 overflow-y-auto" aria-label="Running runs">
        {runs.map((r) => (
          <li key={r.id}>
            <Link to={`/runs/${r.id}`} className="flex items-center gap-2 rounded-md px-1 py-1 text-sm hover:bg-slate-50 dark:hover:bg-slate-800/60">
              <span className="size-2 shrink-0 animate-pulse rounded-full bg-brand-500" aria-hidden />
              <span className="min-w-0 flex-1 truncate font-medium">{names.get(r.pipeline_id) ?? r.pipeline_id}</span>
              {r.rows_per_second ? <span className="text-xs tabular-nums text-slate-500">{compact(r.rows_per_second)}/s</span> : null}
              <span className="text-xs tabular-nums text-slate-400">{r.started_at ? formatDuration(now - Date.parse(r.started_at)) : 'starting'}</span>
            </Link>
          </li>
        ))}
      </ul>
    </div>
  )
}

// ---- failing pipelines ----

export function FailingPipelinesView({ items, now }: { items: PipelineStat[]; now: number }) {
  const failing = items
    .filter((p) => p.last_status === 'failed')
    .sort((a, b) => (b.last_run_at ?? '').localeCompare(a.last_run_at ?? ''))
  if (failing.length === 0) {
    return (
      <WidgetEmpty tone="green" icon={<CheckCircle2 className="size-5" aria-hidden />} title="No failing pipelines">
        {items.length ? 'The last run of every pipeline succeeded or is still going.' : 'Pipelines appear here when their last run fails.'}
      </WidgetEmpty>
    )
  }
  return (
    <div className="flex h-full flex-col gap-2">
      <BigNumber value={formatCount(failing.length)} label={failing.length === 1 ? 'pipeline failing' : 'pipelines failing'} tone="red" />
      <ul className="-mx-1 flex-1 space-y-1 overflow-y-auto" aria-label="Failing pipelines">
        {failing.slice(0, 50).map((p) => (
          <li key={p.pipeline_id}>
            <Link
              to={`/runs?pipeline=${encodeURIComponent(p.pipeline_id)}&status=failed`}
              className="flex items-center gap-2 rounded-md px-1 py-1 text-sm hover:bg-slate-50 dark:hover:bg-slate-800/60"
            >
              <ShieldAlert className="size-4 shrink-0 text-rose-500" aria-hidden />
              <span className="min-w-0 flex-1 truncate font-medium">{p.pipeline_name}</span>
              <span className="text-xs tabular-nums text-slate-500" title="Success rate in the range">
                {p.success_rate == null ? '' : `${Math.round(p.success_rate * 100)} % ok`}
              </span>
              <span className="text-xs text-slate-400">{relativeTime(p.last_run_at, now)}</span>
            </Link>
          </li>
        ))}
      </ul>
    </div>
  )
}

// ---- stale pipelines ----

export function StalePipelinesView({ items }: { items: PipelineStat[] }) {
  const scheduled = items.filter((p) => p.expected_interval_seconds != null)
  const stale = scheduled.filter((p) => p.stale).sort((a, b) => ratio(b) - ratio(a))
  if (scheduled.length === 0) {
    return (
      <WidgetEmpty icon={<Clock className="size-5" aria-hidden />} title="No scheduled pipelines">
        Freshness is measured against a schedule. Give a pipeline a schedule to see here when it falls behind.
      </WidgetEmpty>
    )
  }
  if (stale.length === 0) {
    return (
      <WidgetEmpty tone="green" icon={<CheckCircle2 className="size-5" aria-hidden />} title="Every scheduled pipeline is fresh">
        {`${scheduled.length} scheduled ${scheduled.length === 1 ? 'pipeline has' : 'pipelines have'} succeeded within twice their interval.`}
      </WidgetEmpty>
    )
  }
  return (
    <div className="flex h-full flex-col gap-2">
      <BigNumber value={formatCount(stale.length)} label={`of ${scheduled.length} scheduled pipelines are stale`} tone="amber" />
      <ul className="-mx-1 flex-1 space-y-1 overflow-y-auto" aria-label="Stale pipelines">
        {stale.slice(0, 50).map((p) => (
          <li key={p.pipeline_id}>
            <Link to={`/pipelines/${p.pipeline_id}`} className="flex items-center gap-2 rounded-md px-1 py-1 text-sm hover:bg-slate-50 dark:hover:bg-slate-800/60">
              <TimerReset className="size-4 shrink-0 text-amber-500" aria-hidden />
              <span className="min-w-0 flex-1 truncate font-medium">{p.pipeline_name}</span>
              <span className="text-xs tabular-nums text-slate-500">
                {p.last_success_at ? `${formatAge(p.freshness_seconds)} old` : 'never succeeded'}
              </span>
              <span className="text-xs text-slate-400">every {formatAge(p.expected_interval_seconds)}</span>
            </Link>
          </li>
        ))}
      </ul>
    </div>
  )
}

function ratio(p: PipelineStat): number {
  if (p.freshness_seconds == null) return Number.POSITIVE_INFINITY
  return p.freshness_seconds / Math.max(1, p.expected_interval_seconds ?? 1)
}

// ---- dead-letter rate ----

export function DeadLetterView({ summary, series }: { summary: Summary; series?: Timeseries }) {
  const pct = summary.dead_letter_rate * 100
  const s = series?.series?.[0]
  const points = series ? fillSeries(s?.points ?? [], series.from, series.to, series.step, 0) : []
  return (
    <div className="flex h-full flex-col gap-2">
      <div className="flex gap-6">
        <BigNumber value={`${pct < 0.01 && pct > 0 ? '< 0.01' : pct.toFixed(pct < 10 ? 2 : 1)} %`} label="of rows read" tone={pct >= 1 ? 'red' : pct > 0 ? 'amber' : 'green'} />
        <BigNumber value={compact(summary.dead_letters)} label="dead-letter rows" />
      </div>
      {summary.dead_letters === 0 ? (
        <p className="text-xs text-slate-500 dark:text-slate-400">No row was rejected into a dead-letter set in this range.</p>
      ) : (
        <div className="min-h-16 flex-1 text-slate-400" role="img" aria-label="Dead letters over time">
          <ResponsiveContainer width="100%" height="100%">
            <BarChart data={points} margin={{ top: 4, right: 0, bottom: 0, left: 0 }}>
              <XAxis dataKey="t" hide />
              <Tooltip {...tooltipStyle} labelFormatter={timeLabel} formatter={(v) => [formatCount(Number(v)), 'Dead letters']} />
              <Bar dataKey="value" fill="#f43f5e" radius={[2, 2, 0, 0]} isAnimationActive={false} />
            </BarChart>
          </ResponsiveContainer>
        </div>
      )}
    </div>
  )
}

// ---- workers and queue ----

export function WorkerHealthView({ summary }: { summary: Summary }) {
  const { up, down } = summary.workers
  const total = up + down
  return (
    <div className="flex h-full flex-col justify-between gap-3">
      {total === 0 ? (
        <WidgetEmpty icon={<Cpu className="size-5" aria-hidden />} title="No workers have reported">
          Runs execute on workers: start aggregator serve with RUN_WORKERS above 0, or aggregator worker.
        </WidgetEmpty>
      ) : (
        <div className="grid grid-cols-3 gap-3">
          <BigNumber value={formatCount(up)} label="workers up" tone="green" />
          <BigNumber value={formatCount(down)} label="workers down" tone={down > 0 ? 'red' : undefined} />
          <BigNumber value={formatCount(summary.queue_depth)} label="runs queued" tone={summary.queue_depth > 10 * Math.max(1, up) ? 'amber' : undefined} />
        </div>
      )}
      {total > 0 && (
        <div>
          <div className="flex h-2 overflow-hidden rounded-full bg-slate-100 dark:bg-slate-800" aria-hidden>
            <div className="bg-emerald-500" style={{ width: `${(up / total) * 100}%` }} />
            <div className="bg-rose-500" style={{ width: `${(down / total) * 100}%` }} />
          </div>
          <p className="mt-1.5 text-xs text-slate-500 dark:text-slate-400">
            {down === 0 ? 'Every worker is sending heartbeats.' : `${down} ${down === 1 ? 'worker has' : 'workers have'} stopped sending heartbeats.`}{' '}
            <Link to="/workers" className="text-brand-600 hover:underline dark:text-brand-400">Workers</Link>
          </p>
        </div>
      )}
    </div>
  )
}

// ---- stream lag ----

export function StreamLagView({ summary, series }: { summary: Summary; series?: Timeseries }) {
  const s = series?.series?.[0]
  const has = (s?.points?.length ?? 0) > 0 || summary.max_stream_lag > 0
  if (!has) {
    return (
      <WidgetEmpty icon={<Radio className="size-5" aria-hidden />} title="No streaming runs in this range">
        Lag is measured for Kafka, NATS JetStream and AMQP sources. Deploy a streaming pipeline to see it here.
      </WidgetEmpty>
    )
  }
  const points = series ? fillSeries(s?.points ?? [], series.from, series.to, series.step, null) : []
  return (
    <div className="flex h-full flex-col gap-2">
      <BigNumber value={compact(summary.max_stream_lag)} label="largest lag (messages)" tone={summary.max_stream_lag > 10_000 ? 'amber' : undefined} />
      <div className="min-h-16 flex-1 text-slate-400" role="img" aria-label="Stream lag over time">
        <ResponsiveContainer width="100%" height="100%">
          <LineChart data={points} margin={{ top: 4, right: 4, bottom: 0, left: -8 }}>
            <CartesianGrid stroke="currentColor" strokeOpacity={0.15} vertical={false} />
            <XAxis dataKey="t" type="number" domain={['dataMin', 'dataMax']} scale="time" tickFormatter={timeTick(series?.step ?? '1m')} tick={{ fill: 'currentColor', fontSize: 11 }} stroke="currentColor" strokeOpacity={0.3} minTickGap={40} />
            <YAxis tickFormatter={compact} tick={{ fill: 'currentColor', fontSize: 11 }} stroke="currentColor" strokeOpacity={0.3} width={44} />
            <Tooltip {...tooltipStyle} labelFormatter={timeLabel} formatter={(v) => [formatCount(Number(v)), 'Lag']} />
            <Line type="monotone" dataKey="value" stroke="#f59e0b" strokeWidth={2} dot={false} connectNulls={false} isAnimationActive={false} />
          </LineChart>
        </ResponsiveContainer>
      </div>
    </div>
  )
}

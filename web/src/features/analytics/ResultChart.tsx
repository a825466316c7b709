// The chart tab: a line, bar or area chart (Recharts) of the y columns against the x column, with
// pickers for the type and the axes; only numeric columns can be series.
import { Area, AreaChart, Bar, BarChart, CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts'
import { BarChart3 } from 'lucide-react'
import { EmptyState, Select } from '@/components/ui'
import { cn } from '@/lib/cn'
import type { QueryChart, QueryResult } from './api'
import { chartData, chartTypes, numericColumns } from './model'

export const seriesColors = ['#6366f1', '#14b8a6', '#f59e0b', '#ef4444', '#8b5cf6', '#0ea5e9', '#22c55e', '#ec4899', '#64748b', '#a16207']

export function ChartControls({
  result, chart, onChange,
}: { result: QueryResult; chart: QueryChart; onChange: (c: QueryChart) => void }) {
  const nums = numericColumns(result).filter((n) => n !== chart.x)
  return (
    <div className="flex flex-wrap items-end gap-4 border-b border-slate-200 px-4 py-3 dark:border-slate-800">
      <div role="radiogroup" aria-label="Chart type" className="inline-flex rounded-md p-0.5 ring-1 ring-slate-200 dark:ring-slate-700">
        {chartTypes.map((t) => (
          <button
            key={t.id}
            type="button"
            role="radio"
            aria-checked={chart.type === t.id}
            onClick={() => onChange({ ...chart, type: t.id })}
            className={cn(
              'rounded px-3 py-1 text-xs font-medium',
              chart.type === t.id
                ? 'bg-slate-900 text-white dark:bg-slate-100 dark:text-slate-900'
                : 'text-slate-600 hover:text-slate-900 dark:text-slate-300 dark:hover:text-white',
            )}
          >
            {t.label}
          </button>
        ))}
      </div>
      <label className="flex items-center gap-2 text-xs font-medium text-slate-600 dark:text-slate-300">
        X axis
        <Select
          aria-label="X axis"
          className="h-8 w-44 text-xs"
          value={chart.x}
          onChange={(e) => onChange({ ...chart, x: e.target.value, y: chart.y.filter((y) => y !== e.target.value) })}
        >
          {result.columns.map((c) => (
            <option key={c.name} value={c.name}>{c.name}</option>
          ))}
        </Select>
      </label>
      <fieldset className="flex flex-wrap items-center gap-x-3 gap-y-1">
        <legend className="sr-only">Y axis</legend>
        <span aria-hidden className="text-xs font-medium text-slate-600 dark:text-slate-300">Y axis</span>
        {nums.length === 0 && <span className="text-xs text-slate-400">no numeric column</span>}
        {nums.map((n) => {
          const on = chart.y.includes(n)
          const color = seriesColors[chart.y.indexOf(n) % seriesColors.length]
          return (
            <label key={n} className="inline-flex items-center gap-1.5 text-xs text-slate-700 dark:text-slate-200">
              <input
                type="checkbox"
                className="size-3.5 rounded border-slate-300 text-brand-600 focus:ring-brand-500"
                checked={on}
                onChange={() => onChange({ ...chart, y: on ? chart.y.filter((y) => y !== n) : [...chart.y, n] })}
              />
              {on && <span aria-hidden className="size-2 rounded-full" style={{ backgroundColor: color }} />}
              {n}
            </label>
          )
        })}
      </fieldset>
    </div>
  )
}

export function ResultChart({ result, chart }: { result: QueryResult; chart: QueryChart }) {
  if (!chart.x || chart.y.length === 0) {
    return (
      <EmptyState title="Pick what to draw" icon={<BarChart3 className="size-6" aria-hidden />}>
        Choose a column for the x axis and at least one numeric column for the y axis.
      </EmptyState>
    )
  }
  const data = chartData(result, chart)
  const axis = { stroke: 'currentColor', fontSize: 12, tickLine: false }
  const common = { data, margin: { top: 16, right: 24, bottom: 8, left: 8 } }
  const grid = <CartesianGrid strokeDasharray="3 3" strokeOpacity={0.25} vertical={false} />
  const x = <XAxis dataKey={chart.x} {...axis} minTickGap={16} />
  const y = <YAxis {...axis} width={64} tickFormatter={(v: number) => Intl.NumberFormat(undefined, { notation: 'compact' }).format(v)} />
  const tip = <Tooltip contentStyle={{ borderRadius: 8, fontSize: 12 }} />
  const legend = <Legend wrapperStyle={{ fontSize: 12 }} />
  return (
    <figure aria-label={`${chart.type} chart of ${chart.y.join(', ')} by ${chart.x}`} className="h-80 px-2 py-3 text-slate-500 dark:text-slate-400">
      <ResponsiveContainer width="100%" height="100%">
        {chart.type === 'bar' ? (
          <BarChart {...common}>
            {grid}{x}{y}{tip}{legend}
            {chart.y.map((n, i) => <Bar key={n} dataKey={n} fill={seriesColors[i % seriesColors.length]} radius={[3, 3, 0, 0]} isAnimationActive={false} />)}
          </BarChart>
        ) : chart.type === 'area' ? (
          <AreaChart {...common}>
            {grid}{x}{y}{tip}{legend}
            {chart.y.map((n, i) => (
              <Area key={n} type="monotone" dataKey={n} stroke={seriesColors[i % seriesColors.length]} fill={seriesColors[i % seriesColors.length]} fillOpacity={0.18} strokeWidth={2} isAnimationActive={false} />
            ))}
          </AreaChart>
        ) : (
          <LineChart {...common}>
            {grid}{x}{y}{tip}{legend}
            {chart.y.map((n, i) => (
              <Line key={n} type="monotone" dataKey={n} stroke={seriesColors[i % seriesColors.length]} strokeWidth={2} dot={data.length <= 60} isAnimationActive={false} />
            ))}
          </LineChart>
        )}
      </ResponsiveContainer>
    </figure>
  )
}

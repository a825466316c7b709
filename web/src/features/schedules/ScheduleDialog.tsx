// The builder's Schedule dialog: a cron expression (presets, or typed) read back in plain words with
// its next five runs as the user types (GET /api/v1/schedules/preview), a searchable time zone, the
// misfire policy, and pause/resume of the saved schedule. Apply writes `schedule:` into the spec
// (and so into the YAML, comments kept); Save makes it live. Pause/resume acts at once on the saved
// pipeline (no new version).
import { useEffect, useId, useMemo, useState } from 'react'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { CalendarClock, Pause, Play } from 'lucide-react'
import { Badge, Button, Dialog, Field, Input } from '@/components/ui'
import { ApiError, errorMessage } from '@/api/errors'
import { toast } from '@/components/toasts'
import { cn } from '@/lib/cn'
import { formatTime, relativeTime } from '@/lib/format'
import { pipelineKeys, type Pipeline } from '@/features/pipelines/api'
import type { PipelineSpec } from '@/features/graph'
import { pauseSchedule, previewSchedule, resumeSchedule, scheduleKeys } from './api'
import { presets, scheduleOf, searchZones, timeZones, withSchedule, type Misfire } from './model'

export function ScheduleDialog({
  open, onClose, spec, onApply, pipeline, readOnly, canPause,
}: {
  open: boolean
  onClose: () => void
  spec: PipelineSpec
  onApply: (spec: PipelineSpec) => void
  /** The saved pipeline (pause/resume act on it); absent for a pipeline not saved yet. */
  pipeline?: Pipeline
  readOnly?: boolean
  canPause?: boolean
}) {
  const current = scheduleOf(spec)
  const [enabled, setEnabled] = useState(!!current)
  const [cron, setCron] = useState(current?.cron ?? '0 6 * * 1-5')
  const [tz, setTz] = useState(current?.timezone || 'UTC')
  const [misfire, setMisfire] = useState<Misfire>(current?.misfire ?? 'skip')
  useEffect(() => {
    if (!open) return
    const c = scheduleOf(spec)
    setEnabled(!!c)
    setCron(c?.cron ?? '0 6 * * 1-5')
    setTz(c?.timezone || 'UTC')
    setMisfire(c?.misfire ?? 'skip')
    // Only when the dialog opens: the user's edits stay while it is open.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [open])

  const debounced = useDebounced(`${cron}\u0000${tz}`, 250)
  const [dCron, dTz] = debounced.split('\u0000')
  const preview = useQuery({
    queryKey: scheduleKeys.preview(dCron, dTz),
    queryFn: ({ signal }) => previewSchedule(dCron, dTz, signal),
    enabled: open && enabled && dCron.trim() !== '',
    retry: false,
    staleTime: 30_000,
  })
  const err = preview.error instanceof ApiError ? preview.error : null
  const cronError = !cron.trim() ? 'Required: five fields, or a macro such as @daily' : err?.fieldErrors('query.cron')[0]?.message
  const tzError = err?.fieldErrors('query.timezone')[0]?.message
  const typing = debounced !== `${cron}\u0000${tz}`
  const valid = !enabled || (!!preview.data && !err && !typing && !!cron.trim())

  const saved = pipeline?.schedule
  const qc = useQueryClient()
  const pause = useMutation({
    mutationFn: (paused: boolean) => (paused ? pauseSchedule(pipeline!.id) : resumeSchedule(pipeline!.id)),
    onSuccess: (p, paused) => {
      qc.setQueryData(pipelineKeys.one(p.id), (old: Pipeline | undefined) => (old ? { ...old, schedule: p.schedule, updated_at: p.updated_at } : p))
      void qc.invalidateQueries({ queryKey: pipelineKeys.all })
      toast.success(paused ? 'Schedule paused' : 'Schedule resumed')
    },
    onError: (e) => toast.error('Could not change the schedule', errorMessage(e)),
  })

  const apply = () => {
    onApply(withSchedule(spec, enabled ? { cron, timezone: tz, misfire } : null))
    onClose()
  }

  return (
    <Dialog
      open={open}
      onClose={onClose}
      title="Schedule"
      footer={
        readOnly ? (
          <Button onClick={onClose}>Close</Button>
        ) : (
          <>
            <Button variant="ghost" onClick={onClose}>
              Cancel
            </Button>
            <Button variant="primary" onClick={apply} disabled={!valid}>
              Apply to spec
            </Button>
          </>
        )
      }
    >
      <div className="space-y-4">
        {saved && (
          <div className="flex items-center gap-3 rounded-lg bg-slate-50 px-3 py-2 ring-1 ring-slate-200 dark:bg-slate-800/60 dark:ring-slate-700">
            <CalendarClock className="size-5 shrink-0 text-slate-500" aria-hidden />
            <div className="min-w-0 flex-1 text-sm">
              <div className="font-medium">
                Saved schedule {saved.paused ? <Badge tone="amber">Paused</Badge> : <Badge tone="green">Active</Badge>}
              </div>
              <div className="truncate text-xs text-slate-500 dark:text-slate-400">
                {saved.description} · {saved.timezone}
                {!saved.paused && saved.next_runs[0] && <> · next {relativeTime(saved.next_runs[0])}</>}
              </div>
            </div>
            {canPause && (
              <Button
                size="sm"
                icon={saved.paused ? <Play className="size-4" aria-hidden /> : <Pause className="size-4" aria-hidden />}
                loading={pause.isPending}
                onClick={() => pause.mutate(!saved.paused)}
              >
                {saved.paused ? 'Resume' : 'Pause'}
              </Button>
            )}
          </div>
        )}

        <label className="flex items-center gap-2 text-sm font-medium">
          <input
            type="checkbox"
            className="size-4 rounded border-slate-300 text-brand-600 focus:ring-brand-500"
            checked={enabled}
            disabled={readOnly}
            onChange={(e) => setEnabled(e.target.checked)}
          />
          Run this pipeline on a schedule
        </label>

        {enabled && (
          <>
            <div className="flex flex-wrap gap-1.5" role="group" aria-label="Presets">
              {presets.map((p) => (
                <button
                  key={p.cron}
                  type="button"
                  disabled={readOnly}
                  aria-pressed={cron.trim() === p.cron}
                  onClick={() => setCron(p.cron)}
                  className={cn(
                    'rounded-full px-2.5 py-1 text-xs font-medium ring-1 ring-inset transition-colors',
                    cron.trim() === p.cron
                      ? 'bg-brand-50 text-brand-700 ring-brand-300 dark:bg-brand-500/15 dark:text-brand-300 dark:ring-brand-500/40'
                      : 'bg-white text-slate-600 ring-slate-300 hover:bg-slate-50 dark:bg-slate-900 dark:text-slate-300 dark:ring-slate-700 dark:hover:bg-slate-800',
                  )}
                >
                  {p.label}
                </button>
              ))}
            </div>
            <Field
              label="Cron expression"
              error={cronError}
              help="minute hour day-of-month month day-of-week, e.g. */15 * * * *, or @hourly, @daily, @weekly"
            >
              {(props) => (
                <Input
                  {...props}
                  className="font-mono"
                  value={cron}
                  readOnly={readOnly}
                  invalid={!!cronError}
                  spellCheck={false}
                  autoComplete="off"
                  onChange={(e) => setCron(e.target.value)}
                />
              )}
            </Field>

            <ZonePicker value={tz} onChange={setTz} error={tzError} readOnly={readOnly} />

            <section aria-label="Reading" aria-live="polite" className="rounded-lg bg-slate-50 p-3 ring-1 ring-slate-200 dark:bg-slate-800/60 dark:ring-slate-700">
              {preview.data && !err ? (
                <>
                  <p className="text-sm font-medium text-slate-900 dark:text-slate-100" data-testid="schedule-description">
                    {preview.data.description}
                  </p>
                  <p className="mt-2 text-xs font-medium uppercase tracking-wide text-slate-500">Next runs ({preview.data.timezone})</p>
                  <ol className="mt-1 space-y-0.5 text-sm tabular-nums" aria-label="Next runs">
                    {preview.data.next_runs.map((t) => (
                      <li key={t} className="flex justify-between gap-4">
                        <span>{formatTime(t, preview.data.timezone)}</span>
                        <span className="text-xs text-slate-500 dark:text-slate-400">{relativeTime(t)}</span>
                      </li>
                    ))}
                  </ol>
                </>
              ) : err ? (
                <p className="text-sm text-slate-500">Fix the expression to see when it runs.</p>
              ) : (
                <p className="text-sm text-slate-500">Reading the expression…</p>
              )}
            </section>

            <fieldset>
              <legend className="text-sm font-medium text-slate-700 dark:text-slate-300">If runs were missed (no server was running)</legend>
              <div className="mt-1.5 grid gap-2 sm:grid-cols-2">
                {(
                  [
                    ['skip', 'Skip them', 'The next run is at the next tick.'],
                    ['run_once', 'Run once to catch up', 'One run for all the missed ticks.'],
                  ] as const
                ).map(([value, label, help]) => (
                  <label
                    key={value}
                    className={cn(
                      'flex cursor-pointer gap-2 rounded-lg p-2.5 text-sm ring-1 ring-inset',
                      misfire === value ? 'bg-brand-50/60 ring-brand-300 dark:bg-brand-500/10 dark:ring-brand-500/40' : 'ring-slate-200 dark:ring-slate-700',
                    )}
                  >
                    <input
                      type="radio"
                      name="misfire"
                      className="mt-0.5 text-brand-600 focus:ring-brand-500"
                      checked={misfire === value}
                      disabled={readOnly}
                      onChange={() => setMisfire(value)}
                    />
                    <span>
                      <span className="block font-medium">{label}</span>
                      <span className="text-xs text-slate-500 dark:text-slate-400">{help}</span>
                    </span>
                  </label>
                ))}
              </div>
            </fieldset>
          </>
        )}
        {!readOnly && <p className="text-xs text-slate-500 dark:text-slate-400">Apply writes <code>schedule:</code> into the YAML; save the pipeline to make it live.</p>}
      </div>
    </Dialog>
  )
}

/** A time zone input with a filtered list of IANA zones under it. */
function ZonePicker({ value, onChange, error, readOnly }: { value: string; onChange: (v: string) => void; error?: string; readOnly?: boolean }) {
  const zones = useMemo(() => timeZones(), [])
  const [query, setQuery] = useState('')
  const [openList, setOpenList] = useState(false)
  const listId = useId()
  const matches = searchZones(zones, query).slice(0, 50)
  return (
    <Field label="Time zone" error={error} help={openList ? undefined : 'Runs follow this zone’s clock, daylight saving included'}>
      {(props) => (
        <div className="relative">
          <Input
            {...props}
            role="combobox"
            aria-expanded={openList}
            aria-controls={listId}
            aria-autocomplete="list"
            value={openList ? query : value}
            placeholder={value}
            readOnly={readOnly}
            invalid={!!error}
            onFocus={() => {
              if (readOnly) return
              setQuery('')
              setOpenList(true)
            }}
            onBlur={() => setTimeout(() => setOpenList(false), 150)}
            onChange={(e) => setQuery(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter' && matches[0]) {
                e.preventDefault()
                onChange(matches[0])
                setOpenList(false)
              }
              if (e.key === 'Escape') {
                e.stopPropagation()
                setOpenList(false)
              }
            }}
          />
          {openList && (
            <ul
              id={listId}
              role="listbox"
              aria-label="Time zones"
              className="absolute z-10 mt-1 max-h-56 w-full overflow-auto rounded-md bg-white py-1 text-sm shadow-lg ring-1 ring-slate-900/10 dark:bg-slate-900 dark:ring-slate-700"
            >
              {matches.length === 0 && <li className="px-3 py-1.5 text-slate-500">No zone matches “{query}”</li>}
              {matches.map((z) => (
                <li
                  key={z}
                  role="option"
                  aria-selected={z === value}
                  onMouseDown={(e) => {
                    e.preventDefault()
                    onChange(z)
                    setOpenList(false)
                  }}
                  className={cn(
                    'cursor-pointer px-3 py-1.5 hover:bg-slate-100 dark:hover:bg-slate-800',
                    z === value && 'font-medium text-brand-700 dark:text-brand-300',
                  )}
                >
                  {z.replace(/_/g, ' ')}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </Field>
  )
}

function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value)
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms)
    return () => clearTimeout(t)
  }, [value, ms])
  return v
}

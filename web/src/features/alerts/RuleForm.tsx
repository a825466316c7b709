// Create or edit an alert rule: the condition type decides which fields show (a pipeline, a
// threshold with its unit, a queue); channels are picked from the saved ones.
import { useState, type FormEvent } from 'react'
import { Button, Field, InlineError, Input, Select } from '@/components/ui'
import { ApiError } from '@/api/errors'
import type { AlertChannel, RuleBody } from './api'
import { conditionSpec, conditionSpecs, ruleBody, ruleProblems, type RuleForm as Form } from './model'

export interface RuleFormProps {
  initial: Form
  pipelines: Array<{ id: string; name: string }>
  channels: AlertChannel[]
  submitLabel: string
  saving?: boolean
  error?: unknown
  onSubmit: (body: RuleBody) => void
  onCancel: () => void
}

/** The server's message for a field ("body.condition.seconds"), if it sent one. */
function serverError(error: unknown, ...locations: string[]): string | null {
  if (!(error instanceof ApiError)) return null
  const hit = error.fieldErrors('body.').find((e) => locations.some((l) => e.location === l || e.location?.startsWith(l + '[')))
  return hit?.message ?? null
}

export function RuleForm({ initial, pipelines, channels, submitLabel, saving, error, onSubmit, onCancel }: RuleFormProps) {
  const [f, setF] = useState<Form>(initial)
  const [touched, setTouched] = useState(false)
  const spec = conditionSpec(f.type)
  const problems = touched ? ruleProblems(f) : {}
  const set = <K extends keyof Form>(k: K, v: Form[K]) => setF((cur) => ({ ...cur, [k]: v }))
  const submit = (e: FormEvent) => {
    e.preventDefault()
    setTouched(true)
    if (Object.keys(ruleProblems(f)).length > 0) return
    onSubmit(ruleBody(f))
  }
  const thresholdField = spec.threshold ? `body.condition.${spec.threshold.field}` : ''
  return (
    <form onSubmit={submit} className="space-y-4" aria-label="Alert rule" noValidate>
      <Field label="Name" required error={problems.name ?? serverError(error, 'body.name')}>
        {(p) => <Input {...p} value={f.name} onChange={(e) => set('name', e.target.value)} placeholder="orders failing" autoComplete="off" />}
      </Field>
      <Field label="Condition" help={spec.help} error={serverError(error, 'body.condition.type', 'body.condition')}>
        {(p) => (
          <Select {...p} value={f.type} onChange={(e) => set('type', e.target.value as Form['type'])}>
            {conditionSpecs.map((c) => (
              <option key={c.type} value={c.type}>{c.label}</option>
            ))}
          </Select>
        )}
      </Field>
      {spec.pipeline && (
        <Field label="Pipeline" help="Leave at “Every pipeline” to watch them all." error={serverError(error, 'body.condition.pipeline_id')}>
          {(p) => (
            <Select {...p} value={f.pipelineId} onChange={(e) => set('pipelineId', e.target.value)}>
              <option value="">Every pipeline</option>
              {pipelines.map((pl) => (
                <option key={pl.id} value={pl.id}>{pl.name}</option>
              ))}
            </Select>
          )}
        </Field>
      )}
      {spec.threshold && (
        <Field label={`${spec.threshold.label} (${spec.threshold.unit})`} required error={problems.threshold ?? serverError(error, thresholdField)}>
          {(p) => (
            <Input {...p} type="number" inputMode="decimal" min="0" step={spec.threshold!.step} value={f.threshold}
              onChange={(e) => set('threshold', e.target.value)} className="max-w-40" />
          )}
        </Field>
      )}
      {spec.queue && (
        <Field label="Queue" help="runs, maintenance or alerts; empty for all queues." error={serverError(error, 'body.condition.queue')}>
          {(p) => <Input {...p} value={f.queue} onChange={(e) => set('queue', e.target.value)} placeholder="All queues" className="max-w-60" />}
        </Field>
      )}
      <fieldset className="space-y-2">
        <legend className="text-sm font-medium text-slate-700 dark:text-slate-300">Notify</legend>
        {channels.length === 0 ? (
          <p className="text-sm text-slate-500 dark:text-slate-400">No channel yet: the alert shows here only. Add a channel on the Channels tab.</p>
        ) : (
          <div className="grid gap-2 sm:grid-cols-2">
            {channels.map((c) => (
              <label key={c.id} className="flex items-center gap-2 rounded-md px-2 py-1.5 text-sm ring-1 ring-slate-200 hover:bg-slate-50 dark:ring-slate-700 dark:hover:bg-slate-800">
                <input
                  type="checkbox"
                  className="size-4 rounded border-slate-300 text-brand-600 focus:ring-brand-500"
                  checked={f.channels.includes(c.id)}
                  onChange={(e) => set('channels', e.target.checked ? [...f.channels, c.id] : f.channels.filter((x) => x !== c.id))}
                />
                <span className="truncate">{c.name}</span>
                <span className="ml-auto text-xs uppercase tracking-wide text-slate-400">{c.type}</span>
              </label>
            ))}
          </div>
        )}
        {serverError(error, 'body.channels') && <p className="text-xs text-rose-600 dark:text-rose-400">{serverError(error, 'body.channels')}</p>}
      </fieldset>
      <div className="flex flex-wrap items-start gap-6">
        <Field label="Throttle (minutes)" help="No new notification of the same rule and subject sooner than this." error={problems.throttle ?? serverError(error, 'body.throttle_minutes')}>
          {(p) => <Input {...p} type="number" min="0" max="10080" value={f.throttle} onChange={(e) => set('throttle', e.target.value)} className="max-w-32" />}
        </Field>
        <label className="mt-7 flex items-center gap-2 text-sm">
          <input type="checkbox" className="size-4 rounded border-slate-300 text-brand-600 focus:ring-brand-500" checked={f.enabled}
            onChange={(e) => set('enabled', e.target.checked)} />
          Enabled
        </label>
      </div>
      {error != null && !(error instanceof ApiError && error.fieldErrors('body.').length > 0) && <InlineError error={error} />}
      <div className="flex justify-end gap-2 border-t border-slate-200 pt-4 dark:border-slate-800">
        <Button onClick={onCancel}>Cancel</Button>
        <Button type="submit" variant="primary" loading={saving}>{submitLabel}</Button>
      </div>
    </form>
  )
}

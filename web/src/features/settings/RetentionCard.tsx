import { useState, type FormEvent } from 'react'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { Archive, Brush, RotateCcw } from 'lucide-react'
import { api, unwrap, type Schemas } from '@/api/client'
import { Badge, Button, Card, ErrorState, Field, InlineError, Input, Select, Skeleton } from '@/components/ui'
import { toast } from '@/components/toasts'
import { useCan } from '@/auth/session'
import { fieldMessage } from '@/features/admin/fieldMessage'
import { formatBytes, formatCount, formatDuration, formatTime, relativeTime } from '@/lib/format'
import {
  describePeriod, fromDraft, periodError, retentionFields, sameSettings, toDraft,
  type Draft, type RetentionKey, type Unit,
} from '@/features/settings/retention'

type View = Schemas['RetentionSettingsView']
type Report = Schemas['CleanupReport']
const queryKey = ['admin', 'settings', 'retention']

/** The retention settings: how long each kind of data is kept (Settings and System pages). */
export function RetentionCard() {
  const can = useCan()
  const q = useQuery({ queryKey, queryFn: () => unwrap(api.GET('/api/v1/admin/settings/retention')) })
  return (
    <Card>
      <div className="flex items-center gap-2 border-b border-slate-200 px-5 py-4 dark:border-slate-800">
        <Archive className="size-4 text-slate-400" aria-hidden />
        <h2 className="text-base font-semibold">Data retention</h2>
        {q.data && (
          <span className="ml-auto text-xs text-slate-500 dark:text-slate-400">
            {q.data.updated_at ? (
              <>Saved by {q.data.updated_by} <time dateTime={q.data.updated_at} title={formatTime(q.data.updated_at)}>{relativeTime(q.data.updated_at)}</time></>
            ) : (
              'Defaults in use'
            )}
          </span>
        )}
      </div>
      {q.isPending ? (
        <div className="space-y-3 p-5">
          {retentionFields.map((f) => <Skeleton key={f.key} className="h-14" />)}
        </div>
      ) : q.isError ? (
        <ErrorState error={q.error} retry={() => void q.refetch()} title="The retention settings could not be loaded" />
      ) : (
        <RetentionForm key={q.data.updated_at ?? 'defaults'} view={q.data} editable={can('settings:write')} />
      )}
    </Card>
  )
}

/** The clean-up card, with its interval read from the retention settings. */
export function CleanupNowCard() {
  const can = useCan()
  const q = useQuery({ queryKey, queryFn: () => unwrap(api.GET('/api/v1/admin/settings/retention')) })
  return <CleanupCard interval={q.data?.cleanup_interval} allowed={can('cleanup')} />
}

function RetentionForm({ view, editable }: { view: View; editable: boolean }) {
  const qc = useQueryClient()
  const [draft, setDraft] = useState<Draft>(() => toDraft(view.settings))
  const save = useMutation({
    mutationFn: (body: Schemas['RetentionSettings']) => unwrap(api.PUT('/api/v1/admin/settings/retention', { body })),
    onSuccess: (v) => {
      qc.setQueryData(queryKey, v)
      toast.success('Retention settings saved', 'The next clean-up uses them.')
    },
  })
  const errors = Object.fromEntries(retentionFields.map(({ key }) => [key, periodError(draft[key])])) as Record<RetentionKey, string | null>
  const valid = Object.values(errors).every((e) => !e)
  const current = valid ? fromDraft(draft) : null
  const dirty = !current || !sameSettings(current, view.settings)
  const atDefaults = current !== null && sameSettings(current, view.defaults)
  const set = (key: RetentionKey, patch: Partial<Draft[RetentionKey]>) => setDraft((d) => ({ ...d, [key]: { ...d[key], ...patch } }))
  const submit = (e: FormEvent) => {
    e.preventDefault()
    if (current) save.mutate(current)
  }

  return (
    <form onSubmit={submit} noValidate aria-label="Data retention">
      <ul className="divide-y divide-slate-100 dark:divide-slate-800">
        {retentionFields.map(({ key, label, help }) => {
          const err = errors[key] ?? fieldMessage(save.error, `body.${key}`)
          const isDefault = current !== null && current[key] === view.defaults[key]
          return (
            <li key={key} className="grid gap-3 px-5 py-4 sm:grid-cols-[1fr_auto] sm:items-start">
              <div className="min-w-0">
                <p className="flex items-center gap-2 text-sm font-medium">
                  {label}
                  {!isDefault && <Badge tone="blue">Changed</Badge>}
                </p>
                <p className="mt-0.5 text-sm text-slate-500 dark:text-slate-400">{help}</p>
                <p className="mt-1 text-xs text-slate-400 dark:text-slate-500">Default: {describePeriod(view.defaults[key])}</p>
              </div>
              <Field label={`${label}: keep for`} error={err} className="w-full sm:w-56 [&>label]:sr-only">
                {(p) => (
                  <div className="flex gap-2">
                    <Input
                      {...p}
                      inputMode="numeric"
                      className="w-24 text-right tabular-nums"
                      value={draft[key].value}
                      invalid={!!err}
                      disabled={!editable || save.isPending}
                      onChange={(e) => set(key, { value: e.target.value })}
                    />
                    <Select
                      aria-label={`${label}: unit`}
                      className="w-28"
                      value={draft[key].unit}
                      disabled={!editable || save.isPending}
                      onChange={(e) => set(key, { unit: e.target.value as Unit })}
                    >
                      <option value="d">days</option>
                      <option value="h">hours</option>
                    </Select>
                  </div>
                )}
              </Field>
            </li>
          )
        })}
        <li className="px-5 py-4 text-sm text-slate-500 dark:text-slate-400">
          <span className="font-medium text-slate-700 dark:text-slate-300">Expired sign-in sessions</span> are removed at the
          first clean-up after they expire. Audit entries are never deleted.
        </li>
      </ul>
      {editable && (
        <div className="flex flex-wrap items-center justify-end gap-2 border-t border-slate-200 px-5 py-3 dark:border-slate-800">
          {save.error && !retentionFields.some(({ key }) => fieldMessage(save.error, `body.${key}`)) && (
            <div className="mr-auto"><InlineError error={save.error} /></div>
          )}
          <Button
            type="button"
            variant="ghost"
            disabled={atDefaults || save.isPending}
            onClick={() => setDraft(toDraft(view.defaults))}
          >
            <RotateCcw className="size-4" aria-hidden />
            Restore defaults
          </Button>
          <Button type="submit" variant="primary" disabled={!valid || !dirty || save.isPending}>
            {save.isPending ? 'Saving…' : 'Save'}
          </Button>
        </div>
      )}
    </form>
  )
}

const reportRows: Array<{ key: keyof Report; label: string; bytes?: keyof Report }> = [
  { key: 'runs', label: 'Finished runs' },
  { key: 'run_logs', label: 'Run log lines' },
  { key: 'dead_letters', label: 'Dead letters' },
  { key: 'server_logs', label: 'Server log lines' },
  { key: 'refresh_tokens', label: 'Expired sessions' },
  { key: 'uploads', label: 'Unused uploads', bytes: 'upload_bytes' },
  { key: 'staged_files', label: 'Staged files', bytes: 'staged_bytes' },
]

function CleanupCard({ interval, allowed }: { interval?: string; allowed: boolean }) {
  const qc = useQueryClient()
  const run = useMutation({
    mutationFn: () => unwrap(api.POST('/api/v1/admin/cleanup')),
    onSuccess: (r) => {
      void qc.invalidateQueries({ queryKey: ['runs'] })
      toast.success(r.total ? `Clean-up removed ${formatCount(r.total)} items` : 'Clean-up finished: nothing to remove')
    },
  })
  const r = run.data
  return (
    <Card>
      <div className="flex flex-wrap items-center gap-3 px-5 py-4">
        <Brush className="size-4 text-slate-400" aria-hidden />
        <div className="min-w-0 flex-1">
          <h2 className="text-base font-semibold">Clean-up</h2>
          <p className="text-sm text-slate-500 dark:text-slate-400">
            Runs by itself every {interval ? describePeriod(interval).replace(/^1 /, '') : 'hour'} and deletes what is older than
            the periods above. Every clean-up is recorded in the audit log with what it removed.
          </p>
        </div>
        {allowed && (
          <Button variant="primary" onClick={() => run.mutate()} disabled={run.isPending}>
            {run.isPending ? 'Cleaning up…' : 'Clean up now'}
          </Button>
        )}
      </div>
      {run.error && <div className="px-5 pb-4"><InlineError error={run.error} /></div>}
      {r && (
        <section aria-label="Clean-up result" className="border-t border-slate-200 px-5 py-4 dark:border-slate-800">
          <p className="mb-3 text-sm">
            {r.total ? (
              <><span className="font-semibold">{formatCount(r.total)}</span> items removed</>
            ) : (
              <span className="font-semibold">Nothing was old enough to remove</span>
            )}
            <span className="text-slate-500 dark:text-slate-400"> · {formatTime(r.started_at)} · took {formatDuration(r.duration_ms)}</span>
          </p>
          <dl className="grid grid-cols-2 gap-3 sm:grid-cols-4 lg:grid-cols-7">
            {reportRows.map(({ key, label, bytes }) => (
              <div key={key} className="rounded-lg border border-slate-200 px-3 py-2 dark:border-slate-800">
                <dt className="text-xs text-slate-500 dark:text-slate-400">{label}</dt>
                <dd className="text-lg font-semibold tabular-nums" data-testid={`removed-${key}`}>{formatCount(r[key] as number)}</dd>
                {bytes && (r[bytes] as number) > 0 && <dd className="text-xs text-slate-500 dark:text-slate-400">{formatBytes(r[bytes] as number)}</dd>}
              </div>
            ))}
          </dl>
        </section>
      )}
    </Card>
  )
}

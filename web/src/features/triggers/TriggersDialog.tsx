// The builder's Triggers dialog. Left: the pipeline's webhook (create or rotate its token, shown once
// with a copy button and a curl example; revoke; when it was last used), which acts at once on the
// saved pipeline. Right: "Run after these pipelines succeed", the spec's triggers.after, checked by
// the server as the user picks (a cycle or an unknown name is shown with the loop it would close);
// Apply writes it into the spec and Save makes it live, as the Schedule dialog does.
import { useEffect, useMemo, useState } from 'react'
import { Link } from 'react-router'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { AlertTriangle, ArrowDownRight, GitBranch, KeyRound, RefreshCw, Trash2, Webhook, X } from 'lucide-react'
import { Badge, Button, ConfirmDialog, Dialog, InlineError, Input, Spinner } from '@/components/ui'
import { CopyButton } from '@/components/ui/controls'
import { toast } from '@/components/toasts'
import { errorMessage } from '@/api/errors'
import { cn } from '@/lib/cn'
import { formatTime, relativeTime } from '@/lib/format'
import type { PipelineSpec } from '@/features/graph'
import { listPipelines, validateSpec, type Pipeline } from '@/features/pipelines/api'
import { createTriggerToken, getTriggerToken, revokeTriggerToken, triggerKeys } from './api'
import { absoluteURL, afterOf, curlExample, sameNames, withAfter } from './model'

export function TriggersDialog({
  open, onClose, spec, onApply, pipeline, readOnly,
}: {
  open: boolean
  onClose: () => void
  spec: PipelineSpec
  onApply: (spec: PipelineSpec) => void
  /** The saved pipeline (the webhook acts on it); absent for a pipeline not saved yet. */
  pipeline?: Pipeline
  readOnly?: boolean
}) {
  const [after, setAfter] = useState<string[]>(afterOf(spec))
  useEffect(() => {
    if (open) setAfter(afterOf(spec))
    // Only when the dialog opens: the user's picks stay while it is open.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [open])

  // The server checks the candidate as a save of this pipeline would: unknown names, cycles.
  const candidate = useMemo(() => withAfter(spec, after), [spec, after])
  const check = useQuery({
    queryKey: ['pipelines', 'check-after', pipeline?.id ?? '', spec.name, after.join('\u0000')],
    queryFn: ({ signal }) => validateSpec(JSON.stringify(candidate), signal, pipeline?.id),
    enabled: open && !readOnly && after.length > 0,
    retry: false,
    staleTime: 10_000,
  })
  const afterProblems = after.length ? (check.data?.problems ?? []).filter((p) => p.path.startsWith('triggers.after')) : []
  const changed = !sameNames(after, afterOf(spec))

  return (
    <Dialog
      open={open}
      onClose={onClose}
      title="Triggers"
      wide
      footer={
        readOnly ? (
          <Button onClick={onClose}>Close</Button>
        ) : (
          <>
            <Button variant="ghost" onClick={onClose}>
              Cancel
            </Button>
            <Button
              variant="primary"
              disabled={!changed || afterProblems.length > 0 || (after.length > 0 && check.isFetching)}
              onClick={() => {
                onApply(candidate)
                onClose()
              }}
            >
              Apply to spec
            </Button>
          </>
        )
      }
    >
      <div className="grid gap-6 lg:grid-cols-2">
        <WebhookSection pipeline={pipeline} readOnly={readOnly} />
        <section aria-labelledby="after-title" className="min-w-0 space-y-3 lg:border-l lg:border-slate-200 lg:pl-6 dark:lg:border-slate-800">
          <header>
            <h3 id="after-title" className="flex items-center gap-2 text-sm font-semibold">
              <GitBranch className="size-4 text-slate-500" aria-hidden /> Run after these pipelines succeed
            </h3>
            <p className="mt-1 text-xs text-slate-500 dark:text-slate-400">
              Each successful run of one of them starts one run of this pipeline (trigger <em>dependency</em>).
            </p>
          </header>
          <AfterPicker value={after} onChange={setAfter} self={pipeline} selfName={spec.name} readOnly={readOnly} />
          {afterProblems.length > 0 && (
            <div role="alert" className="flex gap-2 rounded-lg bg-rose-50 px-3 py-2 text-sm text-rose-800 ring-1 ring-rose-200 dark:bg-rose-500/10 dark:text-rose-300 dark:ring-rose-500/30">
              <AlertTriangle className="mt-0.5 size-4 shrink-0" aria-hidden />
              <ul className="space-y-0.5">
                {afterProblems.map((p) => (
                  <li key={p.path + p.message}>{cap(p.message)}</li>
                ))}
              </ul>
            </div>
          )}
          {check.error ? <InlineError error={check.error} /> : null}
          {!!pipeline?.dependents?.length && (
            <div className="rounded-lg bg-slate-50 px-3 py-2 text-sm ring-1 ring-slate-200 dark:bg-slate-800/60 dark:ring-slate-700">
              <p className="text-xs font-medium uppercase tracking-wide text-slate-500">Run after this one</p>
              <ul className="mt-1 flex flex-wrap gap-1.5" aria-label="Pipelines that run after this one">
                {pipeline.dependents.map((d) => (
                  <li key={d.id}>
                    <Link to={`/pipelines/${d.id}`} className="inline-flex items-center gap-1 font-medium text-brand-700 hover:underline dark:text-brand-300">
                      <ArrowDownRight className="size-3.5" aria-hidden />
                      {d.name}
                    </Link>
                  </li>
                ))}
              </ul>
            </div>
          )}
          {!readOnly && <p className="text-xs text-slate-500 dark:text-slate-400">Apply writes <code>triggers.after</code> into the YAML; save the pipeline to make it live.</p>}
        </section>
      </div>
    </Dialog>
  )
}

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1)

/** The chosen pipelines as chips, and a searchable list of the saved ones to add. */
function AfterPicker({
  value, onChange, self, selfName, readOnly,
}: { value: string[]; onChange: (v: string[]) => void; self?: Pipeline; selfName: string; readOnly?: boolean }) {
  const [query, setQuery] = useState('')
  const list = useQuery({ queryKey: ['pipelines', 'list', '', 1, 200], queryFn: () => listPipelines('', 1, 200), staleTime: 30_000 })
  const chosen = new Set(value.map((v) => v.toLowerCase()))
  const q = query.trim().toLowerCase()
  const options = (list.data?.items ?? []).filter(
    (p) => p.id !== self?.id && p.name.toLowerCase() !== selfName.toLowerCase() && (!q || p.name.toLowerCase().includes(q)),
  )
  const toggle = (name: string) =>
    onChange(chosen.has(name.toLowerCase()) ? value.filter((v) => v.toLowerCase() !== name.toLowerCase()) : [...value, name])
  return (
    <div className="space-y-2">
      <ul className="flex min-h-9 flex-wrap items-center gap-1.5 rounded-lg border border-dashed border-slate-300 p-1.5 dark:border-slate-700" aria-label="Runs after">
        {value.length === 0 && <li className="px-1.5 text-sm text-slate-400">Runs only when triggered or scheduled</li>}
        {value.map((name) => (
          <li key={name} className="inline-flex items-center gap-1 rounded-md bg-brand-50 py-0.5 pl-2 pr-1 text-sm font-medium text-brand-800 ring-1 ring-inset ring-brand-200 dark:bg-brand-500/15 dark:text-brand-200 dark:ring-brand-500/30">
            {name}
            {!readOnly && (
              <button type="button" aria-label={`Remove ${name}`} onClick={() => toggle(name)} className="rounded p-0.5 hover:bg-brand-100 dark:hover:bg-brand-500/20">
                <X className="size-3.5" aria-hidden />
              </button>
            )}
          </li>
        ))}
      </ul>
      {!readOnly && (
        <>
          <Input aria-label="Find a pipeline" placeholder="Find a pipeline…" value={query} onChange={(e) => setQuery(e.target.value)} />
          <div className="max-h-52 overflow-auto rounded-lg ring-1 ring-slate-200 dark:ring-slate-700">
            {list.isLoading ? (
              <div className="p-3"><Spinner label="Loading pipelines" /></div>
            ) : options.length === 0 ? (
              <p className="px-3 py-2 text-sm text-slate-500">{q ? `No pipeline matches “${query}”` : 'No other pipelines yet'}</p>
            ) : (
              <ul aria-label="Pipelines">
                {options.map((p) => (
                  <li key={p.id} className="border-b border-slate-100 last:border-0 dark:border-slate-800">
                    <label className="flex cursor-pointer items-center gap-2.5 px-3 py-1.5 text-sm hover:bg-slate-50 dark:hover:bg-slate-800/60">
                      <input
                        type="checkbox"
                        className="size-4 rounded border-slate-300 text-brand-600 focus:ring-brand-500"
                        checked={chosen.has(p.name.toLowerCase())}
                        onChange={() => toggle(p.name)}
                      />
                      <span className="min-w-0 flex-1 truncate font-medium">{p.name}</span>
                      {p.last_run && <span className="text-xs text-slate-500">last run {relativeTime(p.last_run.created_at)}</span>}
                    </label>
                  </li>
                ))}
              </ul>
            )}
          </div>
        </>
      )}
    </div>
  )
}

/** The pipeline's webhook token: its state, create or rotate (shown once), revoke. */
function WebhookSection({ pipeline, readOnly }: { pipeline?: Pipeline; readOnly?: boolean }) {
  const qc = useQueryClient()
  const id = pipeline?.id ?? ''
  const state = useQuery({ queryKey: triggerKeys.token(id), queryFn: () => getTriggerToken(id), enabled: !!id })
  const [confirm, setConfirm] = useState<'rotate' | 'revoke' | null>(null)
  const create = useMutation({
    mutationFn: () => createTriggerToken(id),
    onSuccess: () => {
      setConfirm(null)
      void qc.invalidateQueries({ queryKey: triggerKeys.token(id) })
    },
    onError: (e) => toast.error('Could not create the webhook token', errorMessage(e)),
  })
  const revoke = useMutation({
    mutationFn: () => revokeTriggerToken(id),
    onSuccess: () => {
      create.reset()
      setConfirm(null)
      void qc.invalidateQueries({ queryKey: triggerKeys.token(id) })
      toast.success('Webhook token revoked')
    },
    onError: (e) => toast.error('Could not revoke the webhook token', errorMessage(e)),
  })
  const t = state.data
  const url = t ? absoluteURL(t.url, window.location.origin) : ''
  const fresh = create.data?.token

  return (
    <section aria-labelledby="webhook-title" className="min-w-0 space-y-3">
      <header>
        <h3 id="webhook-title" className="flex items-center gap-2 text-sm font-semibold">
          <Webhook className="size-4 text-slate-500" aria-hidden /> Webhook
        </h3>
        <p className="mt-1 text-xs text-slate-500 dark:text-slate-400">
          Start a run from any system that can send an HTTP POST (CI, storage events, another scheduler), with this pipeline’s own token.
        </p>
      </header>
      {!pipeline ? (
        <p className="rounded-lg bg-slate-50 px-3 py-2 text-sm text-slate-500 ring-1 ring-slate-200 dark:bg-slate-800/60 dark:ring-slate-700">Save the pipeline first to give it a webhook.</p>
      ) : state.isLoading ? (
        <Spinner label="Loading the webhook" />
      ) : state.error ? (
        <InlineError error={state.error} />
      ) : t ? (
        <>
          <div className="rounded-lg ring-1 ring-slate-200 dark:ring-slate-700">
            <div className="flex items-start gap-3 px-3 py-2.5">
              <KeyRound className={cn('mt-0.5 size-5 shrink-0', t.exists ? 'text-emerald-600' : 'text-slate-400')} aria-hidden />
              <div className="min-w-0 flex-1 text-sm" data-testid="webhook-state">
                {t.exists ? (
                  <>
                    <div className="flex flex-wrap items-center gap-2 font-medium">
                      <code className="font-mono text-[13px]">{t.prefix}…</code> <Badge tone="green">Active</Badge>
                    </div>
                    <div className="mt-0.5 text-xs text-slate-500 dark:text-slate-400">
                      Created <span title={t.created_at ? formatTime(t.created_at) : undefined}>{t.created_at ? relativeTime(t.created_at) : ''}</span>
                      {t.created_by && <> by {t.created_by}</>} ·{' '}
                      {t.last_used_at ? (
                        <span title={formatTime(t.last_used_at)}>last used {relativeTime(t.last_used_at)}</span>
                      ) : (
                        'never used'
                      )}
                    </div>
                  </>
                ) : (
                  <>
                    <div className="font-medium">No webhook token</div>
                    <div className="mt-0.5 text-xs text-slate-500 dark:text-slate-400">The webhook refuses every call until you create one.</div>
                  </>
                )}
              </div>
              {!readOnly && !t.exists && (
                <Button size="sm" variant="primary" loading={create.isPending} onClick={() => create.mutate()}>
                  Create webhook token
                </Button>
              )}
            </div>
            <div className="flex items-center gap-2 border-t border-slate-200 px-3 py-2 dark:border-slate-800">
              <span className="rounded bg-slate-100 px-1.5 py-0.5 text-[11px] font-semibold text-slate-600 dark:bg-slate-800 dark:text-slate-300">POST</span>
              <code className="min-w-0 flex-1 truncate font-mono text-xs" title={url} aria-label="Webhook URL">{url}</code>
              <CopyButton text={url} label="Copy URL" />
            </div>
            {!readOnly && t.exists && (
              <div className="flex justify-end gap-1.5 border-t border-slate-200 bg-slate-50/60 px-3 py-2 dark:border-slate-800 dark:bg-slate-800/30">
                <Button size="sm" icon={<RefreshCw className="size-4" aria-hidden />} onClick={() => setConfirm('rotate')}>
                  Rotate token
                </Button>
                <Button size="sm" variant="ghost" icon={<Trash2 className="size-4" aria-hidden />} onClick={() => setConfirm('revoke')}>
                  Revoke
                </Button>
              </div>
            )}
          </div>
          {fresh && (
            <div className="space-y-2 text-sm">
              <p className="rounded-md bg-amber-50 px-3 py-2 text-amber-800 dark:bg-amber-500/10 dark:text-amber-300">
                Copy the token now: it is shown only once and cannot be read again.
              </p>
              <div className="flex items-center gap-2 rounded-md bg-slate-100 p-2 dark:bg-slate-800">
                <code aria-label="New webhook token" className="min-w-0 flex-1 break-all font-mono text-xs">{fresh}</code>
                <CopyButton text={fresh} label="Copy token" />
              </div>
              <div className="overflow-hidden rounded-md bg-slate-900 ring-1 ring-slate-900/10 dark:ring-slate-700">
                <div className="flex items-center justify-between border-b border-white/10 py-1 pl-3 pr-1 text-slate-300">
                  <span className="text-[11px] font-medium uppercase tracking-wide">Try it with curl</span>
                  <CopyButton text={curlExample(url, fresh)} label="Copy curl command" />
                </div>
                <pre aria-label="curl example" className="overflow-x-auto p-3 font-mono text-xs leading-relaxed text-slate-100">
                  {curlExample(url, fresh)}
                </pre>
              </div>
              <p className="text-xs text-slate-500 dark:text-slate-400">
                Send it as <code>Authorization: Bearer …</code> or <code>X-Trigger-Token: …</code>. A JSON body is kept with the run. Wrong tokens are refused, audited and, after 10 from one address, locked out for 10 minutes.
              </p>
            </div>
          )}
        </>
      ) : null}
      <ConfirmDialog
        open={confirm === 'rotate'}
        title="Rotate the webhook token?"
        confirmLabel="Rotate token"
        loading={create.isPending}
        onClose={() => setConfirm(null)}
        onConfirm={() => create.mutate()}
      >
        A new token is created and shown once; callers using <code>{t?.prefix}…</code> are refused from now on.
      </ConfirmDialog>
      <ConfirmDialog
        open={confirm === 'revoke'}
        title="Revoke the webhook token?"
        confirmLabel="Revoke token"
        danger
        loading={revoke.isPending}
        onClose={() => setConfirm(null)}
        onConfirm={() => revoke.mutate()}
      >
        Callers using <code>{t?.prefix}…</code> are refused from now on. You can create a new token later.
      </ConfirmDialog>
    </section>
  )
}

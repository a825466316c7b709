import { useEffect, useId, useRef } from 'react'
import { createPortal } from 'react-dom'
import { Link } from 'react-router'
import { useQuery } from '@tanstack/react-query'
import { X } from 'lucide-react'
import { api, unwrap } from '@/api/client'
import { Badge, ErrorState, IconButton, Skeleton, StatusBadge } from '@/components/ui'
import { formatTime } from '@/lib/format'
import { levelTone, type Level } from './logs'

/** A side panel following one request id: its log records, its audit entry, the run it started and that run's log lines. */
export function RequestDrawer({ requestId, onClose }: { requestId: string | null; onClose: () => void }) {
  const ref = useRef<HTMLDivElement>(null)
  const titleId = useId()
  const q = useQuery({
    queryKey: ['system', 'request', requestId],
    enabled: !!requestId,
    queryFn: () => unwrap(api.GET('/api/v1/system/requests/{id}', { params: { path: { id: requestId! } } })),
  })
  useEffect(() => {
    if (!requestId) return
    ref.current?.focus()
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') onClose()
    }
    document.addEventListener('keydown', onKey)
    return () => document.removeEventListener('keydown', onKey)
  }, [requestId, onClose])
  if (!requestId) return null
  return createPortal(
    <div className="fixed inset-0 z-50 flex justify-end bg-slate-900/40" onMouseDown={onClose}>
      <div
        ref={ref}
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        tabIndex={-1}
        onMouseDown={(e) => e.stopPropagation()}
        className="flex h-full w-full max-w-2xl flex-col bg-white shadow-2xl ring-1 ring-slate-900/10 dark:bg-slate-900 dark:ring-slate-700"
      >
        <div className="flex items-center justify-between border-b border-slate-200 px-5 py-3 dark:border-slate-800">
          <div className="min-w-0">
            <h2 id={titleId} className="text-base font-semibold">Request</h2>
            <code className="block truncate font-mono text-xs text-slate-500">{requestId}</code>
          </div>
          <IconButton label="Close" onClick={onClose}>
            <X className="size-4" aria-hidden />
          </IconButton>
        </div>
        <div className="flex-1 space-y-6 overflow-y-auto px-5 py-4">
          {q.isPending ? (
            <div className="space-y-2">{Array.from({ length: 6 }, (_, i) => <Skeleton key={i} className="h-8" />)}</div>
          ) : q.isError ? (
            <ErrorState error={q.error} retry={() => void q.refetch()} title="The request could not be loaded" />
          ) : (
            <>
              <section aria-label="API call">
                <h3 className="mb-2 text-xs font-semibold uppercase tracking-wide text-slate-500">API call</h3>
                {q.data.logs.length === 0 ? (
                  <p className="text-sm text-slate-500">No log record of this request is kept (older than the retention, or dropped).</p>
                ) : (
                  <ul className="space-y-1">
                    {q.data.logs.map((l) => (
                      <li key={l.id} className="rounded-md bg-slate-50 px-3 py-2 dark:bg-slate-800/50">
                        <div className="flex items-center gap-2 text-xs text-slate-500">
                          <Badge tone={levelTone[l.level as Level]} className="uppercase">{l.level}</Badge>
                          <span>{formatTime(l.time)}</span>
                          {l.component && <span>· {l.component}</span>}
                          {l.user && <span>· {l.user}</span>}
                        </div>
                        <p className="mt-1 font-mono text-xs">{l.message}</p>
                        {l.attrs != null && (
                          <pre className="mt-1 overflow-x-auto font-mono text-[11px] text-slate-600 dark:text-slate-300">{JSON.stringify(l.attrs)}</pre>
                        )}
                      </li>
                    ))}
                  </ul>
                )}
              </section>
              <section aria-label="Audit entry">
                <h3 className="mb-2 text-xs font-semibold uppercase tracking-wide text-slate-500">Audit entry</h3>
                {q.data.audit.length === 0 ? (
                  <p className="text-sm text-slate-500">The request changed nothing that is audited.</p>
                ) : (
                  <ul className="space-y-1">
                    {q.data.audit.map((a) => (
                      <li key={a.id} className="flex flex-wrap items-center gap-2 rounded-md bg-slate-50 px-3 py-2 text-sm dark:bg-slate-800/50">
                        <code className="text-xs">{a.action}</code>
                        <Badge tone={a.result === 'success' ? 'green' : a.result === 'denied' ? 'amber' : 'red'}>{a.result}</Badge>
                        <span className="text-slate-500">by {a.actor_name || 'anonymous'}</span>
                        {a.target_type && <span className="text-slate-500">on {a.target_type} <code className="text-xs">{a.target_id.slice(0, 12)}</code></span>}
                        <Link className="ml-auto text-xs text-sky-700 hover:underline dark:text-sky-400" to={`/admin/audit?action=${encodeURIComponent(a.action)}`}>
                          Open in audit log
                        </Link>
                      </li>
                    ))}
                  </ul>
                )}
              </section>
              <section aria-label="Started run">
                <h3 className="mb-2 text-xs font-semibold uppercase tracking-wide text-slate-500">Run it started</h3>
                {q.data.runs.length === 0 ? (
                  <p className="text-sm text-slate-500">The request started no run.</p>
                ) : (
                  q.data.runs.map((tr) => (
                    <div key={tr.run.id} className="space-y-2">
                      <div className="flex items-center gap-2 text-sm">
                        <StatusBadge status={tr.run.status} />
                        <Link className="font-mono text-xs text-sky-700 hover:underline dark:text-sky-400" to={`/runs/${tr.run.id}`}>
                          Run {tr.run.id.slice(0, 8)}
                        </Link>
                        <span className="text-xs text-slate-500">{formatTime(tr.run.created_at)}</span>
                      </div>
                      <section aria-label="Run log lines">
                        <h3 className="mb-1 text-xs font-semibold uppercase tracking-wide text-slate-500">Run log lines</h3>
                        {tr.logs.length === 0 ? (
                          <p className="text-sm text-slate-500">No line logged yet.</p>
                        ) : (
                          <ol className="max-h-80 overflow-y-auto rounded-md bg-slate-950 p-3 font-mono text-[11px] leading-5 text-slate-200">
                            {tr.logs.map((l) => (
                              <li key={l.id}>
                                <span className="text-slate-500">{new Date(l.time).toLocaleTimeString()}</span>{' '}
                                <span className={l.level === 'error' ? 'text-rose-400' : l.level === 'warn' ? 'text-amber-300' : 'text-sky-300'}>{l.level.toUpperCase()}</span>{' '}
                                {l.node && <span className="text-violet-300">[{l.node}] </span>}
                                {l.message}
                              </li>
                            ))}
                          </ol>
                        )}
                        {tr.more && <Link className="text-xs text-sky-700 hover:underline dark:text-sky-400" to={`/runs/${tr.run.id}`}>All lines on the run's page</Link>}
                      </section>
                    </div>
                  ))
                )}
              </section>
            </>
          )}
        </div>
      </div>
    </div>,
    document.body,
  )
}

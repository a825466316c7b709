import { Fragment, useState } from 'react'
import { useSearchParams } from 'react-router'
import { keepPreviousData, useQuery } from '@tanstack/react-query'
import { ChevronDown, ChevronRight, ScrollText } from 'lucide-react'
import { api, unwrap, type Schemas } from '@/api/client'
import { Badge, Button, Card, EmptyState, ErrorState, Field, Input, PageHeader, Select, Skeleton, Table, Td, Th } from '@/components/ui'
import { DefinitionList, Pagination } from '@/components/ui/controls'
import { useCan } from '@/auth/session'
import { formatTime, relativeTime } from '@/lib/format'
import { cn } from '@/lib/cn'

type Entry = Schemas['AuditEntry']
const PER_PAGE = 50

/** Actions the server records (docs/security.md), offered as suggestions; any prefix ending in "." works too. */
const knownActions = [
  'auth.', 'auth.login', 'auth.password_change', 'user.', 'user.create', 'user.update', 'user.deactivate', 'user.password_reset',
  'user.delete', 'api_token.create', 'api_token.revoke', 'connector.', 'connector.create', 'connector.update', 'connector.delete',
  'connector.check', 'connector.discover', 'file.upload', 'file.delete', 'pipeline.', 'run.', 'preferences.update',
]
const targetTypes = ['user', 'api_token', 'connector', 'file', 'pipeline', 'run', 'transformation']

const resultTone = { success: 'green', failure: 'red', denied: 'amber' } as const

/** datetime-local value (local wall time) -> RFC 3339, or undefined. */
function toRFC3339(local: string | null): string | undefined {
  if (!local) return undefined
  const d = new Date(local)
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString()
}

export default function AdminAudit() {
  const [sp, setSp] = useSearchParams()
  const can = useCan()
  const get = (k: string) => sp.get(k) ?? ''
  const page = Math.max(1, Number(sp.get('page')) || 1)
  const set = (k: string, v: string) => {
    const n = new URLSearchParams(sp)
    if (v) n.set(k, v)
    else n.delete(k)
    if (k !== 'page') n.delete('page')
    setSp(n, { replace: true })
  }
  const filter = {
    actor: get('actor') || undefined,
    action: get('action') || undefined,
    target_type: get('target_type') || undefined,
    target_id: get('target_id') || undefined,
    result: (get('result') || undefined) as Entry['result'] | undefined,
    from: toRFC3339(get('from')),
    to: toRFC3339(get('to')),
  }
  const q = useQuery({
    queryKey: ['audit', filter, page],
    placeholderData: keepPreviousData,
    queryFn: () => unwrap(api.GET('/api/v1/audit-logs', { params: { query: { ...filter, page, per_page: PER_PAGE } } })),
  })
  const users = useQuery({
    queryKey: ['users', 'all-for-audit'],
    enabled: can('users:read'),
    queryFn: () => unwrap(api.GET('/api/v1/users', { params: { query: { per_page: 200 } } })),
  })
  const filtered = [...sp.keys()].some((k) => k !== 'page')
  const [open, setOpen] = useState<number | null>(null)

  return (
    <div>
      <PageHeader title="Audit log" description="Every change and sign-in, newest first. Entries are never changed or deleted." />
      <div className="space-y-4 p-6">
        <Card className="p-4">
          <div className="grid gap-3 sm:grid-cols-2 lg:grid-cols-4">
            <Field label="User">
              {(p) =>
                users.data ? (
                  <Select {...p} value={get('actor')} onChange={(e) => set('actor', e.target.value)}>
                    <option value="">Anyone</option>
                    {users.data.items.map((u) => (
                      <option key={u.id} value={u.id}>{u.username}</option>
                    ))}
                  </Select>
                ) : (
                  <Input {...p} placeholder="User id" value={get('actor')} onChange={(e) => set('actor', e.target.value)} />
                )
              }
            </Field>
            <Field label="Action" help='Exact, or a prefix ending in "." such as user.'>
              {(p) => (
                <>
                  <Input {...p} list="audit-actions" placeholder="Any action" value={get('action')} onChange={(e) => set('action', e.target.value.trim())} />
                  <datalist id="audit-actions">
                    {knownActions.map((a) => (
                      <option key={a} value={a} />
                    ))}
                  </datalist>
                </>
              )}
            </Field>
            <Field label="Target type">
              {(p) => (
                <Select {...p} value={get('target_type')} onChange={(e) => set('target_type', e.target.value)}>
                  <option value="">Any target</option>
                  {targetTypes.map((t) => (
                    <option key={t} value={t}>{t}</option>
                  ))}
                </Select>
              )}
            </Field>
            <Field label="Target id">
              {(p) => <Input {...p} placeholder="Any" value={get('target_id')} onChange={(e) => set('target_id', e.target.value.trim())} />}
            </Field>
            <Field label="Result">
              {(p) => (
                <Select {...p} value={get('result')} onChange={(e) => set('result', e.target.value)}>
                  <option value="">Any result</option>
                  <option value="success">Success</option>
                  <option value="failure">Failure</option>
                  <option value="denied">Denied</option>
                </Select>
              )}
            </Field>
            <Field label="From">
              {(p) => <Input {...p} type="datetime-local" value={get('from')} onChange={(e) => set('from', e.target.value)} />}
            </Field>
            <Field label="To">
              {(p) => <Input {...p} type="datetime-local" value={get('to')} onChange={(e) => set('to', e.target.value)} />}
            </Field>
            <div className="flex items-end">
              <Button onClick={() => setSp(new URLSearchParams(), { replace: true })} disabled={!filtered}>
                Clear filters
              </Button>
            </div>
          </div>
        </Card>
        <Card className={cn('overflow-hidden transition-opacity', q.isPlaceholderData && 'opacity-60')} aria-busy={q.isFetching}>
          {q.isPending ? (
            <div className="space-y-2 p-4">
              {Array.from({ length: 8 }, (_, i) => <Skeleton key={i} className="h-9" />)}
            </div>
          ) : q.isError ? (
            <ErrorState error={q.error} retry={() => void q.refetch()} title="The audit log could not be loaded" />
          ) : q.data.items.length === 0 ? (
            <EmptyState
              title={filtered ? 'No entry matches these filters' : 'Nothing recorded yet'}
              icon={<ScrollText className="size-6" aria-hidden />}
              action={filtered ? <Button size="sm" onClick={() => setSp(new URLSearchParams(), { replace: true })}>Clear filters</Button> : undefined}
            >
              {filtered ? 'Widen the time range or clear a filter.' : 'Sign-ins and changes appear here as they happen.'}
            </EmptyState>
          ) : (
            <>
              <Table label="Audit entries">
                <thead className="bg-slate-50 dark:bg-slate-800/50">
                  <tr>
                    <Th className="w-8"><span className="sr-only">Details</span></Th>
                    <Th>Time</Th>
                    <Th>User</Th>
                    <Th>Action</Th>
                    <Th>Target</Th>
                    <Th>Result</Th>
                  </tr>
                </thead>
                <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
                  {q.data.items.map((e) => {
                    const isOpen = open === e.id
                    return (
                      <Fragment key={e.id}>
                        <tr className={cn('cursor-pointer hover:bg-slate-50 dark:hover:bg-slate-800/40', isOpen && 'bg-slate-50 dark:bg-slate-800/40')} onClick={() => setOpen(isOpen ? null : e.id)}>
                          <Td className="pr-0">
                            <button
                              type="button"
                              aria-expanded={isOpen}
                              aria-label={`Details of ${e.action} at ${formatTime(e.time)}`}
                              className="rounded p-0.5 text-slate-400 hover:text-slate-700 dark:hover:text-slate-200"
                              onClick={(ev) => {
                                ev.stopPropagation()
                                setOpen(isOpen ? null : e.id)
                              }}
                            >
                              {isOpen ? <ChevronDown className="size-4" aria-hidden /> : <ChevronRight className="size-4" aria-hidden />}
                            </button>
                          </Td>
                          <Td className="whitespace-nowrap text-slate-500 dark:text-slate-400">
                            <span title={formatTime(e.time)}>{relativeTime(e.time)}</span>
                          </Td>
                          <Td className="font-medium">{e.actor_name || e.actor_id || 'anonymous'}</Td>
                          <Td><code className="text-xs">{e.action}</code></Td>
                          <Td className="text-slate-600 dark:text-slate-300">
                            {e.target_type ? (
                              <span>
                                {e.target_type}
                                {e.target_id && <span className="ml-1 font-mono text-xs text-slate-400">{e.target_id.slice(0, 12)}</span>}
                              </span>
                            ) : (
                              '—'
                            )}
                          </Td>
                          <Td><Badge tone={resultTone[e.result]} className="capitalize">{e.result}</Badge></Td>
                        </tr>
                        {isOpen && (
                          <tr className="bg-slate-50/60 dark:bg-slate-800/20">
                            <Td colSpan={6}>
                              <div className="grid gap-4 py-1 lg:grid-cols-2">
                                <DefinitionList
                                  items={[
                                    ['Time', formatTime(e.time)],
                                    ['User id', <code key="a" className="text-xs">{e.actor_id || '—'}</code>],
                                    ['Target id', <code key="t" className="text-xs">{e.target_id || '—'}</code>],
                                    ['IP address', e.ip || '—'],
                                    ['User agent', <span key="ua" className="text-xs">{e.user_agent || '—'}</span>],
                                    ['Request id', <code key="r" className="text-xs">{e.request_id || '—'}</code>],
                                  ]}
                                />
                                <div>
                                  <p className="mb-1 text-xs font-semibold uppercase tracking-wide text-slate-500">Details</p>
                                  {e.details != null ? (
                                    <pre className="max-h-64 overflow-auto rounded-md bg-white p-3 text-xs ring-1 ring-slate-200 dark:bg-slate-950 dark:ring-slate-800">
                                      {JSON.stringify(e.details, null, 2)}
                                    </pre>
                                  ) : (
                                    <p className="text-sm text-slate-500">No details recorded.</p>
                                  )}
                                </div>
                              </div>
                            </Td>
                          </tr>
                        )}
                      </Fragment>
                    )
                  })}
                </tbody>
              </Table>
              <Pagination page={page} perPage={PER_PAGE} total={q.data.total} onPage={(p) => set('page', String(p))} label="Audit log pages" />
            </>
          )}
        </Card>
      </div>
    </div>
  )
}

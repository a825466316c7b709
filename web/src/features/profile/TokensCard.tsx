import { useState, type FormEvent } from 'react'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { KeySquare, Plus } from 'lucide-react'
import { api, unwrap, type Schemas } from '@/api/client'
import {
  Badge, Button, Card, ConfirmDialog, Dialog, EmptyState, ErrorState, Field, InlineError, Input, Select, Skeleton, Table, Td, Th,
} from '@/components/ui'
import { CopyButton } from '@/components/ui/controls'
import { toast } from '@/components/toasts'
import { formatTime, relativeTime } from '@/lib/format'
import { fieldMessage } from '@/features/admin/fieldMessage'

type Token = Schemas['APIToken']
const tokensKey = ['me', 'tokens'] as const

function tokenState(t: Token): { word: string; tone: 'green' | 'gray' | 'amber' } {
  if (t.revoked_at) return { word: 'Revoked', tone: 'gray' }
  if (t.expires_at && Date.parse(t.expires_at) < Date.now()) return { word: 'Expired', tone: 'amber' }
  return { word: 'Active', tone: 'green' }
}

/** Your API tokens: list, create (shown once, with a copy button), revoke with confirmation. */
export function TokensCard() {
  const qc = useQueryClient()
  const q = useQuery({ queryKey: tokensKey, queryFn: () => unwrap(api.GET('/api/v1/auth/tokens')) })
  const [creating, setCreating] = useState(false)
  const [revoking, setRevoking] = useState<Token | null>(null)
  const revoke = useMutation({
    mutationFn: (id: string) => unwrap(api.DELETE('/api/v1/auth/tokens/{id}', { params: { path: { id } } })),
    onSuccess: () => {
      toast.success('Token revoked', revoking?.name)
      setRevoking(null)
      void qc.invalidateQueries({ queryKey: tokensKey })
    },
  })
  const items = q.data?.items ?? []
  return (
    <Card>
      <div className="flex items-center justify-between gap-2 p-5 pb-3">
        <div className="flex items-center gap-2">
          <KeySquare className="size-4 text-slate-400" aria-hidden />
          <h2 className="text-base font-semibold">API tokens</h2>
        </div>
        <Button variant="primary" size="sm" icon={<Plus className="size-4" aria-hidden />} onClick={() => setCreating(true)}>
          New token
        </Button>
      </div>
      <p className="px-5 pb-3 text-sm text-slate-500 dark:text-slate-400">
        For scripts and CI: send it as <code className="text-xs">Authorization: Bearer agg_…</code>. A token carries your role.
      </p>
      {q.isPending ? (
        <div className="space-y-2 p-5 pt-0">
          <Skeleton className="h-8" />
          <Skeleton className="h-8" />
        </div>
      ) : q.isError ? (
        <ErrorState error={q.error} retry={() => void q.refetch()} title="Your tokens could not be loaded" />
      ) : items.length === 0 ? (
        <EmptyState
          title="No API tokens yet"
          icon={<KeySquare className="size-6" aria-hidden />}
          action={<Button size="sm" onClick={() => setCreating(true)}>Create a token</Button>}
        >
          Create one to call the API from a script.
        </EmptyState>
      ) : (
        <Table label="API tokens">
          <thead className="bg-slate-50 dark:bg-slate-800/50">
            <tr>
              <Th>Name</Th>
              <Th>Token</Th>
              <Th>Created</Th>
              <Th>Last used</Th>
              <Th>Expires</Th>
              <Th>Status</Th>
              <Th className="text-right"><span className="sr-only">Actions</span></Th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
            {items.map((t) => {
              const st = tokenState(t)
              return (
                <tr key={t.id}>
                  <Td className="font-medium">{t.name}</Td>
                  <Td><code className="text-xs text-slate-500">{t.prefix}…</code></Td>
                  <Td className="text-slate-500" >{relativeTime(t.created_at)}</Td>
                  <Td className="text-slate-500">{t.last_used_at ? relativeTime(t.last_used_at) : 'Never'}</Td>
                  <Td className="text-slate-500">{t.expires_at ? formatTime(t.expires_at) : 'Never'}</Td>
                  <Td><Badge tone={st.tone}>{st.word}</Badge></Td>
                  <Td className="text-right">
                    {!t.revoked_at && (
                      <Button size="sm" variant="ghost" className="text-rose-600 dark:text-rose-400" onClick={() => setRevoking(t)} aria-label={`Revoke ${t.name}`}>
                        Revoke
                      </Button>
                    )}
                  </Td>
                </tr>
              )
            })}
          </tbody>
        </Table>
      )}
      <CreateTokenDialog open={creating} onClose={() => setCreating(false)} />
      <ConfirmDialog
        open={!!revoking}
        title="Revoke token"
        confirmLabel="Revoke token"
        danger
        loading={revoke.isPending}
        onClose={() => {
          setRevoking(null)
          revoke.reset()
        }}
        onConfirm={() => revoking && revoke.mutate(revoking.id)}
      >
        <p>
          Scripts using <strong>{revoking?.name}</strong> stop working at once. This cannot be undone.
        </p>
        {revoke.error ? <div className="mt-3"><InlineError error={revoke.error} /></div> : null}
      </ConfirmDialog>
    </Card>
  )
}

function CreateTokenDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const qc = useQueryClient()
  const [name, setName] = useState('')
  const [days, setDays] = useState('90')
  const create = useMutation({
    mutationFn: () =>
      unwrap(api.POST('/api/v1/auth/tokens', { body: { name: name.trim(), expires_in_days: Number(days) || undefined } })),
    onSuccess: () => void qc.invalidateQueries({ queryKey: tokensKey }),
  })
  const close = () => {
    setName('')
    setDays('90')
    create.reset()
    onClose()
  }
  const submit = (e: FormEvent) => {
    e.preventDefault()
    create.mutate()
  }
  const created = create.data
  const nameErr = fieldMessage(create.error, 'body.name')
  return (
    <Dialog
      open={open}
      onClose={close}
      title={created ? 'Token created' : 'New API token'}
      footer={
        created ? (
          <Button variant="primary" onClick={close}>Done</Button>
        ) : (
          <>
            <Button onClick={close}>Cancel</Button>
            <Button variant="primary" type="submit" form="new-token" loading={create.isPending} disabled={!name.trim()}>
              Create token
            </Button>
          </>
        )
      }
    >
      {created ? (
        <div className="space-y-3 text-sm">
          <p className="rounded-md bg-amber-50 px-3 py-2 text-amber-800 dark:bg-amber-500/10 dark:text-amber-300">
            Copy the token now: it is shown only once and cannot be read again.
          </p>
          <div className="flex items-center gap-2 rounded-md bg-slate-100 p-2 dark:bg-slate-800">
            <code aria-label="New token" className="min-w-0 flex-1 break-all font-mono text-xs">{created.token}</code>
            <CopyButton text={created.token} label="Copy token" />
          </div>
        </div>
      ) : (
        <form id="new-token" onSubmit={submit} className="space-y-4">
          <Field label="Token name" error={nameErr} help="What uses it, e.g. ci-nightly" required>
            {(p) => <Input {...p} value={name} onChange={(e) => setName(e.target.value)} required />}
          </Field>
          <Field label="Expires">
            {(p) => (
              <Select {...p} value={days} onChange={(e) => setDays(e.target.value)}>
                <option value="7">In 7 days</option>
                <option value="30">In 30 days</option>
                <option value="90">In 90 days</option>
                <option value="365">In a year</option>
                <option value="0">Never</option>
              </Select>
            )}
          </Field>
          {create.error && !nameErr ? <InlineError error={create.error} /> : null}
        </form>
      )}
    </Dialog>
  )
}

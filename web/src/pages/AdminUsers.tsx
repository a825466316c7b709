import { useCallback, useState, type FormEvent } from 'react'
import { Plus, RefreshCw, Users as UsersIcon } from 'lucide-react'
import {
  Badge, Button, Card, ConfirmDialog, Dialog, EmptyState, ErrorState, Field, InlineError, Input, PageHeader, Select, Skeleton, Table, Td, Th,
} from '@/components/ui'
import { CopyButton, Pagination, SearchInput } from '@/components/ui/controls'
import { toast } from '@/components/toasts'
import { errorMessage } from '@/api/errors'
import { useCan, useSession } from '@/auth/session'
import { relativeTime } from '@/lib/format'
import { fieldMessage } from '@/features/admin/fieldMessage'
import {
  PER_PAGE, roles, temporaryPassword, useCreateUser, useDeactivateUser, useResetPassword, useUpdateUser, useUsers,
  type Role, type User, type UserFilter,
} from '@/features/admin/users'

export default function AdminUsers() {
  const can = useCan()
  const meId = useSession((s) => s.me?.id)
  const write = can('users:write')
  const grantAdmin = can('users:admin')
  const [f, setF] = useState<UserFilter>({ search: '', role: '', active: '', page: 1 })
  const q = useUsers(f)
  const [creating, setCreating] = useState(false)
  const [resetting, setResetting] = useState<User | null>(null)
  const [deactivating, setDeactivating] = useState<User | null>(null)
  const update = useUpdateUser()
  const deactivate = useDeactivateUser()
  const onSearch = useCallback((search: string) => setF((p) => ({ ...p, search, page: 1 })), [])
  const filtered = f.search || f.role || f.active

  const changeRole = (u: User, role: Role) =>
    update.mutate(
      { id: u.id, body: { role } },
      {
        onSuccess: () => toast.success(`${u.username} is now ${role}`, 'Their sessions were ended; they sign in again.'),
        onError: (e) => toast.error(`Could not change the role of ${u.username}`, errorMessage(e)),
      },
    )
  const activate = (u: User) =>
    update.mutate(
      { id: u.id, body: { active: true } },
      {
        onSuccess: () => toast.success(`${u.username} is active again`),
        onError: (e) => toast.error(`Could not activate ${u.username}`, errorMessage(e)),
      },
    )

  return (
    <div>
      <PageHeader
        title="Users"
        description="Who may sign in, with which role. Changing a role or deactivating ends the user's sessions."
        actions={
          write && (
            <Button variant="primary" icon={<Plus className="size-4" aria-hidden />} onClick={() => setCreating(true)}>
              New user
            </Button>
          )
        }
      />
      <div className="space-y-4 p-6">
        <div className="flex flex-wrap items-center gap-2">
          <SearchInput className="w-full max-w-xs" label="Search users" placeholder="Search name, username or email" value={f.search} onChange={onSearch} />
          <div className="w-40">
          <Select aria-label="Filter by role" value={f.role} onChange={(e) => setF({ ...f, role: e.target.value as Role | '', page: 1 })}>
            <option value="">All roles</option>
            {roles.map((r) => (
              <option key={r.id} value={r.id}>{r.label}</option>
            ))}
          </Select>
          </div>
          <div className="w-40">
          <Select aria-label="Filter by status" value={f.active} onChange={(e) => setF({ ...f, active: e.target.value as UserFilter['active'], page: 1 })}>
            <option value="">Any status</option>
            <option value="true">Active</option>
            <option value="false">Deactivated</option>
          </Select>
          </div>
        </div>
        <Card className="overflow-hidden">
          {q.isPending ? (
            <div className="space-y-2 p-4">
              {Array.from({ length: 5 }, (_, i) => <Skeleton key={i} className="h-10" />)}
            </div>
          ) : q.isError ? (
            <ErrorState error={q.error} retry={() => void q.refetch()} title="Users could not be loaded" />
          ) : q.data.items.length === 0 ? (
            <EmptyState
              title={filtered ? 'No user matches' : 'No users yet'}
              icon={<UsersIcon className="size-6" aria-hidden />}
              action={
                filtered ? (
                  <Button size="sm" onClick={() => setF({ search: '', role: '', active: '', page: 1 })}>Clear filters</Button>
                ) : write ? (
                  <Button size="sm" variant="primary" onClick={() => setCreating(true)}>New user</Button>
                ) : undefined
              }
            >
              {filtered ? 'Try another search or filter.' : 'Create the people who work with pipelines.'}
            </EmptyState>
          ) : (
            <>
              <Table label="Users">
                <thead className="bg-slate-50 dark:bg-slate-800/50">
                  <tr>
                    <Th>User</Th>
                    <Th>Role</Th>
                    <Th>Status</Th>
                    <Th>Last sign-in</Th>
                    {write && <Th className="text-right"><span className="sr-only">Actions</span></Th>}
                  </tr>
                </thead>
                <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
                  {q.data.items.map((u) => {
                    const self = u.id === meId
                    const touchable = write && !self && (u.role !== 'admin' || grantAdmin)
                    return (
                      <tr key={u.id} className={u.active ? undefined : 'opacity-70'}>
                        <Td>
                          <div className="flex items-center gap-3">
                            <span className="flex size-8 shrink-0 items-center justify-center rounded-full bg-slate-200 text-xs font-semibold text-slate-700 dark:bg-slate-700 dark:text-slate-200" aria-hidden>
                              {(u.full_name || u.username).slice(0, 2).toUpperCase()}
                            </span>
                            <div className="min-w-0">
                              <p className="font-medium">
                                {u.full_name || u.username}
                                {self && <span className="ml-1.5 text-xs text-slate-400">(you)</span>}
                              </p>
                              <p className="truncate text-xs text-slate-500 dark:text-slate-400">
                                {u.username} · {u.email}
                              </p>
                            </div>
                          </div>
                        </Td>
                        <Td>
                          {touchable ? (
                            <Select
                              aria-label={`Role of ${u.username}`}
                              className="h-8 max-w-36"
                              value={u.role}
                              disabled={update.isPending && update.variables?.id === u.id}
                              onChange={(e) => changeRole(u, e.target.value as Role)}
                            >
                              {roles.filter((r) => r.id !== 'admin' || grantAdmin).map((r) => (
                                <option key={r.id} value={r.id}>{r.label}</option>
                              ))}
                            </Select>
                          ) : (
                            <Badge tone={u.role === 'admin' ? 'violet' : 'gray'} className="capitalize">{u.role}</Badge>
                          )}
                        </Td>
                        <Td>
                          {u.active ? <Badge tone="green">Active</Badge> : <Badge tone="gray">Deactivated</Badge>}
                          {u.must_change_password && <Badge tone="amber" className="ml-1.5">Temporary password</Badge>}
                        </Td>
                        <Td className="text-slate-500 dark:text-slate-400">{u.last_login_at ? relativeTime(u.last_login_at) : 'Never'}</Td>
                        {write && (
                          <Td className="text-right">
                            {touchable && (
                              <div className="flex justify-end gap-1">
                                {u.role !== 'admin' && (
                                  <Button size="sm" variant="ghost" aria-label={`Reset password of ${u.username}`} onClick={() => setResetting(u)}>
                                    Reset password
                                  </Button>
                                )}
                                {u.active ? (
                                  <Button size="sm" variant="ghost" className="text-rose-600 dark:text-rose-400" aria-label={`Deactivate ${u.username}`} onClick={() => setDeactivating(u)}>
                                    Deactivate
                                  </Button>
                                ) : (
                                  <Button size="sm" variant="ghost" aria-label={`Activate ${u.username}`} onClick={() => activate(u)}>
                                    Activate
                                  </Button>
                                )}
                              </div>
                            )}
                          </Td>
                        )}
                      </tr>
                    )
                  })}
                </tbody>
              </Table>
              <Pagination page={f.page} perPage={PER_PAGE} total={q.data.total} onPage={(page) => setF({ ...f, page })} label="Users pages" />
            </>
          )}
        </Card>
      </div>
      <CreateUserDialog open={creating} onClose={() => setCreating(false)} grantAdmin={grantAdmin} />
      <ResetPasswordDialog user={resetting} onClose={() => setResetting(null)} />
      <ConfirmDialog
        open={!!deactivating}
        title="Deactivate user"
        confirmLabel="Deactivate"
        danger
        loading={deactivate.isPending}
        onClose={() => {
          setDeactivating(null)
          deactivate.reset()
        }}
        onConfirm={() =>
          deactivating &&
          deactivate.mutate(deactivating.id, {
            onSuccess: () => {
              toast.success(`${deactivating.username} deactivated`)
              setDeactivating(null)
            },
          })
        }
      >
        <p>
          <strong>{deactivating?.username}</strong> is signed out everywhere and can no longer sign in; their API tokens stop working.
          You can activate them again later.
        </p>
        {deactivate.error ? <div className="mt-3"><InlineError error={deactivate.error} /></div> : null}
      </ConfirmDialog>
    </div>
  )
}

function CreateUserDialog({ open, onClose, grantAdmin }: { open: boolean; onClose: () => void; grantAdmin: boolean }) {
  const empty = { username: '', email: '', full_name: '', role: 'viewer' as Role, password: '' }
  const [v, setV] = useState(empty)
  const create = useCreateUser()
  const close = () => {
    setV(empty)
    create.reset()
    onClose()
  }
  const submit = (e: FormEvent) => {
    e.preventDefault()
    create.mutate(
      { ...v, full_name: v.full_name || undefined },
      {
        onSuccess: (u) => {
          toast.success(`User ${u.username} created`, `Role: ${u.role}`)
          close()
        },
      },
    )
  }
  const err = (k: string) => fieldMessage(create.error, `body.${k}`)
  const anyField = ['username', 'email', 'full_name', 'role', 'password'].some((k) => err(k))
  return (
    <Dialog
      open={open}
      onClose={close}
      title="New user"
      footer={
        <>
          <Button onClick={close}>Cancel</Button>
          <Button type="submit" form="new-user" variant="primary" loading={create.isPending}>
            Create user
          </Button>
        </>
      }
    >
      <form id="new-user" onSubmit={submit} className="grid gap-4 sm:grid-cols-2">
        <Field label="Username" error={err('username')} help="Letters, digits, '.', '_' and '-'" required>
          {(p) => <Input {...p} autoComplete="off" value={v.username} onChange={(e) => setV({ ...v, username: e.target.value })} required />}
        </Field>
        <Field label="Email" error={err('email')} required>
          {(p) => <Input {...p} type="email" autoComplete="off" value={v.email} onChange={(e) => setV({ ...v, email: e.target.value })} required />}
        </Field>
        <Field label="Full name" error={err('full_name')}>
          {(p) => <Input {...p} value={v.full_name} onChange={(e) => setV({ ...v, full_name: e.target.value })} />}
        </Field>
        <Field label="Role" error={err('role')} help={roles.find((r) => r.id === v.role)?.help} required>
          {(p) => (
            <Select {...p} value={v.role} onChange={(e) => setV({ ...v, role: e.target.value as Role })}>
              {roles.filter((r) => r.id !== 'admin' || grantAdmin).map((r) => (
                <option key={r.id} value={r.id}>{r.label}</option>
              ))}
            </Select>
          )}
        </Field>
        <Field label="Password" className="sm:col-span-2" error={err('password')} help="At least 12 characters. Share it safely; they can change it on their profile." required>
          {(p) => (
            <div className="flex gap-2">
              <Input {...p} type="text" autoComplete="new-password" value={v.password} onChange={(e) => setV({ ...v, password: e.target.value })} required className="font-mono" />
              <Button onClick={() => setV({ ...v, password: temporaryPassword() })} icon={<RefreshCw className="size-4" aria-hidden />}>
                Generate
              </Button>
            </div>
          )}
        </Field>
        {create.error && !anyField ? (
          <div className="sm:col-span-2">
            <InlineError error={create.error} />
          </div>
        ) : null}
      </form>
    </Dialog>
  )
}

function ResetPasswordDialog({ user, onClose }: { user: User | null; onClose: () => void }) {
  const [password, setPassword] = useState('')
  const [done, setDone] = useState(false)
  const reset = useResetPassword()
  const open = !!user
  const close = () => {
    setPassword('')
    setDone(false)
    reset.reset()
    onClose()
  }
  const pw = password || ''
  const submit = (e: FormEvent) => {
    e.preventDefault()
    if (!user) return
    reset.mutate({ id: user.id, password: pw }, { onSuccess: () => setDone(true) })
  }
  const pwErr = fieldMessage(reset.error, 'body.password')
  return (
    <Dialog
      open={open}
      onClose={close}
      title={`Reset the password of ${user?.username ?? ''}`}
      footer={
        done ? (
          <Button variant="primary" onClick={close}>Done</Button>
        ) : (
          <>
            <Button onClick={close}>Cancel</Button>
            <Button type="submit" form="reset-pw" variant="primary" loading={reset.isPending} disabled={!pw}>
              Set temporary password
            </Button>
          </>
        )
      }
    >
      {done ? (
        <div className="space-y-3 text-sm">
          <p>
            <strong>{user?.username}</strong> was signed out and must choose a new password at the next sign-in. Give them this temporary password:
          </p>
          <div className="flex items-center gap-2 rounded-md bg-slate-100 p-2 dark:bg-slate-800">
            <code className="flex-1 break-all font-mono text-sm">{pw}</code>
            <CopyButton text={pw} label="Copy password" />
          </div>
        </div>
      ) : (
        <form id="reset-pw" onSubmit={submit} className="space-y-4">
          <Field label="Temporary password" error={pwErr} help="They must change it when they sign in." required>
            {(p) => (
              <div className="flex gap-2">
                <Input {...p} type="text" className="font-mono" autoComplete="off" value={password} onChange={(e) => setPassword(e.target.value)} required />
                <Button onClick={() => setPassword(temporaryPassword())} icon={<RefreshCw className="size-4" aria-hidden />}>
                  Generate
                </Button>
              </div>
            )}
          </Field>
          {reset.error && !pwErr ? <InlineError error={reset.error} /> : null}
        </form>
      )}
    </Dialog>
  )
}

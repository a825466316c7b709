import { useState, type FormEvent } from 'react'
import { useMutation } from '@tanstack/react-query'
import { KeyRound } from 'lucide-react'
import { api, unwrap } from '@/api/client'
import { ApiError } from '@/api/errors'
import { Button, Card, Field, InlineError, Input } from '@/components/ui'
import { toast } from '@/components/toasts'
import { useSession } from '@/auth/session'
import { fieldMessage } from '@/features/admin/fieldMessage'

/** Change your own password: the current one, then the new one; the server's policy message shows on its field. */
export function PasswordCard() {
  const [current, setCurrent] = useState('')
  const [next, setNext] = useState('')
  const mustChange = useSession((s) => s.me?.must_change_password)
  const username = useSession((s) => s.me?.username)
  const change = useMutation({
    mutationFn: async () => {
      await unwrap(api.POST('/api/v1/auth/password', { body: { current_password: current, new_password: next } }))
      // The server ends the login sessions of the account (this one too): sign in again with the new
      // password, which also reloads who we are (a temporary password is cleared now).
      if (username) await useSession.getState().signIn(username, next)
    },
    onSuccess: () => {
      setCurrent('')
      setNext('')
      toast.success('Password changed', 'Your other sessions were signed out.')
    },
  })
  const err = change.error
  const currentErr = fieldMessage(err, 'body.current_password') ?? (err instanceof ApiError && err.status === 401 ? err.message : null)
  const nextErr = fieldMessage(err, 'body.new_password')
  const other = err && !currentErr && !nextErr ? err : null
  const submit = (e: FormEvent) => {
    e.preventDefault()
    change.mutate()
  }
  return (
    <Card>
      <form onSubmit={submit} className="space-y-4 p-5" aria-labelledby="pw-title">
        <div className="flex items-center gap-2">
          <KeyRound className="size-4 text-slate-400" aria-hidden />
          <h2 id="pw-title" className="text-base font-semibold">Password</h2>
        </div>
        {mustChange && (
          <p className="rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-800 dark:bg-amber-500/10 dark:text-amber-300">
            Your password was reset by an administrator: choose a new one.
          </p>
        )}
        <Field label="Current password" error={currentErr} required>
          {(p) => <Input {...p} type="password" autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.target.value)} required />}
        </Field>
        <Field label="New password" error={nextErr} help="At least 12 characters, not a common password." required>
          {(p) => <Input {...p} type="password" autoComplete="new-password" value={next} onChange={(e) => setNext(e.target.value)} required />}
        </Field>
        <InlineError error={other} />
        <div className="flex justify-end">
          <Button type="submit" variant="primary" loading={change.isPending} disabled={!current || !next}>
            Change password
          </Button>
        </div>
      </form>
    </Card>
  )
}

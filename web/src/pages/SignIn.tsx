import { useState, type FormEvent } from 'react'
import { useNavigate, useSearchParams, Navigate } from 'react-router'
import { useSession } from '@/auth/session'
import { Button, Field, Input, InlineError } from '@/components/ui'
import { Logo } from '@/components/Logo'

export default function SignIn() {
  const [params] = useSearchParams()
  const next = safeNext(params.get('next'))
  const expired = params.get('expired') === '1'
  const status = useSession((s) => s.status)
  const signIn = useSession((s) => s.signIn)
  const navigate = useNavigate()
  const [login, setLogin] = useState('')
  const [password, setPassword] = useState('')
  const [error, setError] = useState<unknown>(null)
  const [busy, setBusy] = useState(false)

  if (status === 'signed-in') return <Navigate to={next} replace />

  async function submit(e: FormEvent) {
    e.preventDefault()
    setBusy(true)
    setError(null)
    try {
      await signIn(login.trim(), password)
      navigate(next, { replace: true })
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }

  return (
    <div className="flex min-h-full">
      <div className="relative hidden w-[44%] flex-col justify-between overflow-hidden bg-gradient-to-br from-brand-700 via-brand-600 to-violet-600 p-10 text-white lg:flex">
        <Logo className="text-white" />
        <div className="space-y-4">
          <h2 className="text-3xl font-semibold leading-tight">Move data you can trust.</h2>
          <p className="max-w-sm text-brand-100">
            Pull from databases, files, APIs and streams; map, validate and clean; deliver on a schedule or in real time, and
            watch every record on its way.
          </p>
        </div>
        <p className="text-xs text-brand-200">Data Aggregator</p>
        <svg aria-hidden className="absolute -right-24 -top-24 size-96 opacity-20" viewBox="0 0 200 200">
          <circle cx="100" cy="100" r="80" fill="none" stroke="white" strokeWidth="1" />
          <circle cx="100" cy="100" r="55" fill="none" stroke="white" strokeWidth="1" />
          <circle cx="100" cy="100" r="30" fill="none" stroke="white" strokeWidth="1" />
        </svg>
      </div>
      <div className="flex flex-1 items-center justify-center px-6 py-12">
        <div className="w-full max-w-sm space-y-8">
          <div className="space-y-2">
            <Logo className="lg:hidden" />
            <h1 className="text-2xl font-semibold tracking-tight">Sign in</h1>
            <p className="text-sm text-slate-500 dark:text-slate-400">Use your username or email and your password.</p>
          </div>
          {expired && (
            <p role="status" className="rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-800 dark:bg-amber-500/10 dark:text-amber-300">
              Your session expired. Sign in again to continue where you were.
            </p>
          )}
          <form onSubmit={submit} className="space-y-5" noValidate>
            <Field label="Username or email" required>
              {(p) => (
                <Input {...p} autoComplete="username" autoFocus value={login} onChange={(e) => setLogin(e.target.value)} required />
              )}
            </Field>
            <Field label="Password" required>
              {(p) => (
                <Input
                  {...p}
                  type="password"
                  autoComplete="current-password"
                  value={password}
                  onChange={(e) => setPassword(e.target.value)}
                  required
                />
              )}
            </Field>
            <InlineError error={error} />
            <Button type="submit" variant="primary" className="w-full" loading={busy} disabled={!login || !password}>
              Sign in
            </Button>
          </form>
        </div>
      </div>
    </div>
  )
}

/** Only same-app paths: never an open redirect. */
function safeNext(v: string | null): string {
  if (!v || !v.startsWith('/') || v.startsWith('//') || v.startsWith('/sign-in')) return '/'
  return v
}

import { useEffect, type ReactNode } from 'react'
import { Navigate, useLocation } from 'react-router'
import { useSession, type Permission } from '@/auth/session'
import { Spinner, EmptyState } from '@/components/ui'
import { ShieldOff } from 'lucide-react'

/** Shows children to a signed-in user; otherwise goes to /sign-in?next=<where the user was>. */
export function RequireAuth({ children }: { children: ReactNode }) {
  const status = useSession((s) => s.status)
  const restore = useSession((s) => s.restore)
  const loc = useLocation()
  useEffect(() => {
    if (status === 'unknown') void restore()
  }, [status, restore])
  if (status === 'unknown') return <Spinner label="Signing in" />
  if (status !== 'signed-in') {
    const next = loc.pathname + loc.search
    const q = new URLSearchParams({ next })
    if (status === 'expired') q.set('expired', '1')
    return <Navigate to={`/sign-in?${q.toString()}`} replace />
  }
  return <>{children}</>
}

/** Shows children only to a role holding permission p. */
export function RequirePermission({ permission, children }: { permission: Permission; children: ReactNode }) {
  const perms = useSession((s) => s.me?.permissions)
  if (!perms?.includes(permission)) {
    return (
      <EmptyState title="You don't have access to this page" icon={<ShieldOff className="size-6" aria-hidden />}>
        Your role does not include the <code>{permission}</code> permission. Ask an administrator if you need it.
      </EmptyState>
    )
  }
  return <>{children}</>
}

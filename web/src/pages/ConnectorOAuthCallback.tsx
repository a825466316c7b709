// Where Salesforce or HubSpot sends the browser back after "Connect with ...": posts the state and
// the code (or the provider's error) to the server, which exchanges the code and stores the refresh
// token, then says how it went and links back to the connector.
import { useEffect, useRef, useState } from 'react'
import { Link, useLocation } from 'react-router'
import { CheckCircle2, Loader2, XCircle } from 'lucide-react'
import { Card, PageHeader } from '@/components/ui'
import { errorMessage } from '@/api/errors'
import { RequirePermission } from '@/app/RequireAuth'
import { OAUTH_PENDING_KEY, useCompleteOAuth } from '@/features/connectors/connectors'

export default function ConnectorOAuthCallback() {
  return (
    <RequirePermission permission="connectors:write">
      <CallbackPage />
    </RequirePermission>
  )
}

function pendingConnector(): string | null {
  try {
    return sessionStorage.getItem(OAUTH_PENDING_KEY)
  } catch {
    return null
  }
}

function CallbackPage() {
  const location = useLocation()
  // Read once: the code leaves the address bar (and the history) as soon as it is read.
  const [params] = useState(() => new URLSearchParams(location.search))
  const [pending] = useState(pendingConnector)
  const complete = useCompleteOAuth()
  const sent = useRef(false)
  const state = params.get('state') ?? ''

  useEffect(() => {
    if (sent.current) return
    sent.current = true
    window.history.replaceState(window.history.state, '', location.pathname)
    if (!state) return
    complete.mutate(
      { state, code: params.get('code') ?? undefined, error: params.get('error') ?? undefined, error_description: params.get('error_description') ?? undefined },
      {
        onSettled: () => {
          try {
            sessionStorage.removeItem(OAUTH_PENDING_KEY)
          } catch {
            // nothing to clean
          }
        },
      },
    )
  }, [complete, location.pathname, params, state])

  const back = complete.data?.id ?? pending
  let body: React.ReactNode
  if (!state) {
    body = (
      <Outcome ok={false} title="Nothing to complete">
        This page finishes a &ldquo;Connect with &hellip;&rdquo; sign-in, and the address has no state from the provider. Start again from the connector&rsquo;s page.
      </Outcome>
    )
  } else if (complete.isSuccess) {
    const auth = (complete.data.config?.auth ?? {}) as Record<string, unknown>
    const as = typeof auth.connected_as === 'string' && auth.connected_as ? auth.connected_as : ''
    body = (
      <Outcome ok title={`${complete.data.name} is connected`}>
        {as ? <>Access was granted by <span className="font-medium">{as}</span>. </> : null}
        The refresh token is stored encrypted; runs use it from now on.
      </Outcome>
    )
  } else if (complete.isError) {
    body = (
      <Outcome ok={false} title="The connection failed">
        {errorMessage(complete.error)}
      </Outcome>
    )
  } else {
    body = (
      <div role="status" className="flex items-center gap-3 text-sm text-slate-600 dark:text-slate-300">
        <Loader2 className="size-5 animate-spin text-brand-600" aria-hidden />
        Completing the sign-in: exchanging the authorization code for a refresh token&hellip;
      </div>
    )
  }
  return (
    <div>
      <PageHeader breadcrumb={<Link to="/connectors" className="hover:underline">Connectors</Link>} title="Connect a connector" />
      <div className="mx-auto max-w-2xl p-6">
        <Card className="space-y-5 p-6">
          {body}
          {(complete.isSuccess || complete.isError || !state) && (
            <div className="flex items-center gap-3 border-t border-slate-200 pt-4 text-sm dark:border-slate-800">
              {back ? (
                <Link
                  to={`/connectors/${encodeURIComponent(back)}`}
                  className="inline-flex h-9 items-center rounded-md bg-brand-600 px-3.5 font-medium text-white shadow-sm hover:bg-brand-700"
                >
                  Back to the connector
                </Link>
              ) : null}
              <Link to="/connectors" className="text-brand-700 hover:underline dark:text-brand-300">
                All connectors
              </Link>
            </div>
          )}
        </Card>
      </div>
    </div>
  )
}

function Outcome({ ok, title, children }: { ok: boolean; title: string; children: React.ReactNode }) {
  return (
    <div role={ok ? 'status' : 'alert'} className="flex items-start gap-3">
      {ok ? (
        <CheckCircle2 className="mt-0.5 size-6 shrink-0 text-emerald-600 dark:text-emerald-400" aria-hidden />
      ) : (
        <XCircle className="mt-0.5 size-6 shrink-0 text-rose-600 dark:text-rose-400" aria-hidden />
      )}
      <div className="space-y-1">
        <h2 className="text-base font-semibold">{title}</h2>
        <p className="text-sm text-slate-600 dark:text-slate-300">{children}</p>
      </div>
    </div>
  )
}

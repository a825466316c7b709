// "Connect with Salesforce / HubSpot": the connector page's panel that says whether the connector
// holds a granted refresh token, and starts the OAuth2 authorization-code flow (the browser goes to
// the provider, which sends it back to /connectors/oauth/callback).
import { useState } from 'react'
import { CheckCircle2, CircleDashed, ExternalLink } from 'lucide-react'
import { Badge, Button, Card, InlineError } from '@/components/ui'
import { OAUTH_CALLBACK_PATH, OAUTH_PENDING_KEY, useStartOAuth, type OAuthStatus } from './connectors'

export function OAuthConnect({
  connectorId, status, canWrite, blockedReason, navigate = (url) => window.location.assign(url),
}: {
  connectorId: string
  status: OAuthStatus
  canWrite: boolean
  /** Why connecting must wait (unsaved changes); the button is disabled while set. */
  blockedReason?: string
  /** Sends the browser to the provider (tests replace it). */
  navigate?: (url: string) => void
}) {
  const start = useStartOAuth()
  const [leaving, setLeaving] = useState(false)
  const label = `Connect with ${status.provider}`
  const onConnect = () => {
    start.mutate(connectorId, {
      onSuccess: (r) => {
        setLeaving(true)
        try {
          sessionStorage.setItem(OAUTH_PENDING_KEY, connectorId)
        } catch {
          // storage unavailable: the callback page links to the connector list instead
        }
        navigate(r.authorize_url)
      },
    })
  }
  return (
    <Card className="p-5" aria-label={label} role="region">
      <div className="flex flex-wrap items-start justify-between gap-4">
        <div className="min-w-0 space-y-1">
          <div className="flex items-center gap-2">
            <h2 className="text-sm font-semibold">{label}</h2>
            {status.connected ? (
              <Badge tone="green">
                <CheckCircle2 className="size-3.5" aria-hidden /> Connected
              </Badge>
            ) : (
              <Badge tone="amber">
                <CircleDashed className="size-3.5" aria-hidden /> Not connected
              </Badge>
            )}
          </div>
          <p className="text-sm text-slate-600 dark:text-slate-400" data-testid="oauth-status">
            {status.connected
              ? status.connectedAs
                ? <>Access granted by <span className="font-medium text-slate-900 dark:text-slate-100">{status.connectedAs}</span>. Connect again to grant it as someone else.</>
                : 'A refresh token is stored. Connect again to grant access as someone else.'
              : `Sign in to ${status.provider} and grant access; the refresh token is stored encrypted and never shown.`}
          </p>
          <p className="text-xs text-slate-500 dark:text-slate-400">
            Callback URL to register in the {status.provider} app:{' '}
            <code className="rounded bg-slate-100 px-1 py-0.5 font-mono text-[11px] dark:bg-slate-800">{window.location.origin + OAUTH_CALLBACK_PATH}</code>
          </p>
        </div>
        {canWrite && (
          <div className="flex flex-col items-end gap-1">
            <Button
              variant={status.connected ? 'secondary' : 'primary'}
              icon={<ExternalLink className="size-4" aria-hidden />}
              onClick={onConnect}
              loading={start.isPending || leaving}
              disabled={Boolean(blockedReason)}
            >
              {status.connected ? `Reconnect with ${status.provider}` : label}
            </Button>
            {blockedReason && <span className="text-xs text-amber-600 dark:text-amber-400">{blockedReason}</span>}
          </div>
        )}
      </div>
      {start.error ? <div className="mt-3"><InlineError error={start.error} /></div> : null}
    </Card>
  )
}

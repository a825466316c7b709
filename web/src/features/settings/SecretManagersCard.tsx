import { useState, type FormEvent, type ReactNode } from 'react'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { CheckCircle2, KeyRound, XCircle } from 'lucide-react'
import { api, unwrap, type Schemas } from '@/api/client'
import { Badge, Button, Card, ErrorState, Field, InlineError, Input, Select, Skeleton, Textarea } from '@/components/ui'
import { toast } from '@/components/toasts'
import { fieldMessage } from '@/features/admin/fieldMessage'
import { formatTime, relativeTime } from '@/lib/format'
import { draftErrors, fromDraft, toDraft, type AWSAuth, type AzureAuth, type GCPAuth, type SecretManagersDraft, type VaultAuth } from './secretManagers'

type View = Schemas['SecretManagerSettingsView']
const queryKey = ['admin', 'settings', 'secret-managers']

/** Settings > Secret managers: where vault://, aws-sm://, gcp-sm://, azure-kv:// and file:// references in saved connectors resolve. */
export function SecretManagersCard({ editable }: { editable: boolean }) {
  const q = useQuery({ queryKey, queryFn: () => unwrap(api.GET('/api/v1/admin/settings/secret-managers')) })
  return (
    <Card>
      <div className="flex items-center gap-2 border-b border-slate-200 px-5 py-4 dark:border-slate-800">
        <KeyRound className="size-4 text-slate-400" aria-hidden />
        <h2 className="text-base font-semibold">Secret managers</h2>
        {q.data && (
          <span className="ml-auto text-xs text-slate-500 dark:text-slate-400">
            {q.data.updated_at ? (
              <>Saved by {q.data.updated_by} <time dateTime={q.data.updated_at} title={formatTime(q.data.updated_at)}>{relativeTime(q.data.updated_at)}</time></>
            ) : (
              'Not configured'
            )}
          </span>
        )}
      </div>
      {q.isPending ? (
        <div className="space-y-3 p-5"><Skeleton className="h-14" /><Skeleton className="h-14" /></div>
      ) : q.isError ? (
        <ErrorState error={q.error} retry={() => void q.refetch()} title="The secret manager settings could not be loaded" />
      ) : (
        <SecretManagersForm key={q.data.updated_at ?? 'never'} view={q.data} editable={editable} />
      )}
    </Card>
  )
}

function SecretManagersForm({ view, editable }: { view: View; editable: boolean }) {
  const qc = useQueryClient()
  const [draft, setDraft] = useState<SecretManagersDraft>(() => toDraft(view.settings))
  const [reference, setReference] = useState('')
  const save = useMutation({
    mutationFn: (body: Schemas['SecretManagerSettings']) => unwrap(api.PUT('/api/v1/admin/settings/secret-managers', { body })),
    onSuccess: (v) => {
      qc.setQueryData(queryKey, v)
      toast.success('Secret managers saved', 'Connectors resolve their references with them from now on.')
    },
  })
  const test = useMutation({
    mutationFn: (body: Schemas['SecretManagerTest']) => unwrap(api.POST('/api/v1/admin/settings/secret-managers/test', { body })),
  })
  const errors = draftErrors(draft)
  const err = (k: keyof SecretManagersDraft, loc: string) => errors[k] ?? fieldMessage(save.error, loc) ?? null
  const valid = Object.keys(errors).length === 0
  const set = (patch: Partial<SecretManagersDraft>) => setDraft((d) => ({ ...d, ...patch }))
  const ro = !editable || save.isPending
  const submit = (e: FormEvent) => {
    e.preventDefault()
    if (valid) save.mutate(fromDraft(draft))
  }
  const secretHelp = 'Stored encrypted; ******** keeps the saved value.'

  return (
    <form onSubmit={submit} noValidate aria-label="Secret managers">
      <div className="space-y-5 px-5 py-4">
        <p className="text-sm text-slate-500 dark:text-slate-400">
          A secret field of a saved connector may hold a reference instead of a value:{' '}
          <Code>vault://mount/path#key</Code>, <Code>aws-sm://name#key</Code>, <Code>gcp-sm://project/secret</Code>,{' '}
          <Code>azure-kv://vault/name</Code> or <Code>file:///run/secrets/name</Code>. It is resolved each time the connector is
          opened and never stored resolved.
        </p>

        <section aria-label="HashiCorp Vault" className="space-y-3">
          <label className="flex items-center gap-2 text-sm font-medium">
            <input
              type="checkbox"
              className="size-4 rounded border-slate-300 dark:border-slate-700"
              checked={draft.vaultEnabled}
              disabled={ro}
              onChange={(e) => set({ vaultEnabled: e.target.checked })}
            />
            HashiCorp Vault (KV v2)
            {view.settings.vault.address && <Badge tone="green">configured</Badge>}
          </label>
          {draft.vaultEnabled && (
            <div className="grid gap-3 sm:grid-cols-2">
              <Field label="Vault address" error={err('address', 'body.vault.address')} help="Reached through the outbound guard: list a private host in ALLOWED_OUTBOUND_HOSTS.">
                {(p) => <Input {...p} value={draft.address} placeholder="https://vault.internal:8200" disabled={ro} invalid={!!err('address', 'body.vault.address')} onChange={(e) => set({ address: e.target.value })} />}
              </Field>
              <Field label="Namespace" help="Vault Enterprise only; leave empty otherwise.">
                {(p) => <Input {...p} value={draft.namespace} disabled={ro} onChange={(e) => set({ namespace: e.target.value })} />}
              </Field>
              <Field label="Auth method" error={fieldMessage(save.error, 'body.vault.auth')}>
                {(p) => (
                  <Select {...p} value={draft.auth} disabled={ro} onChange={(e) => set({ auth: e.target.value as VaultAuth })}>
                    <option value="token">Token</option>
                    <option value="approle">AppRole</option>
                    <option value="kubernetes">Kubernetes service account</option>
                  </Select>
                )}
              </Field>
              {draft.auth !== 'token' && (
                <Field label="Auth mount" help={`Default: ${draft.auth}`}>
                  {(p) => <Input {...p} value={draft.authMount} placeholder={draft.auth} disabled={ro} onChange={(e) => set({ authMount: e.target.value })} />}
                </Field>
              )}
              {draft.auth === 'token' && (
                <Field label="Token" error={err('token', 'body.vault.token')} help={secretHelp}>
                  {(p) => <Input {...p} type="password" autoComplete="new-password" value={draft.token} disabled={ro} invalid={!!err('token', 'body.vault.token')} onChange={(e) => set({ token: e.target.value })} />}
                </Field>
              )}
              {draft.auth === 'approle' && (
                <>
                  <Field label="Role id" error={err('roleId', 'body.vault.role_id')}>
                    {(p) => <Input {...p} value={draft.roleId} disabled={ro} invalid={!!err('roleId', 'body.vault.role_id')} onChange={(e) => set({ roleId: e.target.value })} />}
                  </Field>
                  <Field label="Secret id" error={err('secretId', 'body.vault.secret_id')} help={secretHelp}>
                    {(p) => <Input {...p} type="password" autoComplete="new-password" value={draft.secretId} disabled={ro} invalid={!!err('secretId', 'body.vault.secret_id')} onChange={(e) => set({ secretId: e.target.value })} />}
                  </Field>
                </>
              )}
              {draft.auth === 'kubernetes' && (
                <>
                  <Field label="Vault role" error={err('kubernetesRole', 'body.vault.kubernetes_role')}>
                    {(p) => <Input {...p} value={draft.kubernetesRole} disabled={ro} invalid={!!err('kubernetesRole', 'body.vault.kubernetes_role')} onChange={(e) => set({ kubernetesRole: e.target.value })} />}
                  </Field>
                  <Field label="Service account token file" help="Default: /var/run/secrets/kubernetes.io/serviceaccount/token">
                    {(p) => <Input {...p} value={draft.kubernetesTokenPath} disabled={ro} onChange={(e) => set({ kubernetesTokenPath: e.target.value })} />}
                  </Field>
                </>
              )}
            </div>
          )}
        </section>


        <ProviderSection
          label="AWS Secrets Manager"
          scheme="aws-sm://<name or ARN>[#<key>]"
          enabled={draft.awsEnabled}
          configured={!!view.settings.aws?.region}
          disabled={ro}
          onToggle={(on) => set({ awsEnabled: on })}
        >
          <Field label="Region" error={err('awsRegion', 'body.aws.region')}>
            {(p) => <Input {...p} value={draft.awsRegion} placeholder="eu-west-1" disabled={ro} invalid={!!err('awsRegion', 'body.aws.region')} onChange={(e) => set({ awsRegion: e.target.value })} />}
          </Field>
          <Field label="Endpoint" error={err('awsEndpoint', 'body.aws.endpoint')} help="Optional: a VPC endpoint URL. Reached through the outbound guard.">
            {(p) => <Input {...p} value={draft.awsEndpoint} placeholder="https://secretsmanager.eu-west-1.amazonaws.com" disabled={ro} invalid={!!err('awsEndpoint', 'body.aws.endpoint')} onChange={(e) => set({ awsEndpoint: e.target.value })} />}
          </Field>
          <Field label="Credentials" error={fieldMessage(save.error, 'body.aws.auth')}>
            {(p) => (
              <Select {...p} value={draft.awsAuth} disabled={ro} onChange={(e) => set({ awsAuth: e.target.value as AWSAuth })}>
                <option value="default">Default chain (IAM role, environment, shared config)</option>
                <option value="static">Access key</option>
              </Select>
            )}
          </Field>
          {draft.awsAuth === 'static' && (
            <>
              <Field label="Access key id" error={err('awsAccessKeyId', 'body.aws.access_key_id')}>
                {(p) => <Input {...p} value={draft.awsAccessKeyId} placeholder="AKIA…" disabled={ro} invalid={!!err('awsAccessKeyId', 'body.aws.access_key_id')} onChange={(e) => set({ awsAccessKeyId: e.target.value })} />}
              </Field>
              <Field label="Secret access key" error={err('awsSecretAccessKey', 'body.aws.secret_access_key')} help={secretHelp}>
                {(p) => <Input {...p} type="password" autoComplete="new-password" value={draft.awsSecretAccessKey} disabled={ro} invalid={!!err('awsSecretAccessKey', 'body.aws.secret_access_key')} onChange={(e) => set({ awsSecretAccessKey: e.target.value })} />}
              </Field>
              <Field label="Session token" help="Optional, for temporary credentials.">
                {(p) => <Input {...p} type="password" autoComplete="new-password" value={draft.awsSessionToken} disabled={ro} onChange={(e) => set({ awsSessionToken: e.target.value })} />}
              </Field>
            </>
          )}
        </ProviderSection>

        <ProviderSection
          label="Google Cloud Secret Manager"
          scheme="gcp-sm://<project>/<secret>[/versions/<n>][#<key>]"
          enabled={draft.gcpEnabled}
          configured={!!view.settings.gcp?.auth}
          disabled={ro}
          onToggle={(on) => set({ gcpEnabled: on })}
        >
          <Field label="Credentials" error={fieldMessage(save.error, 'body.gcp.auth')}>
            {(p) => (
              <Select {...p} value={draft.gcpAuth} disabled={ro} onChange={(e) => set({ gcpAuth: e.target.value as GCPAuth })}>
                <option value="default">Application default (workload identity, metadata server)</option>
                <option value="service_account">Service account key</option>
              </Select>
            )}
          </Field>
          <Field label="Endpoint" error={err('gcpEndpoint', 'body.gcp.endpoint')} help="Optional: a regional or Private Service Connect endpoint.">
            {(p) => <Input {...p} value={draft.gcpEndpoint} placeholder="https://secretmanager.googleapis.com" disabled={ro} invalid={!!err('gcpEndpoint', 'body.gcp.endpoint')} onChange={(e) => set({ gcpEndpoint: e.target.value })} />}
          </Field>
          {draft.gcpAuth === 'service_account' && (
            <Field label="Service account key (JSON)" className="sm:col-span-2" error={err('gcpCredentialsJson', 'body.gcp.credentials_json')} help={secretHelp}>
              {(p) => <Textarea {...p} rows={3} spellCheck={false} className="font-mono text-xs" value={draft.gcpCredentialsJson} placeholder='{"type": "service_account", …}' disabled={ro} invalid={!!err('gcpCredentialsJson', 'body.gcp.credentials_json')} onChange={(e) => set({ gcpCredentialsJson: e.target.value })} />}
            </Field>
          )}
        </ProviderSection>

        <ProviderSection
          label="Azure Key Vault"
          scheme="azure-kv://<vault>/<name>[/<version>][#<key>]"
          enabled={draft.azureEnabled}
          configured={!!view.settings.azure?.auth}
          disabled={ro}
          onToggle={(on) => set({ azureEnabled: on })}
        >
          <Field label="Credentials" error={fieldMessage(save.error, 'body.azure.auth')}>
            {(p) => (
              <Select {...p} value={draft.azureAuth} disabled={ro} onChange={(e) => set({ azureAuth: e.target.value as AzureAuth })}>
                <option value="default">Default (managed identity, workload identity, environment)</option>
                <option value="client_secret">App registration (client secret)</option>
              </Select>
            )}
          </Field>
          <Field label="Vault DNS suffix" error={err('azureVaultSuffix', 'body.azure.vault_suffix')} help="Default vault.azure.net; vault.azure.cn or vault.usgovcloudapi.net in other clouds.">
            {(p) => <Input {...p} value={draft.azureVaultSuffix} placeholder="vault.azure.net" disabled={ro} onChange={(e) => set({ azureVaultSuffix: e.target.value })} />}
          </Field>
          {draft.azureAuth === 'client_secret' && (
            <>
              <Field label="Tenant id" error={err('azureTenantId', 'body.azure.tenant_id')}>
                {(p) => <Input {...p} value={draft.azureTenantId} disabled={ro} invalid={!!err('azureTenantId', 'body.azure.tenant_id')} onChange={(e) => set({ azureTenantId: e.target.value })} />}
              </Field>
              <Field label="Client id" error={err('azureClientId', 'body.azure.client_id')}>
                {(p) => <Input {...p} value={draft.azureClientId} disabled={ro} invalid={!!err('azureClientId', 'body.azure.client_id')} onChange={(e) => set({ azureClientId: e.target.value })} />}
              </Field>
              <Field label="Client secret" error={err('azureClientSecret', 'body.azure.client_secret')} help={secretHelp}>
                {(p) => <Input {...p} type="password" autoComplete="new-password" value={draft.azureClientSecret} disabled={ro} invalid={!!err('azureClientSecret', 'body.azure.client_secret')} onChange={(e) => set({ azureClientSecret: e.target.value })} />}
              </Field>
              <Field label="Authority host" error={err('azureAuthorityHost', 'body.azure.authority_host')} help="Default https://login.microsoftonline.com/">
                {(p) => <Input {...p} value={draft.azureAuthorityHost} disabled={ro} invalid={!!err('azureAuthorityHost', 'body.azure.authority_host')} onChange={(e) => set({ azureAuthorityHost: e.target.value })} />}
              </Field>
            </>
          )}
        </ProviderSection>

        <section aria-label="Files" className="grid gap-3 sm:grid-cols-2">
          <Field label="Allowed file roots" error={err('fileRoots', 'body.file_roots')} help="One absolute directory per line (mounted Kubernetes secrets). file:// references outside them are refused; none: all are refused.">
            {(p) => <Textarea {...p} rows={3} value={draft.fileRoots} placeholder="/run/secrets" disabled={ro} invalid={!!err('fileRoots', 'body.file_roots')} onChange={(e) => set({ fileRoots: e.target.value })} />}
          </Field>
          <Field label="Cache resolved values for" error={err('cacheTTL', 'body.cache_ttl')} help="A duration (5m, 30s, 1h); 0 resolves at every opening.">
            {(p) => <Input {...p} className="w-40" value={draft.cacheTTL} disabled={ro} invalid={!!err('cacheTTL', 'body.cache_ttl')} onChange={(e) => set({ cacheTTL: e.target.value })} />}
          </Field>
        </section>

        {editable && (
          <section aria-label="Test a reference" className="rounded-lg border border-slate-200 p-3 dark:border-slate-800">
            <div className="flex flex-wrap items-end gap-2">
              <Field label="Reference to test" className="min-w-64 flex-1" help="Resolved with the settings above, before they are saved. Its value is never shown.">
                {(p) => <Input {...p} value={reference} placeholder="vault://secret/db/orders#password or aws-sm://prod/orders-db#password" onChange={(e) => setReference(e.target.value)} />}
              </Field>
              <Button
                type="button"
                disabled={!reference.trim() || !valid || test.isPending}
                onClick={() => test.mutate({ settings: fromDraft(draft), reference: reference.trim() })}
                className="mb-5"
              >
                {test.isPending ? 'Testing…' : 'Test'}
              </Button>
            </div>
            {test.error && <InlineError error={test.error} />}
            {test.data && (
              <p role="status" className={`flex items-start gap-2 text-sm ${test.data.ok ? 'text-emerald-700 dark:text-emerald-400' : 'text-rose-700 dark:text-rose-400'}`}>
                {test.data.ok ? <CheckCircle2 className="mt-0.5 size-4 shrink-0" aria-hidden /> : <XCircle className="mt-0.5 size-4 shrink-0" aria-hidden />}
                <span className="break-all">{test.data.message}</span>
              </p>
            )}
          </section>
        )}
      </div>
      {editable && (
        <div className="flex flex-wrap items-center justify-end gap-2 border-t border-slate-200 px-5 py-3 dark:border-slate-800">
          {save.error && !fieldMessage(save.error, 'body.vault.address') && (
            <div className="mr-auto"><InlineError error={save.error} /></div>
          )}
          <Button type="submit" variant="primary" disabled={!valid || save.isPending}>
            {save.isPending ? 'Saving…' : 'Save'}
          </Button>
        </div>
      )}
    </form>
  )
}

function Code({ children }: { children: ReactNode }) {
  return <code className="rounded bg-slate-100 px-1 text-xs dark:bg-slate-800">{children}</code>
}

/** One cloud provider: a switch, the reference form it serves, and its fields when on. */
function ProviderSection(props: {
  label: string
  scheme: string
  enabled: boolean
  configured: boolean
  disabled: boolean
  onToggle: (on: boolean) => void
  children: ReactNode
}) {
  return (
    <section aria-label={props.label} className="space-y-3 border-t border-slate-100 pt-4 dark:border-slate-800">
      <label className="flex flex-wrap items-center gap-2 text-sm font-medium">
        <input
          type="checkbox"
          className="size-4 rounded border-slate-300 dark:border-slate-700"
          checked={props.enabled}
          disabled={props.disabled}
          onChange={(e) => props.onToggle(e.target.checked)}
        />
        {props.label}
        {props.configured && <Badge tone="green">configured</Badge>}
        <span className="ml-auto font-mono text-xs font-normal text-slate-500 dark:text-slate-400">{props.scheme}</span>
      </label>
      {props.enabled && <div className="grid gap-3 sm:grid-cols-2">{props.children}</div>}
    </section>
  )
}

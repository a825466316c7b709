import { useMemo, useRef, useState } from 'react'
import { Link, useLocation, useNavigate, useParams } from 'react-router'
import { PlugZap, Trash2, Workflow } from 'lucide-react'
import { Button, Card, ConfirmDialog, ErrorState, InlineError, PageHeader, Skeleton, Tabs } from '@/components/ui'
import { DefinitionList } from '@/components/ui/controls'
import type { SchemaFormHandle } from '@/components/forms/SchemaForm'
import { toast } from '@/components/toasts'
import { useCan } from '@/auth/session'
import { formatTime, relativeTime } from '@/lib/format'
import {
  oauthStatus, secretFields, splitSecrets, useCheckConnector, useConnector, useConnectorTypes, useDeleteConnector, useSaveConnector,
  type Connector, type ConnectorType,
} from '@/features/connectors/connectors'
import { CheckBanner, ConnectorForm, type ConnectorDraft } from '@/features/connectors/ConnectorForm'
import { DiscoverBrowser } from '@/features/connectors/DiscoverBrowser'
import { OAuthConnect } from '@/features/connectors/OAuthConnect'
import { TypeIcon } from '@/features/connectors/TypeIcon'
import { fieldMessage } from '@/features/admin/fieldMessage'
import { RequirePermission } from '@/app/RequireAuth'
import { ManagedBanner } from '@/features/ascode/Managed'

type Tab = 'settings' | 'discover'

export default function ConnectorDetail() {
  return (
    <RequirePermission permission="connectors:read_config">
      <ConnectorPage />
    </RequirePermission>
  )
}

function ConnectorPage() {
  const { id = '' } = useParams()
  const q = useConnector(id)
  const types = useConnectorTypes()
  const type = types.data?.find((t) => t.name === q.data?.type)
  if (q.isPending || types.isPending) {
    return (
      <div className="space-y-4 p-6">
        <Skeleton className="h-16" />
        <Skeleton className="h-96" />
      </div>
    )
  }
  if (q.isError) return <ErrorState error={q.error} retry={() => void q.refetch()} title="The connector could not be loaded" />
  if (types.isError) return <ErrorState error={types.error} retry={() => void types.refetch()} title="Connector types could not be loaded" />
  if (!type) return <ErrorState error={new Error(`unknown connector type "${q.data.type}"`)} title="This connector's type is not available" />
  return <ConnectorView key={q.data.id + q.data.updated_at} connector={q.data} type={type} />
}

function ConnectorView({ connector, type }: { connector: Connector; type: ConnectorType }) {
  const can = useCan()
  const write = can('connectors:write')
  const navigate = useNavigate()
  const location = useLocation()
  const [tab, setTab] = useState<Tab>('settings')
  const secrets = useMemo(() => secretFields(type.config_schema), [type])
  const { data: initialConfig, set, refs } = useMemo(() => splitSecrets(connector.config, secrets), [connector.config, secrets])
  const secretsSet = secrets.filter((s) => set[s])
  const oauth = useMemo(() => oauthStatus(type, connector.config), [type, connector.config])
  const [draft, setDraft] = useState<ConnectorDraft>({ name: connector.name, description: connector.description, config: initialConfig })
  const form = useRef<SchemaFormHandle>(null)
  const save = useSaveConnector()
  const check = useCheckConnector()
  const del = useDeleteConnector()
  const [deleting, setDeleting] = useState(false)
  const fromNew = (location.state as { check?: { ok: boolean; message: string } } | null)?.check
  const checkResult = check.data ?? (check.isError ? { ok: false, message: check.error.message } : check.isIdle ? fromNew : undefined)
  const dirty =
    draft.name !== connector.name || draft.description !== connector.description || JSON.stringify(draft.config) !== JSON.stringify(initialConfig)

  const onSave = () => {
    if (!form.current?.validate()) return
    // Secrets the user did not replace are absent from draft.config: the server keeps them.
    save.mutate(
      { id: connector.id, body: { name: draft.name.trim(), type: connector.type, description: draft.description, config: draft.config } },
      { onSuccess: (c) => toast.success(`Connector ${c.name} saved`) },
    )
  }
  const onTest = () => {
    if (dirty) {
      if (!form.current?.validate()) return
      save.mutate(
        { id: connector.id, body: { name: draft.name.trim(), type: connector.type, description: draft.description, config: draft.config } },
        { onSuccess: () => check.mutate(connector.id) },
      )
    } else {
      check.mutate(connector.id)
    }
  }
  const err = save.error
  const general = err && !fieldMessage(err, 'body.name') && !fieldMessage(err, 'body.config') ? err : null

  return (
    <div>
      <PageHeader
        breadcrumb={<Link to="/connectors" className="hover:underline">Connectors</Link>}
        title={
          <span className="flex items-center gap-3">
            <TypeIcon type={type.name} category={type.category} />
            {connector.name}
          </span>
        }
        description={connector.description || `${type.title} connector`}
        actions={
          <>
            {write && type.checkable !== false && (
              <Button icon={<PlugZap className="size-4" aria-hidden />} onClick={onTest} loading={check.isPending}>
                Test connection
              </Button>
            )}
            {can('pipelines:write') && (
              <Link
                to={`/pipelines/new?source=${encodeURIComponent(connector.id)}`}
                className="inline-flex h-9 items-center gap-1.5 rounded-md bg-brand-50 px-3.5 text-sm font-medium text-brand-700 hover:bg-brand-100 dark:bg-brand-500/10 dark:text-brand-300 dark:hover:bg-brand-500/20"
              >
                <Workflow className="size-4" aria-hidden /> Use in a pipeline
              </Link>
            )}
            {write && (
              <Button variant="ghost" className="text-rose-600 dark:text-rose-400" icon={<Trash2 className="size-4" aria-hidden />} onClick={() => setDeleting(true)}>
                Delete
              </Button>
            )}
          </>
        }
      />
      <div className="mx-auto max-w-6xl space-y-4 p-6">
        <ManagedBanner managed={connector.managed} kind="connector" />
        {checkResult && <CheckBanner result={checkResult} />}
        {oauth && (
          <OAuthConnect connectorId={connector.id} status={oauth} canWrite={write} blockedReason={dirty ? 'Save or discard your changes first' : undefined} />
        )}
        <Tabs<Tab>
          label="Connector"
          value={tab}
          onChange={setTab}
          tabs={[
            { id: 'settings', label: 'Settings' },
            ...(write && type.discoverable !== false ? [{ id: 'discover' as const, label: 'Discover' }] : []),
          ]}
        />
        {tab === 'settings' ? (
          <div className="grid gap-6 lg:grid-cols-[1fr_16rem]">
            <Card className="p-5">
              <form
                // The schema form validates its fields and names each error at the field; the browser's own
                // check would stop at a required field of an optional object (partition.key) left blank.
                noValidate
                onSubmit={(e) => {
                  e.preventDefault()
                  onSave()
                }}
                className="space-y-5"
              >
                <ConnectorForm ref={form} type={type} draft={draft} onChange={setDraft} error={err} secretsSet={secretsSet} secretRefs={refs} readOnly={!write} connectorId={connector.id} />
                {general ? <InlineError error={general} /> : null}
                {write && (
                  <div className="flex items-center justify-end gap-2 border-t border-slate-200 pt-4 dark:border-slate-800">
                    {dirty && <span className="mr-auto text-xs text-amber-600 dark:text-amber-400">Unsaved changes</span>}
                    <Button disabled={!dirty || save.isPending} onClick={() => setDraft({ name: connector.name, description: connector.description, config: initialConfig })}>
                      Discard
                    </Button>
                    <Button type="submit" variant="primary" loading={save.isPending} disabled={!dirty}>
                      Save
                    </Button>
                  </div>
                )}
              </form>
            </Card>
            <Card className="h-fit p-4">
              <DefinitionList
                items={[
                  ['Type', type.title],
                  ['Created', <span key="c" title={formatTime(connector.created_at)}>{relativeTime(connector.created_at)} by {connector.created_by}</span>],
                  ['Updated', <span key="u" title={formatTime(connector.updated_at)}>{relativeTime(connector.updated_at)} by {connector.updated_by}</span>],
                  ...secrets.map((s): [string, React.ReactNode] => [s === 'url' ? 'URL' : s.charAt(0).toUpperCase() + s.slice(1).replaceAll('_', ' '), set[s] ? 'set' : 'not set']),
                ]}
                className="grid-cols-1 gap-y-1 [&_dt]:mt-2 [&_dt]:text-xs"
              />
            </Card>
          </div>
        ) : (
          <Card className="p-5">
            <DiscoverBrowser connector={connector} />
          </Card>
        )}
      </div>
      <ConfirmDialog
        open={deleting}
        title="Delete connector"
        confirmLabel="Delete connector"
        danger
        loading={del.isPending}
        onClose={() => {
          setDeleting(false)
          del.reset()
        }}
        onConfirm={() =>
          del.mutate(connector.id, {
            onSuccess: () => {
              toast.success(`Connector ${connector.name} deleted`)
              navigate('/connectors', { replace: true })
            },
          })
        }
      >
        <p>
          <strong>{connector.name}</strong> and its stored credentials are deleted. Pipelines that name it fail at their next run until
          they name another connector.
        </p>
        {del.error ? <div className="mt-3"><InlineError error={del.error} /></div> : null}
      </ConfirmDialog>
    </div>
  )
}

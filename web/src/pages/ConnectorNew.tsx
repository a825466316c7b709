import { useRef, useState } from 'react'
import { Link, useNavigate, useSearchParams } from 'react-router'
import { useMutation } from '@tanstack/react-query'
import { ArrowLeft, PlugZap } from 'lucide-react'
import { api, unwrap } from '@/api/client'
import { Button, Card, ErrorState, InlineError, PageHeader, Skeleton } from '@/components/ui'
import type { SchemaFormHandle } from '@/components/forms/SchemaForm'
import { toast } from '@/components/toasts'
import { useConnectorTypes, useSaveConnector, type ConnectorType } from '@/features/connectors/connectors'
import { ConnectorForm, type ConnectorDraft } from '@/features/connectors/ConnectorForm'
import { TypeGrid } from '@/features/connectors/TypeGrid'
import { TypeIcon } from '@/features/connectors/TypeIcon'
import { fieldMessage } from '@/features/admin/fieldMessage'

/**
 * /connectors/new: choose a type (grid grouped by category), then fill its generated form. The
 * server checks only saved connectors, so "Test connection" saves first, then tests, and moves on to
 * the connector's page with the result.
 */
export default function ConnectorNew() {
  const [sp, setSp] = useSearchParams()
  const types = useConnectorTypes()
  const typeName = sp.get('type')
  const type = types.data?.find((t) => t.name === typeName)
  return (
    <div>
      <PageHeader
        breadcrumb={<Link to="/connectors" className="hover:underline">Connectors</Link>}
        title={type ? `New ${type.title} connector` : 'New connector'}
        description={type ? type.description : 'Choose what to connect to.'}
      />
      <div className="mx-auto max-w-6xl p-6">
        {types.isPending ? (
          <div className="grid gap-3 sm:grid-cols-2 xl:grid-cols-3">
            {Array.from({ length: 6 }, (_, i) => <Skeleton key={i} className="h-24" />)}
          </div>
        ) : types.isError ? (
          <ErrorState error={types.error} retry={() => void types.refetch()} title="Connector types could not be loaded" />
        ) : type ? (
          <NewConnectorForm key={type.name} type={type} onBack={() => setSp({})} />
        ) : (
          <TypeGrid types={types.data ?? []} onChoose={(t) => setSp({ type: t.name })} />
        )}
      </div>
    </div>
  )
}

function NewConnectorForm({ type, onBack }: { type: ConnectorType; onBack: () => void }) {
  const navigate = useNavigate()
  const form = useRef<SchemaFormHandle>(null)
  const [draft, setDraft] = useState<ConnectorDraft>({ name: '', description: '', config: {} })
  const save = useSaveConnector()
  const saveAndTest = useMutation({
    mutationFn: async (test: boolean) => {
      const c = await save.mutateAsync({ body: { name: draft.name.trim(), type: type.name, description: draft.description || undefined, config: draft.config } })
      const check = test && type.checkable !== false
        ? await unwrap(api.POST('/api/v1/connectors/{id}/check', { params: { path: { id: c.id } } })).catch((e: unknown) => ({ ok: false, message: e instanceof Error ? e.message : String(e) }))
        : undefined
      return { c, check }
    },
    onSuccess: ({ c, check }) => {
      toast.success(`Connector ${c.name} saved`, check ? (check.ok ? 'Connection works' : 'The connection test failed') : undefined)
      navigate(`/connectors/${c.id}`, { replace: true, state: { check } })
    },
  })
  const submit = (test: boolean) => {
    if (!form.current?.validate()) return
    saveAndTest.mutate(test)
  }
  const err = save.error
  const general = err && !fieldMessage(err, 'body.name') && !fieldMessage(err, 'body.config') && !fieldMessage(err, 'body.description') ? err : null
  return (
    <Card>
      <div className="flex items-center gap-3 border-b border-slate-200 px-5 py-4 dark:border-slate-800">
        <TypeIcon type={type.name} category={type.category} size="lg" />
        <div className="min-w-0 flex-1">
          <p className="font-semibold">{type.title}</p>
          <p className="text-xs text-slate-500 dark:text-slate-400">{type.source && type.destination ? 'Source and destination' : type.source ? 'Source' : 'Destination'}</p>
        </div>
        <Button variant="ghost" size="sm" icon={<ArrowLeft className="size-4" aria-hidden />} onClick={onBack}>
          Change type
        </Button>
      </div>
      <form
        // The schema form validates its fields and names each error at the field; the browser's own
        // check would stop at a required field of an optional object (partition.key) left blank.
        noValidate
        className="space-y-5 p-5"
        onSubmit={(e) => {
          e.preventDefault()
          submit(false)
        }}
      >
        <ConnectorForm ref={form} type={type} draft={draft} onChange={setDraft} error={err} />
        {general ? <InlineError error={general} /> : null}
        <div className="flex flex-wrap items-center justify-end gap-2 border-t border-slate-200 pt-4 dark:border-slate-800">
          <p className="mr-auto text-xs text-slate-500 dark:text-slate-400">Test connection saves the connector first. Secrets are encrypted on the server and never shown again.</p>
          <Button onClick={() => navigate('/connectors')}>Cancel</Button>
          {type.checkable !== false && (
            <Button icon={<PlugZap className="size-4" aria-hidden />} loading={saveAndTest.isPending && saveAndTest.variables === true} disabled={saveAndTest.isPending} onClick={() => submit(true)}>
              Test connection
            </Button>
          )}
          <Button type="submit" variant="primary" loading={saveAndTest.isPending && saveAndTest.variables === false} disabled={saveAndTest.isPending}>
            Save
          </Button>
        </div>
      </form>
    </Card>
  )
}

// /pipelines/:id/mapping/:node: the schema-mapping studio for one map node of a saved pipeline.
// It loads the pipeline, previews it (with this node's config emptied, so a broken mapping still
// shows its input) for the source fields and sample rows, asks the destination's Discover for its
// fields when the destination is a saved connector, and saves the node's config back as a new
// version (the YAML is edited in place, so its comments stay).
import { useCallback, useMemo, useState } from 'react'
import { Link, useParams } from 'react-router'
import { useQuery, useQueryClient } from '@tanstack/react-query'
import { ArrowLeft, Save } from 'lucide-react'
import { isMap, isSeq, parseDocument } from 'yaml'
import { api, unwrap } from '@/api/client'
import { Button, Card, EmptyState, ErrorState, InlineError, PageHeader, Skeleton } from '@/components/ui'
import { toast } from '@/components/toasts'
import { useCan } from '@/auth/session'
import { getPipeline, pipelineKeys, previewSpec, updatePipeline } from '@/features/pipelines/api'
import { MappingStudio } from '@/features/mapping/MappingStudio'
import { discoverConnector } from '@/features/mapping/api'
import type { FieldDef, MapConfig } from '@/features/mapping/model'

interface SpecNode {
  id: string
  type?: string
  connector?: string
  stream?: string
  inputs?: string[] | string
  config?: Record<string, unknown>
}

interface Spec {
  transforms?: SpecNode[]
  destinations?: SpecNode[]
}

const inputsOf = (n: SpecNode) => (Array.isArray(n.inputs) ? n.inputs : n.inputs ? [n.inputs] : [])

/** The spec text with the config of transform `node` replaced (comments elsewhere kept). */
export function withNodeConfig(text: string, node: string, config: Record<string, unknown> | null): string {
  const doc = parseDocument(text)
  const list = doc.get('transforms')
  if (!isSeq(list)) throw new Error('the spec has no transforms')
  const idx = list.items.findIndex((it) => isMap(it) && it.get('id') === node)
  if (idx < 0) throw new Error(`no transform "${node}" in the spec`)
  if (config === null || Object.keys(config).length === 0) doc.setIn(['transforms', idx, 'config'], doc.createNode({}))
  else doc.setIn(['transforms', idx, 'config'], doc.createNode(config))
  return doc.toString()
}

export default function PipelineMappingPage() {
  const { id = '', node = '' } = useParams()
  const can = useCan()
  const canEdit = can('pipelines:write')
  const qc = useQueryClient()
  const pipeline = useQuery({ queryKey: pipelineKeys.one(id), queryFn: () => getPipeline(id) })
  const spec = pipeline.data?.spec as Spec | undefined
  const mapNode = spec?.transforms?.find((t) => t.id === node)
  const inputId = mapNode ? inputsOf(mapNode)[0] : undefined
  const text = pipeline.data?.spec_text ?? ''

  // The input of the node: fields and sample rows.
  const input = useQuery({
    queryKey: ['mapping-input', id, pipeline.data?.version, node],
    enabled: !!mapNode && !!text && canEdit,
    queryFn: async () => {
      const p = await previewSpec(withNodeConfig(text, node, null), 20)
      const sample = p.nodes?.find((n) => n.id === inputId)
      if (!sample) throw new Error(`the preview has no node "${inputId}"`)
      return {
        fields: (sample.fields ?? []).map((f) => ({ name: f.name, type: f.type })) as FieldDef[],
        rows: sample.rows ?? [],
      }
    },
  })

  // Destination fields from a saved connector's Discover, when a destination reads this node.
  const dest = spec?.destinations?.find((d) => inputsOf(d).includes(node))
  const discover = useQuery({
    queryKey: ['mapping-discover', dest?.connector, dest?.stream, dest?.config?.table],
    enabled: !!dest?.connector && canEdit,
    retry: false,
    queryFn: async () => {
      const list = await unwrap(api.GET('/api/v1/connectors', {}))
      const items = ((list as { items?: { id: string; name: string }[] | null }).items ?? []) as { id: string; name: string }[]
      const c = items.find((x) => x.name === dest!.connector)
      if (!c) return [] as FieldDef[]
      const streams = await discoverConnector(c.id)
      const want = dest!.stream ?? (dest!.config?.table as string | undefined)
      const s = streams.find((x) => x.name === want || x.name.endsWith(`.${want}`)) ?? (streams.length === 1 ? streams[0] : undefined)
      return (s?.fields ?? []).map((f) => ({ name: f.name, type: f.type })) as FieldDef[]
    },
  })

  const [config, setConfig] = useState<MapConfig | undefined>(undefined)
  const [saving, setSaving] = useState(false)
  const [saveError, setSaveError] = useState<unknown>(null)
  const current = config ?? (mapNode?.config as MapConfig | undefined)
  const dirty = config !== undefined
  const onChange = useCallback((c: MapConfig) => setConfig(c), [])
  const destinationFields = useMemo(() => discover.data ?? [], [discover.data])

  const save = async () => {
    if (!config) return
    setSaving(true)
    setSaveError(null)
    try {
      await updatePipeline(id, withNodeConfig(text, node, config), { comment: `mapping of ${node}` })
      await qc.invalidateQueries({ queryKey: pipelineKeys.one(id) })
      setConfig(undefined)
      toast.success('Mapping saved', `${pipeline.data?.name}: a new version with the mapping of ${node}.`)
    } catch (e) {
      setSaveError(e)
      toast.error('The mapping was not saved')
    } finally {
      setSaving(false)
    }
  }

  const crumb = (
    <span className="flex items-center gap-1">
      <Link to="/pipelines" className="hover:underline">Pipelines</Link>
      <span aria-hidden>/</span>
      {pipeline.data ? <Link to={`/pipelines/${id}`} className="hover:underline">{pipeline.data.name}</Link> : '…'}
    </span>
  )

  if (pipeline.isError) {
    return (
      <div>
        <PageHeader title="Mapping" breadcrumb={crumb} />
        <ErrorState error={pipeline.error} retry={() => void pipeline.refetch()} title="Could not load the pipeline" />
      </div>
    )
  }
  if (pipeline.isPending) {
    return (
      <div>
        <PageHeader title={<Skeleton className="h-6 w-64" />} breadcrumb={crumb} />
        <div className="grid gap-6 p-6 md:grid-cols-2">
          <Skeleton className="h-72" />
          <Skeleton className="h-72" />
        </div>
      </div>
    )
  }
  if (!mapNode || mapNode.type !== 'map') {
    return (
      <div>
        <PageHeader title="Mapping" breadcrumb={crumb} />
        <EmptyState
          title={mapNode ? `"${node}" is a ${mapNode.type ?? 'saved'} node, not a map` : `No transform "${node}" in this pipeline`}
          action={<Link to={`/pipelines/${id}`} className="text-sm font-medium text-brand-600 hover:underline dark:text-brand-400">Open the pipeline</Link>}
        >
          The mapping studio edits map nodes. Add a "Map fields" node after the source in the builder, then open its mapping.
        </EmptyState>
      </div>
    )
  }

  return (
    <div>
      <PageHeader
        breadcrumb={crumb}
        title={
          <span>
            Mapping <span className="font-mono text-brand-700 dark:text-brand-300">{node}</span>
          </span>
        }
        description={
          <>
            From <span className="font-mono">{inputId}</span> to {dest ? <span className="font-mono">{dest.id}</span> : 'the next nodes'} · version {pipeline.data.version}
            {dirty && <span className="ml-2 rounded bg-amber-100 px-1.5 py-0.5 text-xs font-medium text-amber-800 dark:bg-amber-500/10 dark:text-amber-400">unsaved changes</span>}
          </>
        }
        actions={
          <>
            <Link to={`/pipelines/${id}`} className="inline-flex h-9 items-center gap-1.5 rounded-md px-3 text-sm font-medium text-slate-600 hover:bg-slate-100 dark:text-slate-300 dark:hover:bg-slate-800">
              <ArrowLeft className="size-4" aria-hidden /> Pipeline
            </Link>
            {canEdit && (
              <Button variant="primary" icon={<Save className="size-4" aria-hidden />} onClick={save} loading={saving} disabled={!dirty}>
                Save
              </Button>
            )}
          </>
        }
      />
      <div className="space-y-4 p-6">
        {saveError ? <InlineError error={saveError} /> : null}
        {!canEdit ? (
          <Card className="p-6 text-sm text-slate-600 dark:text-slate-300">
            Your role may read this pipeline but not change it; previews need the pipelines:write permission.
          </Card>
        ) : input.isError ? (
          <ErrorState error={input.error} retry={() => void input.refetch()} title={`Could not preview the input of ${node}`} />
        ) : input.isPending ? (
          <div className="grid gap-6 md:grid-cols-2">
            <Skeleton className="h-72" />
            <Skeleton className="h-72" />
          </div>
        ) : (
          <>
            {discover.isError && (
              <p className="text-sm text-amber-700 dark:text-amber-400">
                The destination's fields could not be discovered ({String((discover.error as Error).message)}); type them in.
              </p>
            )}
            <MappingStudio
              key={`${pipeline.data.version}`}
              sourceFields={input.data.fields}
              destinationFields={destinationFields}
              config={current}
              onChange={onChange}
              sampleRows={input.data.rows}
            />
          </>
        )}
      </div>
    </div>
  )
}

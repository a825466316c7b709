// The side panel of the selected node: its id (rename), type, inputs, generated config form with the
// problems of each field, and a data preview (sample rows at this node).
import { useEffect, useState } from 'react'
import { AlertCircle, Eye, Trash2, Waypoints, X } from 'lucide-react'
import { Link } from 'react-router'
import { Badge, Button, Field, IconButton, Input, InlineError, Select, Spinner } from '@/components/ui'
import {
  findNode, inputsOf, kindStyle, removeNode, renameNode, setConfig, typeLabel, updateNode, type PipelineSpec,
} from '@/features/graph'
import type { Schemas } from '@/api/client'
import { cn } from '@/lib/cn'
import { SchemaForm } from '@/components/forms/SchemaForm'
import { useBuilder } from './store'
import { useCan } from '@/auth/session'

export interface NodeProblem {
  field: string
  message: string
}

export function NodePanel({
  spec, id, schema, description, problems, readOnly, sample, previewing, previewError, onPreview, mappingHref,
}: {
  spec: PipelineSpec
  id: string
  schema?: Record<string, unknown>
  description?: string
  problems: NodeProblem[]
  readOnly: boolean
  sample?: Schemas['NodeSample']
  previewing: boolean
  previewError: unknown
  onPreview: () => void
  /** Where the schema-mapping studio of this node is (map transforms of a saved pipeline). */
  mappingHref?: string
}) {
  const loc = findNode(spec, id)
  const canEditConnectors = useCan()('connectors:read')
  const [name, setName] = useState(id)
  const [renameError, setRenameError] = useState<string | null>(null)
  useEffect(() => {
    setName(id)
    setRenameError(null)
  }, [id])
  if (!loc) return null
  const style = kindStyle[loc.kind]
  const Icon = style.icon
  const config = (loc.node.config && typeof loc.node.config === 'object' ? loc.node.config : {}) as Record<string, unknown>
  // Problems at config.<field> show under their field in the form; the others above it.
  const fieldErrors = problems.filter((p) => p.field.startsWith('config.')).map((p) => ({ location: p.field, message: p.message }))
  const other = problems.filter((p) => !p.field.startsWith('config.')).map((p) => (p.field ? `${p.field}: ${p.message}` : p.message))

  const rename = () => {
    if (name === id) return
    const r = renameNode(useBuilder.getState().spec!, id, name)
    if (r.error) setRenameError(r.error)
    else {
      setRenameError(null)
      const pos = useBuilder.getState().positions[id]
      if (pos) useBuilder.getState().moveNode(name, pos)
      useBuilder.getState().applySpec(r.spec)
      useBuilder.getState().select(name)
    }
  }

  return (
    <aside aria-label={`Node ${id}`} className="flex w-[22rem] shrink-0 flex-col border-l border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
      <div className="flex items-center gap-2 border-b border-slate-200 px-4 py-3 dark:border-slate-800">
        <span className={cn('flex size-8 items-center justify-center rounded-md', style.chip)}>
          <Icon className="size-4" aria-hidden />
        </span>
        <div className="min-w-0 flex-1">
          <p className="truncate text-sm font-semibold">{id}</p>
          <p className="truncate text-xs text-slate-500 dark:text-slate-400">
            {style.label} · {typeLabel(loc.node)}
          </p>
        </div>
        {!readOnly && (
          <IconButton
            label={`Delete node ${id}`}
            className="hover:!text-rose-600"
            onClick={() => useBuilder.getState().applySpec(removeNode(useBuilder.getState().spec!, id))}
          >
            <Trash2 className="size-4" aria-hidden />
          </IconButton>
        )}
        <IconButton label="Close panel" onClick={() => useBuilder.getState().select(null)}>
          <X className="size-4" aria-hidden />
        </IconButton>
      </div>
      <div className="flex-1 space-y-5 overflow-y-auto px-4 py-4">
        {description && <p className="text-xs text-slate-500 dark:text-slate-400">{description}</p>}
        <Field label="Node id" error={renameError} help="Other nodes name it in their inputs">
          {(fp) => (
            <Input
              {...fp}
              value={name}
              readOnly={readOnly}
              invalid={!!renameError}
              onChange={(e) => setName(e.target.value)}
              onBlur={rename}
              onKeyDown={(e) => {
                if (e.key === 'Enter') rename()
              }}
            />
          )}
        </Field>
        {loc.kind !== 'source' && (
          <div className="text-sm">
            <p className="mb-1 font-medium text-slate-700 dark:text-slate-300">Inputs</p>
            {inputsOf(loc.node).length ? (
              <div className="flex flex-wrap gap-1">
                {inputsOf(loc.node).map((i) => (
                  <Badge key={i}>{i}</Badge>
                ))}
              </div>
            ) : (
              <p className="text-xs text-slate-500">None yet: drag from another node's right handle to this node.</p>
            )}
          </div>
        )}
        {other.length > 0 && (
          <ul aria-label="Problems of this node" className="space-y-1 rounded-md bg-rose-50 p-2 text-xs text-rose-700 dark:bg-rose-950/40 dark:text-rose-300">
            {other.map((m, i) => (
              <li key={i} className="flex gap-1.5">
                <AlertCircle className="mt-0.5 size-3.5 shrink-0" aria-hidden />
                {m}
              </li>
            ))}
          </ul>
        )}
        {mappingHref && (
          <Link
            to={mappingHref}
            className="flex items-center gap-3 rounded-lg border border-violet-200 bg-violet-50 px-3 py-2.5 text-sm transition hover:border-violet-300 hover:bg-violet-100 dark:border-violet-900 dark:bg-violet-950/40 dark:hover:bg-violet-950"
          >
            <Waypoints className="size-4 shrink-0 text-violet-600 dark:text-violet-300" aria-hidden />
            <span className="min-w-0 flex-1">
              <span className="block font-medium text-violet-900 dark:text-violet-100">Open mapping studio</span>
              <span className="block text-xs text-violet-700/80 dark:text-violet-300/80">Link fields, auto-map, write expressions with a live preview</span>
            </span>
          </Link>
        )}
        {loc.kind === 'destination' && <SchemaChangesField id={id} write={loc.node.write} readOnly={readOnly} />}
        <section aria-label="Configuration" className="space-y-2">
          <h3 className="text-xs font-semibold uppercase tracking-wide text-slate-500 dark:text-slate-400">Configuration</h3>
          {'connector' in loc.node && loc.node.connector && (
            <p className="text-xs text-slate-500 dark:text-slate-400">
              Uses the saved connector <span className="font-medium text-slate-700 dark:text-slate-300">{loc.node.connector}</span>: where to
              connect and the credentials are kept there ({canEditConnectors ? <Link className="text-brand-600 hover:underline dark:text-brand-400" to="/connectors">Connectors</Link> : 'Connectors'}).
              {schema ? ' What this pipeline reads or writes through it is set here; empty fields take the connector\'s values.' : ''}
            </p>
          )}
          {loc.node.type || ('connector' in loc.node && loc.node.connector && schema) ? (
            <SchemaForm
              key={id}
              idPrefix={`node-${id}`}
              schema={schema ?? { type: 'object' }}
              value={config}
              errors={fieldErrors}
              errorPrefix="config"
              readOnly={readOnly}
              onChange={(v) => {
                const s = useBuilder.getState().spec
                if (s && JSON.stringify(v) !== JSON.stringify(findNode(s, id)?.node.config ?? {})) useBuilder.getState().applySpec(setConfig(s, id, v))
              }}
            />
          ) : 'connector' in loc.node && loc.node.connector ? null : (
            <p className="text-sm text-slate-500">This node uses a saved transformation; edit it there.</p>
          )}
        </section>
        <section aria-label="Data preview" className="space-y-2">
          <div className="flex items-center justify-between">
            <h3 className="text-xs font-semibold uppercase tracking-wide text-slate-500 dark:text-slate-400">Data preview</h3>
            <Button size="sm" icon={<Eye className="size-3.5" aria-hidden />} onClick={onPreview} loading={previewing}>
              Preview
            </Button>
          </div>
          {previewError ? <InlineError error={previewError} /> : null}
          {previewing && !sample && <Spinner label="Reading sample rows" />}
          {sample && <SampleTable sample={sample} />}
        </section>
      </div>
    </aside>
  )
}

/** The destination's schema-change policy (write.schema_changes; see docs/schema-changes.md). */
export const SCHEMA_POLICIES = [
  { id: 'evolve', label: 'Evolve', help: 'Add new columns and widen types; stop on anything else (the default).' },
  { id: 'fail', label: 'Fail', help: 'Stop the run before writing when the schema changed in any way.' },
  { id: 'quarantine', label: 'Quarantine', help: 'Write the rows that still fit; rows with new or incompatible values go to the dead letters.' },
  { id: 'review', label: 'Review', help: 'Pause the run "Awaiting approval" until a designer approves or rejects the changes.' },
] as const

function SchemaChangesField({ id, write, readOnly }: { id: string; write: unknown; readOnly: boolean }) {
  const w = (write && typeof write === 'object' ? write : {}) as Record<string, unknown>
  const value = typeof w.schema_changes === 'string' ? w.schema_changes : 'evolve'
  const policy = SCHEMA_POLICIES.find((p) => p.id === value)
  return (
    <Field label="Schema changes" help={policy?.help ?? 'What a run does when the source schema changed.'}>
      {(fp) => (
        <Select
          {...fp}
          value={value}
          disabled={readOnly}
          onChange={(e) => {
            const s = useBuilder.getState().spec
            if (!s) return
            const next: Record<string, unknown> = { ...w, schema_changes: e.target.value }
            if (e.target.value === 'evolve') delete next.schema_changes
            useBuilder.getState().applySpec(updateNode(s, id, { write: Object.keys(next).length ? next : undefined }))
          }}
        >
          {SCHEMA_POLICIES.map((p) => (
            <option key={p.id} value={p.id}>{p.label}</option>
          ))}
        </Select>
      )}
    </Field>
  )
}

function SampleTable({ sample }: { sample: Schemas['NodeSample'] }) {
  const rows = sample.rows ?? []
  const cols = (sample.fields ?? []).map((f) => f.name)
  const names = cols.length ? cols : Object.keys(rows[0] ?? {})
  return (
    <div className="space-y-1">
      <p className="text-xs text-slate-500 dark:text-slate-400">
        {rows.length} sample row{rows.length === 1 ? '' : 's'}
        {sample.rejects?.length ? ` · ${sample.rejects.length} rejected` : ''}
      </p>
      {rows.length > 0 && (
        <div className="max-h-72 overflow-auto rounded-md border border-slate-200 dark:border-slate-700">
          <table aria-label={`Sample rows at ${sample.id}`} className="min-w-full text-xs">
            <thead className="sticky top-0 bg-slate-50 dark:bg-slate-800">
              <tr>
                {names.map((n) => (
                  <th key={n} scope="col" className="whitespace-nowrap px-2 py-1 text-left font-semibold text-slate-600 dark:text-slate-300">
                    {n}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
              {rows.map((r, i) => (
                <tr key={i}>
                  {names.map((n) => (
                    <td key={n} className="whitespace-nowrap px-2 py-1 font-mono text-slate-700 dark:text-slate-300">
                      {r[n] === null || r[n] === undefined ? <span className="text-slate-400">null</span> : typeof r[n] === 'object' ? JSON.stringify(r[n]) : String(r[n])}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  )
}

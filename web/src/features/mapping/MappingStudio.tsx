// The schema-mapping studio: source fields on the left, destination fields on the right; drag a
// source field onto a destination field (or pick it in the field's "Source of" list) to connect
// them, "Auto-map" to get suggestions (POST /mappings/suggest) to accept one by one or all, or give
// a destination field an expression (CodeMirror, autocomplete of fields and functions) with a live
// preview on sample rows (POST /transformations/preview). Type mismatches are flagged as you map.
//
// It edits a map node's config (docs/transformations.md "map"; model.ts says how):
//
//   <MappingStudio
//     sourceFields={[{ name: 'CustID', type: 'string' }]}   // the map node's input, from a preview
//     destinationFields={[{ name: 'customer_id', type: 'int' }]} // Discover of the destination, or []
//     config={node.config} onChange={(cfg) => setConfig(cfg)}   // the map node's config
//     sampleRows={preview.rows} />                              // input rows for the live preview
//
// The builder opens it in a dialog or links to /pipelines/:id/mapping/:node (pages/PipelineMapping.tsx).
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type DragEvent } from 'react'
import { useQuery } from '@tanstack/react-query'
import { AlertTriangle, ArrowRight, Check, CircleAlert, Code2, GripVertical, Link2Off, Plus, Sparkles, Trash2, X } from 'lucide-react'
import { Badge, Button, IconButton, Input, Select, Spinner } from '@/components/ui'
import { errorMessage, ApiError } from '@/api/errors'
import { cn } from '@/lib/cn'
import { toast } from '@/components/toasts'
import { ExpressionEditor } from './ExpressionEditor'
import { listExpressionFunctions, previewMap, suggestMappings, type TransformPreview } from './api'
import {
  KINDS, acceptAll, acceptSuggestion, addDestination, connect, disconnect, fromConfig, problems, removeDestination,
  setDestinationType, setExpression, toConfig, type FieldDef, type Link, type MapConfig, type MappingState, type Suggestion,
} from './model'

export interface MappingStudioProps {
  /** The fields of the map node's input (name, type), e.g. from POST /pipelines/preview of its input node. */
  sourceFields: FieldDef[]
  /** Destination fields known beforehand (the destination's Discover, or none); more can be typed in. */
  destinationFields?: FieldDef[]
  /** The map node's current config. */
  config: MapConfig | undefined
  /** Called with the whole new map config after every edit. */
  onChange: (config: MapConfig) => void
  /** Sample input rows (objects keyed by source field) for the live preview. */
  sampleRows?: Record<string, unknown>[]
  readOnly?: boolean
}

const PREVIEW_ROWS = 5

export function MappingStudio({ sourceFields, destinationFields = [], config, onChange, sampleRows = [], readOnly }: MappingStudioProps) {
  const [state, setState] = useState<MappingState>(() => fromConfig(config, sourceFields, destinationFields))
  const [selected, setSelected] = useState<string | null>(null)
  const configRef = useRef(config)
  configRef.current = config

  // Destination fields that arrive later (Discover) join the list.
  useEffect(() => {
    setState((s) => destinationFields.reduce((acc, f) => addDestination(acc, f), s))
  }, [destinationFields])

  const update = useCallback(
    (next: MappingState) => {
      setState(next)
      onChange(toConfig(next, sourceFields, configRef.current ?? {}))
    },
    [onChange, sourceFields],
  )

  const functions = useQuery({ queryKey: ['expression-functions'], queryFn: listExpressionFunctions, staleTime: Infinity })
  const fieldProblems = useMemo(() => problems(state, sourceFields), [state, sourceFields])
  const mapped = state.destination.filter((d) => state.links[d.name]).length
  const errorsCount = Object.values(fieldProblems).filter((p) => p.level === 'error').length

  // Live preview of the whole map on the sample rows, debounced.
  const currentConfig = useMemo(() => toConfig(state, sourceFields, config ?? {}), [state, sourceFields, config])
  const preview = usePreview(currentConfig, sampleRows, mapped > 0)

  // Auto-map.
  const [suggestions, setSuggestions] = useState<Suggestion[] | null>(null)
  const [suggesting, setSuggesting] = useState(false)
  const [suggestError, setSuggestError] = useState<unknown>(null)
  const autoMap = async () => {
    setSuggesting(true)
    setSuggestError(null)
    try {
      const sg = await suggestMappings(sourceFields, state.destination)
      setSuggestions(sg)
      if (!sg.length) toast.info('No suggestions: no source field resembles a destination field.')
    } catch (e) {
      setSuggestError(e)
    } finally {
      setSuggesting(false)
    }
  }
  const pending = (suggestions ?? []).filter((sg) => {
    const l = state.links[sg.destination]
    return !(l && l.kind === 'field' && l.source === sg.source)
  })

  // Drawing the links.
  const box = useRef<HTMLDivElement>(null)
  const [paths, setPaths] = useState<Array<{ key: string; d: string; tone: 'ok' | 'warn' | 'error' | 'expr'; active: boolean }>>([])
  const draw = useCallback(() => {
    const el = box.current
    if (!el) return
    const base = el.getBoundingClientRect()
    const out: typeof paths = []
    for (const d of state.destination) {
      const l = state.links[d.name]
      if (!l) continue
      const dst = el.querySelector<HTMLElement>(`[data-dst="${CSS.escape(d.name)}"]`)
      if (!dst) continue
      const sources = l.kind === 'field' ? [l.source] : referencedFields(l.expression, sourceFields)
      for (const s of sources) {
        const src = el.querySelector<HTMLElement>(`[data-src="${CSS.escape(s)}"]`)
        if (!src) continue
        const a = src.getBoundingClientRect()
        const b = dst.getBoundingClientRect()
        const x1 = a.right - base.left
        const y1 = a.top + a.height / 2 - base.top
        const x2 = b.left - base.left
        const y2 = b.top + b.height / 2 - base.top
        const mid = (x1 + x2) / 2
        const p = fieldProblems[d.name]
        out.push({
          key: `${s}->${d.name}`,
          d: `M ${x1} ${y1} C ${mid} ${y1}, ${mid} ${y2}, ${x2} ${y2}`,
          tone: l.kind === 'expr' ? 'expr' : p?.level === 'error' ? 'error' : p ? 'warn' : 'ok',
          active: selected === d.name,
        })
      }
    }
    setPaths(out)
  }, [state, sourceFields, fieldProblems, selected])
  useLayoutEffect(() => {
    draw()
  }, [draw])
  useEffect(() => {
    const el = box.current
    if (!el || typeof ResizeObserver === 'undefined') return
    const ro = new ResizeObserver(() => draw())
    ro.observe(el)
    return () => ro.disconnect()
  }, [draw])

  // Drag and drop.
  const [dragOver, setDragOver] = useState<string | null>(null)
  const onDrop = (dst: string) => (e: DragEvent) => {
    e.preventDefault()
    setDragOver(null)
    const src = e.dataTransfer.getData('text/x-source-field') || e.dataTransfer.getData('text/plain')
    if (src && sourceFields.some((f) => f.name === src)) {
      update(connect(state, src, dst))
      setSelected(dst)
    }
  }

  const [newName, setNewName] = useState('')
  const [newType, setNewType] = useState('')
  const addField = () => {
    const name = newName.trim()
    if (!name) return
    if (state.destination.some((d) => d.name === name)) {
      toast.error(`A destination field "${name}" exists already.`)
      return
    }
    update(addDestination(state, { name, type: newType || undefined }))
    setNewName('')
  }

  const sel = selected ? state.destination.find((d) => d.name === selected) : undefined
  const selLink = sel ? state.links[sel.name] : undefined

  return (
    <div className="space-y-4">
      {/* Toolbar */}
      <div className="flex flex-wrap items-center gap-2">
        <Button variant="primary" icon={<Sparkles className="size-4" aria-hidden />} onClick={autoMap} loading={suggesting} disabled={readOnly || !sourceFields.length || !state.destination.length}>
          Auto-map
        </Button>
        <Button
          icon={<Plus className="size-4" aria-hidden />}
          disabled={readOnly || !sourceFields.length}
          onClick={() => update(sourceFields.reduce((s, f) => addDestination(s, { name: f.name, type: f.type }), state))}
          title="Add every source field as a destination field of the same name and type"
        >
          Add source fields
        </Button>
        <div className="ml-auto flex items-center gap-2 text-sm text-slate-500 dark:text-slate-400" aria-live="polite">
          <span>
            <strong className="font-semibold text-slate-900 dark:text-slate-100">{mapped}</strong> of {state.destination.length} destination fields mapped
          </span>
          {errorsCount > 0 && <Badge tone="red">{errorsCount} type {errorsCount === 1 ? 'problem' : 'problems'}</Badge>}
        </div>
      </div>
      {suggestError ? <p role="alert" className="text-sm text-rose-600 dark:text-rose-400">{errorMessage(suggestError)}</p> : null}

      {/* Suggestions */}
      {suggestions && pending.length > 0 && (
        <section aria-label="Suggestions" className="rounded-xl border border-brand-200 bg-brand-50/60 p-3 dark:border-brand-500/30 dark:bg-brand-500/5">
          <div className="mb-2 flex items-center gap-2">
            <Sparkles className="size-4 text-brand-600 dark:text-brand-300" aria-hidden />
            <h3 className="text-sm font-semibold">{pending.length} {pending.length === 1 ? 'suggestion' : 'suggestions'}</h3>
            <div className="ml-auto flex gap-2">
              <Button size="sm" variant="primary" icon={<Check className="size-3.5" aria-hidden />} onClick={() => { update(acceptAll(state, pending)); setSuggestions(null) }}>
                Accept all
              </Button>
              <IconButton label="Dismiss suggestions" onClick={() => setSuggestions(null)}>
                <X className="size-4" aria-hidden />
              </IconButton>
            </div>
          </div>
          <ul className="divide-y divide-brand-100 dark:divide-slate-800">
            {pending.map((sg) => (
              <li key={`${sg.source}->${sg.destination}`} className="flex flex-wrap items-center gap-x-3 gap-y-1 py-2 text-sm">
                <code className="font-mono text-[13px]">{sg.source}</code>
                <ArrowRight className="size-3.5 text-slate-400" aria-hidden />
                <code className="font-mono text-[13px] font-semibold">{sg.destination}</code>
                <Badge tone={sg.confidence >= 0.85 ? 'green' : sg.confidence >= 0.6 ? 'blue' : 'amber'}>{Math.round(sg.confidence * 100)}%</Badge>
                {sg.type_compatible === false && <Badge tone="red">types incompatible</Badge>}
                <span className="min-w-0 flex-1 text-xs text-slate-500 dark:text-slate-400">{sg.reason}</span>
                <Button size="sm" onClick={() => update(acceptSuggestion(state, sg))} aria-label={`Accept ${sg.source} to ${sg.destination}`}>
                  Accept
                </Button>
              </li>
            ))}
          </ul>
        </section>
      )}

      {/* Two columns and the links between them */}
      <div ref={box} className="relative grid grid-cols-[minmax(0,1fr)_4rem_minmax(0,1.4fr)] gap-0 md:grid-cols-[minmax(0,1fr)_7rem_minmax(0,1.4fr)]">
        <svg className="pointer-events-none absolute inset-0 size-full overflow-visible" aria-hidden>
          {paths.map((p) => (
            <path
              key={p.key}
              d={p.d}
              fill="none"
              strokeWidth={p.active ? 2.5 : 1.75}
              strokeDasharray={p.tone === 'expr' ? '4 4' : undefined}
              className={cn(
                p.tone === 'ok' && 'stroke-brand-500',
                p.tone === 'expr' && 'stroke-violet-500',
                p.tone === 'warn' && 'stroke-amber-500',
                p.tone === 'error' && 'stroke-rose-500',
                !p.active && 'opacity-70',
              )}
            />
          ))}
        </svg>

        <section aria-label="Source fields" className="space-y-1.5">
          <h3 className="mb-2 text-xs font-semibold uppercase tracking-wide text-slate-500 dark:text-slate-400">Source fields</h3>
          {sourceFields.length === 0 && <p className="text-sm text-slate-500">The input has no fields yet. Preview the pipeline's source first.</p>}
          {sourceFields.map((f) => (
            <div
              key={f.name}
              data-src={f.name}
              draggable={!readOnly}
              onDragStart={(e) => {
                e.dataTransfer.setData('text/x-source-field', f.name)
                e.dataTransfer.setData('text/plain', f.name)
                e.dataTransfer.effectAllowed = 'link'
              }}
              aria-label={`Source field ${f.name}`}
              className={cn(
                'flex h-10 items-center gap-2 rounded-lg border border-slate-200 bg-white px-2.5 text-sm shadow-sm dark:border-slate-700 dark:bg-slate-900',
                !readOnly && 'cursor-grab active:cursor-grabbing hover:border-brand-400',
              )}
            >
              <GripVertical className="size-3.5 shrink-0 text-slate-400" aria-hidden />
              <span className="truncate font-mono text-[13px]">{f.name}</span>
              <TypeBadge type={f.type} />
            </div>
          ))}
        </section>

        <div />

        <section aria-label="Destination fields" className="space-y-1.5">
          <h3 className="mb-2 text-xs font-semibold uppercase tracking-wide text-slate-500 dark:text-slate-400">Destination fields</h3>
          {state.destination.length === 0 && (
            <p className="rounded-lg border border-dashed border-slate-300 p-4 text-sm text-slate-500 dark:border-slate-700 dark:text-slate-400">
              No destination fields yet. Add them below (or "Add source fields"), then connect or Auto-map.
            </p>
          )}
          {state.destination.map((d) => (
            <DestinationRow
              key={d.name}
              field={d}
              link={state.links[d.name]}
              sourceFields={sourceFields}
              problem={fieldProblems[d.name]}
              selected={selected === d.name}
              dragOver={dragOver === d.name}
              readOnly={readOnly}
              onSelect={() => setSelected(d.name)}
              onDragOver={(e) => {
                if (readOnly) return
                e.preventDefault()
                e.dataTransfer.dropEffect = 'link'
                setDragOver(d.name)
              }}
              onDragLeave={() => setDragOver((x) => (x === d.name ? null : x))}
              onDrop={onDrop(d.name)}
              onSource={(v) => {
                if (v === '') update(disconnect(state, d.name))
                else if (v === '__expr__') {
                  const l = state.links[d.name]
                  update(setExpression(state, d.name, l?.kind === 'field' ? l.source : l?.kind === 'expr' ? l.expression : ''))
                  setSelected(d.name)
                } else update(connect(state, v, d.name))
              }}
              onType={(t) => update(setDestinationType(state, d.name, t))}
              onRemove={() => {
                update(removeDestination(state, d.name))
                if (selected === d.name) setSelected(null)
              }}
            />
          ))}
          {!readOnly && (
            <form
              className="flex items-center gap-2 pt-2"
              onSubmit={(e) => {
                e.preventDefault()
                addField()
              }}
            >
              <Input aria-label="New destination field" placeholder="New destination field" value={newName} onChange={(e) => setNewName(e.target.value)} className="font-mono text-[13px]" />
              <div className="w-28 shrink-0">
                <Select aria-label="Type of the new field" value={newType} onChange={(e) => setNewType(e.target.value)} className="font-mono text-[12px]">
                  <option value="">any type</option>
                  {KINDS.map((k) => <option key={k} value={k}>{k}</option>)}
                </Select>
              </div>
              <Button type="submit" className="shrink-0" icon={<Plus className="size-4" aria-hidden />} disabled={!newName.trim()}>
                Add field
              </Button>
            </form>
          )}
        </section>
      </div>

      {/* The selected field: its expression and its values on the sample rows */}
      {sel && (
        <section aria-label={`Field ${sel.name}`} className="rounded-xl border border-slate-200 bg-white p-4 shadow-sm dark:border-slate-800 dark:bg-slate-900">
          <div className="mb-3 flex flex-wrap items-center gap-2">
            <h3 className="font-mono text-sm font-semibold">{sel.name}</h3>
            <TypeBadge type={sel.type} />
            {selLink?.kind === 'field' && <span className="text-sm text-slate-500">from <code className="font-mono">{selLink.source}</code></span>}
            {selLink?.kind !== 'expr' && !readOnly && (
              <Button size="sm" variant="subtle" className="ml-auto" icon={<Code2 className="size-3.5" aria-hidden />}
                onClick={() => update(setExpression(state, sel.name, selLink?.kind === 'field' ? selLink.source : ''))}>
                Use an expression
              </Button>
            )}
          </div>
          {selLink?.kind === 'expr' && (
            <div className="space-y-1">
              <label className="text-sm font-medium text-slate-700 dark:text-slate-300">Expression</label>
              <ExpressionEditor
                label={`Expression for ${sel.name}`}
                value={selLink.expression}
                onChange={(v) => update(setExpression(state, sel.name, v))}
                fields={sourceFields}
                functions={functions.data ?? []}
                invalid={!!preview.fieldError(sel.name)}
                readOnly={readOnly}
              />
              <p className="text-xs text-slate-500 dark:text-slate-400">
                Over the source fields; Ctrl-Space lists fields and functions ({functions.data?.length ?? '…'} functions, see docs/expressions.md).
              </p>
            </div>
          )}
          {preview.fieldError(sel.name) && (
            <p role="alert" className="mt-2 flex items-start gap-1.5 text-sm text-rose-600 dark:text-rose-400">
              <CircleAlert className="mt-0.5 size-4 shrink-0" aria-hidden />
              {preview.fieldError(sel.name)}
            </p>
          )}
          {fieldProblems[sel.name] && (
            <p className={cn('mt-2 flex items-start gap-1.5 text-sm', fieldProblems[sel.name].level === 'error' ? 'text-rose-600 dark:text-rose-400' : 'text-amber-700 dark:text-amber-400')}>
              <AlertTriangle className="mt-0.5 size-4 shrink-0" aria-hidden />
              {fieldProblems[sel.name].message}
            </p>
          )}
          {selLink && sampleRows.length > 0 && (
            <SampleValues name={sel.name} link={selLink} rows={sampleRows} preview={preview.data} loading={preview.loading} />
          )}
        </section>
      )}

      {/* The whole output on the sample rows */}
      <section aria-label="Preview" className="rounded-xl border border-slate-200 bg-white shadow-sm dark:border-slate-800 dark:bg-slate-900">
        <div className="flex items-center gap-2 border-b border-slate-200 px-4 py-2.5 dark:border-slate-800">
          <h3 className="text-sm font-semibold">Preview</h3>
          <span className="text-xs text-slate-500">the mapped fields of the first {Math.min(PREVIEW_ROWS, sampleRows.length)} sample rows</span>
          {preview.loading && <span className="ml-auto text-xs text-slate-400">updating…</span>}
        </div>
        {!sampleRows.length ? (
          <p className="px-4 py-6 text-sm text-slate-500">No sample rows: the preview needs the source to return rows.</p>
        ) : !mapped ? (
          <p className="px-4 py-6 text-sm text-slate-500">Connect a field to see the output.</p>
        ) : preview.error ? (
          <p role="alert" className="px-4 py-4 text-sm text-rose-600 dark:text-rose-400">{errorMessage(preview.error)}</p>
        ) : preview.data ? (
          <PreviewTable preview={preview.data} />
        ) : (
          <Spinner label="Previewing" />
        )}
      </section>
    </div>
  )
}

function TypeBadge({ type }: { type?: string }) {
  return (
    <span className="ml-auto shrink-0 rounded bg-slate-100 px-1.5 py-0.5 font-mono text-[11px] text-slate-600 dark:bg-slate-800 dark:text-slate-300">
      {type ?? 'any'}
    </span>
  )
}

function DestinationRow({
  field, link, sourceFields, problem, selected, dragOver, readOnly, onSelect, onDragOver, onDragLeave, onDrop, onSource, onType, onRemove,
}: {
  field: FieldDef
  link?: Link
  sourceFields: FieldDef[]
  problem?: { level: 'error' | 'warning'; message: string }
  selected: boolean
  dragOver: boolean
  readOnly?: boolean
  onSelect: () => void
  onDragOver: (e: DragEvent) => void
  onDragLeave: () => void
  onDrop: (e: DragEvent) => void
  onSource: (v: string) => void
  onType: (t: string) => void
  onRemove: () => void
}) {
  const value = !link ? '' : link.kind === 'expr' ? '__expr__' : link.source
  const missing = link?.kind === 'field' && !sourceFields.some((f) => f.name === link.source)
  return (
    <div
      data-dst={field.name}
      onDragOver={onDragOver}
      onDragLeave={onDragLeave}
      onDrop={onDrop}
      onClick={onSelect}
      className={cn(
        'flex min-h-10 items-center gap-2 rounded-lg border bg-white px-2 py-1 text-sm shadow-sm transition-colors dark:bg-slate-900',
        selected ? 'border-brand-500 ring-1 ring-brand-500' : 'border-slate-200 dark:border-slate-700',
        dragOver && 'border-brand-500 bg-brand-50 dark:bg-brand-500/10',
        problem?.level === 'error' && !selected && 'border-rose-300 dark:border-rose-800',
      )}
    >
      <button
        type="button"
        onClick={onSelect}
        aria-pressed={selected}
        aria-label={`Field ${field.name}`}
        className="min-w-0 flex-1 truncate rounded text-left font-mono text-[13px] font-medium focus-visible:outline-2 focus-visible:outline-brand-500"
      >
        {field.name}
      </button>
      {problem && (
        <span title={problem.message} className={problem.level === 'error' ? 'text-rose-500' : 'text-amber-500'}>
          <AlertTriangle className="size-4" aria-label={problem.message} />
        </span>
      )}
      <select
        aria-label={`Type of ${field.name}`}
        value={field.type ?? ''}
        disabled={readOnly}
        onChange={(e) => onType(e.target.value)}
        onClick={(e) => e.stopPropagation()}
        className="h-7 w-24 rounded-md border-0 bg-slate-50 px-1.5 font-mono text-[11px] text-slate-600 ring-1 ring-inset ring-slate-200 focus:ring-2 focus:ring-brand-500 dark:bg-slate-800 dark:text-slate-300 dark:ring-slate-700"
      >
        <option value="">any</option>
        {KINDS.map((k) => <option key={k} value={k}>{k}</option>)}
      </select>
      <select
        aria-label={`Source of ${field.name}`}
        value={value}
        disabled={readOnly}
        onChange={(e) => onSource(e.target.value)}
        onClick={(e) => e.stopPropagation()}
        className={cn(
          'h-7 w-36 rounded-md border-0 px-1.5 font-mono text-[12px] ring-1 ring-inset focus:ring-2 focus:ring-brand-500 dark:bg-slate-800',
          link ? 'bg-brand-50 text-brand-800 ring-brand-200 dark:text-brand-200 dark:ring-brand-500/40' : 'bg-white text-slate-500 ring-slate-200 dark:ring-slate-700',
        )}
      >
        <option value="">not mapped</option>
        {missing && <option value={link.source}>{link.source} (missing)</option>}
        {sourceFields.map((f) => <option key={f.name} value={f.name}>{f.name}</option>)}
        <option value="__expr__">ƒ expression…</option>
      </select>
      {!readOnly && (
        <>
          {link && (
            <IconButton label={`Disconnect ${field.name}`} className="size-7" onClick={(e) => { e.stopPropagation(); onSource('') }}>
              <Link2Off className="size-3.5" aria-hidden />
            </IconButton>
          )}
          <IconButton label={`Remove ${field.name}`} className="size-7" onClick={(e) => { e.stopPropagation(); onRemove() }}>
            <Trash2 className="size-3.5" aria-hidden />
          </IconButton>
        </>
      )}
    </div>
  )
}

function SampleValues({ name, link, rows, preview, loading }: { name: string; link: Link; rows: Record<string, unknown>[]; preview?: TransformPreview; loading: boolean }) {
  const inputs = link.kind === 'field' ? [link.source] : []
  const out = preview?.rows ?? []
  const rejects = (preview?.rejects ?? []).filter((r) => !r.field || r.field === name)
  return (
    <div className="mt-3">
      <h4 className="mb-1 text-xs font-semibold uppercase tracking-wide text-slate-500">Values on the sample rows {loading && <span className="font-normal normal-case">(updating…)</span>}</h4>
      <table aria-label={`Sample values of ${name}`} className="w-full text-left text-sm">
        <thead>
          <tr className="text-xs text-slate-500">
            <th className="py-1 pr-3 font-medium">#</th>
            {inputs.map((i) => <th key={i} className="py-1 pr-3 font-mono font-medium">{i}</th>)}
            <th className="py-1 font-mono font-medium">{name}</th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
          {rows.slice(0, PREVIEW_ROWS).map((r, i) => (
            <tr key={i}>
              <td className="py-1 pr-3 text-xs text-slate-400 tabular-nums">{i + 1}</td>
              {inputs.map((f) => <td key={f} className="py-1 pr-3 font-mono text-[13px]">{show(r[f])}</td>)}
              <td className="py-1 font-mono text-[13px] font-medium">{out[i] ? show(out[i][name]) : '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {rejects.length > 0 && (
        <ul className="mt-2 space-y-0.5 text-xs text-rose-600 dark:text-rose-400">
          {rejects.slice(0, 3).map((r, i) => <li key={i}>Row {r.pos ?? '?'} rejected: {r.reason}</li>)}
        </ul>
      )}
    </div>
  )
}

function PreviewTable({ preview }: { preview: TransformPreview }) {
  const fields = preview.fields ?? []
  const rows = (preview.rows ?? []).slice(0, PREVIEW_ROWS)
  return (
    <div className="overflow-x-auto">
      <table aria-label="Preview of the mapped rows" className="min-w-full divide-y divide-slate-200 text-sm dark:divide-slate-800">
        <thead>
          <tr>
            {fields.map((f) => (
              <th key={f.name} scope="col" className="px-4 py-2 text-left">
                <span className="font-mono text-[13px] font-semibold">{f.name}</span>{' '}
                <span className="font-mono text-[11px] font-normal text-slate-400">{f.type}</span>
              </th>
            ))}
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
          {rows.map((r, i) => (
            <tr key={i}>
              {fields.map((f) => <td key={f.name} className="px-4 py-1.5 font-mono text-[13px]">{show(r[f.name])}</td>)}
            </tr>
          ))}
        </tbody>
      </table>
      {(preview.rejects?.length ?? 0) > 0 && (
        <p className="border-t border-slate-200 px-4 py-2 text-xs text-amber-700 dark:border-slate-800 dark:text-amber-400">
          {preview.rejects!.length} of the sample rows would be rejected: {preview.rejects![0].field ? `${preview.rejects![0].field}: ` : ''}{preview.rejects![0].reason}
        </p>
      )}
    </div>
  )
}

function show(v: unknown): string {
  if (v === null || v === undefined) return 'null'
  if (typeof v === 'object') return JSON.stringify(v)
  return String(v)
}

/** The source fields an expression names (identifiers equal to a field name). */
export function referencedFields(expression: string, fields: FieldDef[]): string[] {
  const words = new Set(expression.match(/[A-Za-z_][A-Za-z0-9_]*/g) ?? [])
  return fields.map((f) => f.name).filter((n) => words.has(n))
}

/** Previews config on rows (debounced); maps an error located in expressions[i] to its field. */
function usePreview(config: MapConfig, rows: Record<string, unknown>[], enabled: boolean) {
  const [data, setData] = useState<TransformPreview | undefined>()
  const [error, setError] = useState<unknown>(null)
  const [loading, setLoading] = useState(false)
  const key = JSON.stringify(config)
  useEffect(() => {
    if (!enabled || !rows.length) return
    const ctl = new AbortController()
    const t = setTimeout(() => {
      setLoading(true)
      previewMap(JSON.parse(key) as MapConfig, rows.slice(0, PREVIEW_ROWS), ctl.signal)
        .then((d) => {
          setData(d)
          setError(null)
        })
        .catch((e) => {
          if (ctl.signal.aborted) return
          setError(e)
        })
        .finally(() => {
          if (!ctl.signal.aborted) setLoading(false)
        })
    }, 350)
    return () => {
      clearTimeout(t)
      ctl.abort()
    }
  }, [key, rows, enabled])
  const fieldError = (name: string | null): string | null => {
    if (!(error instanceof ApiError)) return null
    const exprs = (JSON.parse(key) as MapConfig).expressions ?? []
    for (const e of error.problem.errors ?? []) {
      const m = /expressions\[(\d+)\]/.exec(e.location ?? '')
      if (m && (name === null || exprs[Number(m[1])]?.name === name)) return e.message ?? error.message
    }
    return null
  }
  return { data, error, loading, fieldError }
}

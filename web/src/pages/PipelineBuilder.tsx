// /pipelines/new and /pipelines/:id: the visual builder (its own lazy chunk). Palette | canvas or YAML
// (one spec, two-way) with the problems list | the selected node's panel. Validation runs as you type
// (debounced POST /pipelines/validate); Save makes a new version; Run saves when needed, then opens the run.
import { lazy, Suspense, useCallback, useEffect, useMemo, useRef, useState } from 'react'
import { Link, useBlocker, useLocation, useNavigate, useParams } from 'react-router'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { ReactFlowProvider, useReactFlow } from '@xyflow/react'
import { CalendarClock, ChevronRight, History, LayoutDashboard, Play, Save, Zap } from 'lucide-react'
import { Button, ConfirmDialog, ErrorState, Spinner, Tabs } from '@/components/ui'
import { toast } from '@/components/toasts'
import { ApiError, errorMessage } from '@/api/errors'
import { useCan } from '@/auth/session'
import { findCycle, mappingNodeFor, nodeOfPath, type InputBounds, type PipelineSpec } from '@/features/graph'
import {
  createPipeline, getPipeline, listConnectorTypes, listTemplates, listTransformTypes, pipelineKeys, previewSpec, runPipeline,
  updatePipeline, validateSpec, type Preview, type Validation,
} from '@/features/pipelines/api'
import type { NewPipelineState } from '@/features/pipelines/NewPipelineDialog'
import { Palette, type PaletteEntry } from '@/features/builder/Palette'
import { Canvas, addAt } from '@/features/builder/Canvas'
import { NodePanel, type NodeProblem } from '@/features/builder/NodePanel'
import { ProblemsList, type ListedProblem } from '@/features/builder/ProblemsList'
import { VersionHistory } from '@/features/builder/VersionHistory'
import { ScheduleDialog } from '@/features/schedules/ScheduleDialog'
import { scheduleOf } from '@/features/schedules/model'
import { TriggersDialog } from '@/features/triggers/TriggersDialog'
import { afterOf } from '@/features/triggers/model'
import { useBuilder } from '@/features/builder/store'
import { blankSpecText } from '@/features/builder/yamlSync'
import { templateText } from '@/features/builder/templates'
import { fileProblem, sourceTypeFor, uploadFile } from '@/features/builder/upload'
import { perPipelineSchema } from '@/features/builder/perPipeline'
import { api, unwrap } from '@/api/client'
import { formatBytes } from '@/lib/format'
import { ManagedBadge } from '@/features/ascode/Managed'

const YamlEditor = lazy(() => import('@/features/builder/YamlEditor'))

export default function PipelineBuilder() {
  return (
    <ReactFlowProvider>
      <Builder />
    </ReactFlowProvider>
  )
}

function Builder() {
  const { id } = useParams()
  const location = useLocation()
  const navigate = useNavigate()
  const qc = useQueryClient()
  const can = useCan()
  const writable = can('pipelines:write')
  const init = location.state as NewPipelineState | null
  const { screenToFlowPosition, getNode, setCenter, getZoom } = useReactFlow()

  const text = useBuilder((s) => s.text)
  const savedText = useBuilder((s) => s.savedText)
  const spec = useBuilder((s) => s.spec)
  const parseError = useBuilder((s) => s.parseError)
  const selected = useBuilder((s) => s.selected)
  const [tab, setTab] = useState<'canvas' | 'yaml'>('canvas')
  const [historyOpen, setHistoryOpen] = useState(false)
  const [scheduleOpen, setScheduleOpen] = useState(false)
  const [triggersOpen, setTriggersOpen] = useState(false)
  const [loadError, setLoadError] = useState<unknown>(null)
  const [ready, setReady] = useState(false)
  const loaded = useRef<string | null>(null)

  // Load: a saved pipeline, a template, or a blank spec.
  const pipeline = useQuery({ queryKey: pipelineKeys.one(id ?? ''), queryFn: () => getPipeline(id!), enabled: !!id })
  useEffect(() => {
    if (id) {
      if (pipeline.data && loaded.current !== id) {
        loaded.current = id
        const t = pipeline.data.spec_text ?? JSON.stringify(pipeline.data.spec, null, 2)
        useBuilder.getState().load(t, { saved: true })
        setReady(true)
      }
      return
    }
    if (loaded.current === 'new') return
    loaded.current = 'new'
    const name = init?.name || 'new-pipeline'
    if (!init?.template) {
      useBuilder.getState().load(blankSpecText(name))
      setReady(true)
      return
    }
    listTemplates()
      .then(async (ts) => {
        const t = ts.find((x) => x.name === init.template)
        if (!t) throw new Error(`There is no template "${init.template}"`)
        const text = await templateText(t, name, can('files:write') ? (f) => uploadFile(f) : null)
        useBuilder.getState().load(text)
        setReady(true)
      })
      .catch((e: unknown) => setLoadError(e))
  }, [id, pipeline.data, init, can])

  // Types for the palette, the forms and the edge rules.
  const ctypes = useQuery({ queryKey: ['connector-types'], queryFn: listConnectorTypes, staleTime: Infinity, enabled: can('connectors:read') })
  const ttypes = useQuery({ queryKey: ['transform-types'], queryFn: listTransformTypes, staleTime: Infinity })
  // The saved connectors' types: a node that names one (`connector:`) gets the form of the settings a
  // pipeline may write beside it.
  const usesSaved = !!spec && [...(spec.sources ?? []), ...(spec.destinations ?? [])].some((n) => !!n.connector)
  const saved = useQuery({
    queryKey: ['connectors', 'types-by-name'],
    enabled: usesSaved && can('connectors:read'),
    staleTime: 60_000,
    queryFn: async () => {
      const page = await unwrap(api.GET('/api/v1/connectors', { params: { query: { per_page: 200 } } }))
      return Object.fromEntries((page.items ?? []).map((c) => [c.name, c.type]))
    },
  })
  const palette = useMemo<PaletteEntry[]>(() => {
    const out: PaletteEntry[] = []
    for (const c of ctypes.data ?? []) if (c.source) out.push({ kind: 'source', type: c.name, title: c.title, description: c.description })
    for (const t of ttypes.data ?? []) out.push({ kind: 'transform', type: t.name, title: t.title, description: t.description })
    for (const c of ctypes.data ?? []) if (c.destination) out.push({ kind: 'destination', type: c.name, title: c.title, description: c.description })
    return out
  }, [ctypes.data, ttypes.data])
  const bounds = useMemo(() => {
    const b: Record<string, InputBounds> = {}
    for (const t of ttypes.data ?? []) b[t.name] = { min_inputs: t.min_inputs, max_inputs: t.max_inputs }
    return b
  }, [ttypes.data])

  // Validation as you type (debounced), only on text that parses.
  const [validation, setValidation] = useState<{ text: string; result: Validation } | null>(null)
  const [checking, setChecking] = useState(false)
  useEffect(() => {
    if (!ready || !writable || parseError || !text) return
    const ctl = new AbortController()
    const t = setTimeout(() => {
      setChecking(true)
      validateSpec(text, ctl.signal, id)
        .then((result) => setValidation({ text, result }))
        .catch((e: unknown) => {
          if (!ctl.signal.aborted) setValidation({ text, result: { valid: false, problems: [{ path: '', message: errorMessage(e) }], warnings: [] } })
        })
        .finally(() => {
          if (!ctl.signal.aborted) setChecking(false)
        })
    }, 450)
    return () => {
      clearTimeout(t)
      ctl.abort()
    }
  }, [text, ready, writable, parseError, id])

  const [saveProblems, setSaveProblems] = useState<Array<{ path: string; message: string; line?: number }>>([])
  const [draft, setDraft] = useState(false)
  useEffect(() => {
    if (pipeline.data) {
      setDraft(!!pipeline.data.draft)
      setSaveProblems((pipeline.data.problems ?? []).map((x) => ({ path: x.path, message: x.message, line: x.line })))
    }
  }, [pipeline.data])
  const problems = useMemo<ListedProblem[]>(() => {
    const out: ListedProblem[] = []
    if (parseError) out.push({ path: 'YAML', message: parseError.message, line: parseError.line })
    if (!spec) return out
    const cycle = findCycle(spec)
    if (cycle) out.push({ node: cycle[0], path: 'inputs', message: `a cycle: ${cycle.join(' → ')}` })
    const seen = new Set<string>()
    const saved = text === savedText ? saveProblems : []
    for (const p of [...(validation?.result.problems ?? []), ...saved]) {
      const key = `${p.path}|${p.message}`
      if (seen.has(key)) continue
      seen.add(key)
      const at = nodeOfPath(spec, p.path)
      out.push({ node: at?.id, path: p.path, message: p.message, line: 'line' in p ? (p.line as number | undefined) : undefined })
    }
    return out
  }, [parseError, spec, validation, saveProblems, text, savedText])
  const nodeProblems = useMemo(() => {
    const m: Record<string, string[]> = {}
    for (const p of problems) if (p.node) (m[p.node] ??= []).push(p.message)
    return m
  }, [problems])
  const selectedProblems = useMemo<NodeProblem[]>(() => {
    if (!selected || !spec) return []
    return problems
      .filter((p) => p.node === selected)
      .map((p) => ({ field: nodeOfPath(spec, p.path)?.field ?? '', message: p.message }))
  }, [problems, selected, spec])

  // Preview.
  const [preview, setPreview] = useState<Preview | null>(null)
  const previewM = useMutation({ mutationFn: () => previewSpec(useBuilder.getState().text), onSuccess: setPreview })

  // Save and run.
  const dirty = text !== savedText
  const save = useMutation({
    mutationFn: async () => {
      // A spec with problems is saved as a draft (it cannot run until they are fixed).
      const t = useBuilder.getState().text
      const p = id ? await updatePipeline(id, t, { draft: true }) : await createPipeline(t, true)
      return { p, t }
    },
    onSuccess: ({ p, t }) => {
      setSaveProblems((p.problems ?? []).map((x) => ({ path: x.path, message: x.message, line: x.line })))
      setDraft(!!p.draft)
      useBuilder.getState().markSaved(t)
      void qc.invalidateQueries({ queryKey: pipelineKeys.all })
      if (p.draft) {
        toast.info(`Saved ${p.name} as a draft`, `Version ${p.version} has ${p.problems?.length ?? 0} problem(s): it cannot run until they are fixed`)
      } else toast.success(`Saved ${p.name}`, `Version ${p.version}`)
      if (!id) {
        loaded.current = p.id
        navigate(`/pipelines/${p.id}`, { replace: true })
      }
    },
    onError: (e) => {
      if (e instanceof ApiError && e.problem.errors?.length) {
        setSaveProblems(e.problem.errors.map((x) => ({ path: (x.location ?? '').replace(/^body\.?/, ''), message: x.message ?? '' })))
      }
      toast.error('Not saved', errorMessage(e))
    },
  })
  const run = useMutation({
    mutationFn: async () => {
      let pid = id
      if (!pid || useBuilder.getState().text !== useBuilder.getState().savedText) pid = (await save.mutateAsync()).p.id
      return runPipeline(pid)
    },
    onSuccess: (r) => navigate(`/runs/${r.id}`),
    onError: (e) => {
      if (!save.isError) toast.error('Could not start the run', errorMessage(e))
    },
  })

  // Leaving with unsaved changes asks first (in the app and on closing the tab).
  const blocker = useBlocker(({ currentLocation, nextLocation }) => {
    const st = useBuilder.getState()
    return writable && st.text !== st.savedText && st.text !== st.loadedText && currentLocation.pathname !== nextLocation.pathname
  })
  useEffect(() => {
    const onUnload = (e: BeforeUnloadEvent) => {
      const st = useBuilder.getState()
      if (writable && st.text !== st.savedText && st.text !== st.loadedText) e.preventDefault()
    }
    window.addEventListener('beforeunload', onUnload)
    return () => window.removeEventListener('beforeunload', onUnload)
  }, [writable])

  // Keyboard: Ctrl/Cmd-S saves.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && e.key === 's') {
        e.preventDefault()
        if (writable && !save.isPending) save.mutate()
      }
    }
    window.addEventListener('keydown', onKey)
    return () => window.removeEventListener('keydown', onKey)
  }, [save, writable])

  // Dropped files become source nodes reading their upload.
  const [uploading, setUploading] = useState<string | null>(null)
  const onDropFiles = useCallback(
    async (files: File[], at: { x: number; y: number }) => {
      if (!can('files:write')) {
        toast.error('Upload refused', 'Your role may not upload files')
        return
      }
      let y = at.y
      for (const f of files) {
        const why = fileProblem(f)
        if (why) {
          toast.error('File not added', why)
          continue
        }
        setUploading(`Uploading ${f.name} (${formatBytes(f.size)})…`)
        try {
          const up = await uploadFile(f)
          const type = sourceTypeFor(up.format, up.name)
          if (!type) throw new Error(`${f.name} was stored as ${up.format}, which no source reads directly`)
          const base = f.name.replace(/\.(gz)$/i, '').replace(/\.[^.]+$/, '').toLowerCase()
          const nid = addAt('source', type, { x: at.x - 110, y: y - 36 }, { config: { upload: up.id }, id: base })
          toast.success(`Added ${nid}`, `A ${type} source reading ${f.name}`)
          y += 100
        } catch (e) {
          const msg =
            e instanceof TypeError
              ? `${f.name} (${formatBytes(f.size)}) could not be sent: the server closed the connection (it may be larger than the upload limit)`
              : errorMessage(e)
          toast.error('Upload failed', msg)
        } finally {
          setUploading(null)
        }
      }
    },
    [can],
  )

  const addFromPalette = useCallback(
    (e: PaletteEntry) => {
      const el = document.querySelector('[data-testid="canvas"]')
      const r = el?.getBoundingClientRect()
      const at = r ? screenToFlowPosition({ x: r.left + r.width / 2, y: r.top + r.height / 2 }) : { x: 0, y: 0 }
      setTab('canvas')
      addAt(e.kind, e.type, { x: at.x - 110 + Math.random() * 40, y: at.y - 36 + Math.random() * 40 })
    },
    [screenToFlowPosition],
  )

  // A problem's node is selected, brought to the middle of the view and focused.
  const focusProblem = (p: ListedProblem) => {
    if (!p.node) {
      setTab('yaml')
      return
    }
    const nid = p.node
    setTab('canvas')
    useBuilder.getState().select(nid)
    requestAnimationFrame(() => {
      const n = getNode(nid)
      if (n) void setCenter(n.position.x + 110, n.position.y + 36, { zoom: Math.max(getZoom(), 0.8), duration: 250 })
      document.querySelector<HTMLElement>(`.react-flow__node[data-id="${CSS.escape(nid)}"]`)?.focus()
    })
  }

  if (id && pipeline.error) return <ErrorState error={pipeline.error} retry={() => void pipeline.refetch()} title="Could not load the pipeline" />
  if (loadError) return <ErrorState error={loadError} title="Could not start from the template" />
  if (!ready) return <Spinner label={id ? 'Loading the pipeline' : 'Preparing the canvas'} />

  const readOnly = !writable || !!parseError
  const name = spec?.name ?? init?.name ?? 'pipeline'
  const sample = selected ? preview?.nodes?.find((n) => n.id === selected) : undefined

  return (
    <div className="flex h-full min-h-0 flex-col">
      <div className="flex flex-wrap items-center gap-3 border-b border-slate-200 bg-white px-4 py-2 dark:border-slate-800 dark:bg-slate-900">
        <nav aria-label="Breadcrumb" className="flex min-w-0 items-center gap-1 text-sm">
          <Link to="/pipelines" className="text-slate-500 hover:text-slate-800 dark:text-slate-400 dark:hover:text-slate-200">
            Pipelines
          </Link>
          <ChevronRight className="size-4 text-slate-400" aria-hidden />
          <h1 className="truncate font-semibold">{name}</h1>
          {pipeline.data && <span className="ml-1 text-xs text-slate-400">v{pipeline.data.version}</span>}
          {draft && !dirty && (
            <span title="Saved with problems: it cannot run until they are fixed" className="ml-1 rounded bg-slate-200 px-1.5 text-[11px] font-medium text-slate-700 dark:bg-slate-700 dark:text-slate-200">
              Draft
            </span>
          )}
          {dirty && <span className="ml-1 rounded bg-amber-100 px-1.5 text-[11px] font-medium text-amber-800 dark:bg-amber-500/20 dark:text-amber-300">Unsaved</span>}
          <ManagedBadge managed={pipeline.data?.managed} className="ml-1" />
        </nav>
        <Tabs
          label="Editor"
          className="border-b-0"
          value={tab}
          onChange={setTab}
          tabs={[
            { id: 'canvas', label: 'Canvas' },
            { id: 'yaml', label: 'YAML' },
          ]}
        />
        <div className="ml-auto flex flex-wrap items-center gap-2">
          <Button
            size="sm"
            variant="ghost"
            icon={<LayoutDashboard className="size-4" aria-hidden />}
            onClick={() => {
              setTab('canvas')
              useBuilder.getState().requestLayout()
            }}
          >
            Auto-layout
          </Button>
          {spec && (
            <Button size="sm" variant="ghost" icon={<CalendarClock className="size-4" aria-hidden />} onClick={() => setScheduleOpen(true)} disabled={!!parseError}>
              Schedule
              {scheduleOf(spec) &&
                (pipeline.data?.schedule?.paused && pipeline.data.schedule.cron === scheduleOf(spec)?.cron ? (
                  <span className="ml-1 rounded bg-amber-100 px-1.5 text-[11px] font-medium text-amber-800 dark:bg-amber-500/20 dark:text-amber-300">Paused</span>
                ) : (
                  <span className="ml-1 rounded bg-emerald-100 px-1.5 text-[11px] font-medium text-emerald-800 dark:bg-emerald-500/20 dark:text-emerald-300">On</span>
                ))}
            </Button>
          )}
          {spec && (
            <Button size="sm" variant="ghost" icon={<Zap className="size-4" aria-hidden />} onClick={() => setTriggersOpen(true)} disabled={!!parseError}>
              Triggers
              {afterOf(spec).length > 0 && (
                <span className="ml-1 rounded bg-brand-100 px-1.5 text-[11px] font-medium text-brand-800 dark:bg-brand-500/20 dark:text-brand-300" title="Runs after other pipelines">
                  After {afterOf(spec).length}
                </span>
              )}
            </Button>
          )}
          {id && (
            <Button size="sm" variant="ghost" icon={<History className="size-4" aria-hidden />} onClick={() => setHistoryOpen(true)}>
              History
            </Button>
          )}
          {writable && (
            <Button size="sm" icon={<Save className="size-4" aria-hidden />} onClick={() => save.mutate()} loading={save.isPending} disabled={!!parseError}>
              Save
            </Button>
          )}
          {can('pipelines:run') && writable && (
            <Button size="sm" variant="primary" icon={<Play className="size-4" aria-hidden />} onClick={() => run.mutate()} loading={run.isPending} disabled={!!parseError}>
              Run
            </Button>
          )}
        </div>
      </div>
      <div className="flex min-h-0 flex-1">
        {writable && <Palette entries={palette} loading={ctypes.isLoading || ttypes.isLoading} onAdd={addFromPalette} disabled={readOnly} />}
        <div className="flex min-w-0 flex-1 flex-col">
          <div role="tabpanel" aria-labelledby={`tab-${tab}`} className="relative min-h-0 flex-1 bg-slate-50 dark:bg-slate-950">
            {tab === 'canvas' ? (
              <Canvas
                bounds={bounds}
                problems={nodeProblems}
                readOnly={readOnly}
                readOnlyReason={parseError ? `The YAML has an error (line ${parseError.line ?? '?'}): fix it in the YAML tab` : !writable ? 'Read-only: your role may not edit pipelines' : undefined}
                onDropFiles={(f, at) => void onDropFiles(f, at)}
                uploading={uploading}
              />
            ) : (
              <Suspense fallback={<Spinner label="Loading the editor" />}>
                <YamlEditor readOnly={!writable} />
              </Suspense>
            )}
          </div>
          <ProblemsList
            className="max-h-44 border-t border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900"
            problems={problems}
            checking={checking}
            onFocus={focusProblem}
          />
        </div>
        {selected && spec && (
          <NodePanel
            spec={spec}
            id={selected}
            schema={schemaOf(selected)}
            description={descriptionOf(selected)}
            problems={selectedProblems}
            readOnly={readOnly}
            sample={sample}
            previewing={previewM.isPending}
            previewError={previewM.error}
            onPreview={() => previewM.mutate()}
            mappingHref={mappingHref(id, spec, selected)}
          />
        )}
      </div>
      {id && <VersionHistory id={id} open={historyOpen} onClose={() => setHistoryOpen(false)} />}
      {spec && (
        <ScheduleDialog
          open={scheduleOpen}
          onClose={() => setScheduleOpen(false)}
          spec={spec}
          onApply={(next) => useBuilder.getState().applySpec(next)}
          pipeline={pipeline.data}
          readOnly={readOnly}
          canPause={can('pipelines:run')}
        />
      )}
      {spec && (
        <TriggersDialog
          open={triggersOpen}
          onClose={() => setTriggersOpen(false)}
          spec={spec}
          onApply={(next) => useBuilder.getState().applySpec(next)}
          pipeline={pipeline.data}
          readOnly={readOnly}
        />
      )}
      <ConfirmDialog
        open={blocker.state === 'blocked'}
        title="Leave without saving?"
        confirmLabel="Leave"
        danger
        onClose={() => blocker.reset?.()}
        onConfirm={() => blocker.proceed?.()}
      >
        The changes to {name} since it was last saved will be lost.
      </ConfirmDialog>
    </div>
  )

  function typeInfo(nodeId: string) {
    const s = useBuilder.getState().spec
    const n = s && [...(s.sources ?? []), ...(s.transforms ?? []), ...(s.destinations ?? [])].find((x) => x.id === nodeId)
    if (!s || !n) return undefined
    const isTransform = (s.transforms ?? []).includes(n)
    if (!isTransform && 'connector' in n && n.connector) {
      const typ = saved.data?.[n.connector]
      return typ ? ctypes.data?.find((c) => c.name === typ) : undefined
    }
    if (!n.type) return undefined
    return isTransform ? ttypes.data?.find((t) => t.name === n.type) : ctypes.data?.find((c) => c.name === n.type)
  }
  function schemaOf(nodeId: string) {
    const s = useBuilder.getState().spec
    const n = s && [...(s.sources ?? []), ...(s.destinations ?? [])].find((x) => x.id === nodeId)
    const schema = typeInfo(nodeId)?.config_schema as Record<string, unknown> | undefined
    return n?.connector ? perPipelineSchema(schema) : schema
  }
  function descriptionOf(nodeId: string) {
    return typeInfo(nodeId)?.description
  }
}

/** The mapping studio of the map node that node edits (itself, or the map feeding a destination), once saved. */
function mappingHref(pipelineId: string | undefined, spec: PipelineSpec, node: string): string | undefined {
  const m = pipelineId ? mappingNodeFor(spec, node) : undefined
  return m ? `/pipelines/${pipelineId}/mapping/${encodeURIComponent(m)}` : undefined
}

// Analyze > Queries: pick a database connector, write one SQL statement, run it read-only
// (Ctrl+Enter), see the rows (with row count, time and whether the row cap cut them) or a chart of
// them, export the result (CSV, NDJSON, Excel, Parquet), and save the query with its chart.
// /queries is a new query; /queries/:id a saved one.
import { useEffect, useMemo, useRef, useState } from 'react'
import { Link, useNavigate, useParams } from 'react-router'
import { useMutation, useQueryClient } from '@tanstack/react-query'
import { BarChart3, Database, FilePlus2, Play, Save, Search, Table2, Trash2, TriangleAlert } from 'lucide-react'
import {
  Badge, Button, Card, ConfirmDialog, Dialog, EmptyState, ErrorState, Field, Input, PageHeader, Select, Skeleton, Tabs, Textarea,
} from '@/components/ui'
import { toast } from '@/components/toasts'
import { errorMessage } from '@/api/errors'
import { formatCount, relativeTime } from '@/lib/format'
import { cn } from '@/lib/cn'
import {
  createSavedQuery, deleteSavedQuery, queryKeys, runQuery, updateSavedQuery, useQuerySources, useSavedQueries,
  type QueryChart, type QueryResult, type RunRequest, type SavedQuery,
} from '@/features/analytics/api'
import { ResultExport } from '@/features/analytics/ResultExport'
import { fitChart } from '@/features/analytics/model'
import { SqlEditor } from '@/features/analytics/SqlEditor'
import { ResultTable } from '@/features/analytics/ResultTable'
import { ChartControls, ResultChart } from '@/features/analytics/ResultChart'

type View = 'table' | 'chart'

export default function Analytics() {
  const { id } = useParams()
  const saved = useSavedQueries()
  const current = id ? saved.data?.find((q) => q.id === id) : undefined
  if (id && saved.isLoading) return <Frame><Skeleton className="m-6 h-96" /></Frame>
  if (id && saved.isError) return <Frame><ErrorState error={saved.error} retry={() => void saved.refetch()} /></Frame>
  if (id && !current) {
    return (
      <Frame>
        <EmptyState title="Saved query not found" action={<Link className="text-sm text-brand-600" to="/queries">New query</Link>}>
          It may have been deleted.
        </EmptyState>
      </Frame>
    )
  }
  return <Workbench key={id ?? 'new'} saved={current} list={saved.data ?? []} listLoading={saved.isLoading} />
}

function Frame({ children }: { children: React.ReactNode }) {
  return (
    <div>
      <PageHeader title="Queries" description="Read-only SQL over your databases, as a table or a chart." />
      {children}
    </div>
  )
}

function Workbench({ saved, list, listLoading }: { saved?: SavedQuery; list: SavedQuery[]; listLoading: boolean }) {
  const navigate = useNavigate()
  const qc = useQueryClient()
  const sources = useQuerySources()
  const [connectorId, setConnectorId] = useState(saved?.connector_id ?? '')
  const [sql, setSql] = useState(saved?.sql ?? '')
  const [chart, setChart] = useState<QueryChart | null>(saved?.chart?.type ? saved.chart : null)
  const [view, setView] = useState<View>(saved?.chart?.type ? 'chart' : 'table')
  const [result, setResult] = useState<QueryResult | null>(null)
  // the statement that produced result: an export runs it, not what the editor holds now
  const [ran, setRan] = useState<RunRequest | null>(null)
  const [saveOpen, setSaveOpen] = useState(false)
  const [confirmDelete, setConfirmDelete] = useState(false)
  const abort = useRef<AbortController | null>(null)

  // a new query starts on the first connector
  useEffect(() => {
    if (!connectorId && sources.data?.length) setConnectorId(sources.data[0].id)
  }, [connectorId, sources.data])
  const source = sources.data?.find((s) => s.id === connectorId)

  const run = useMutation({
    mutationFn: (body: { connector_id: string; sql: string }) => {
      abort.current?.abort()
      abort.current = new AbortController()
      return runQuery(body, abort.current.signal)
    },
    onSuccess: (res, body) => {
      setResult(res)
      setRan(body)
      setChart((c) => fitChart(c, res))
    },
  })
  const canRun = !!connectorId && sql.trim() !== '' && !run.isPending
  const doRun = () => {
    if (canRun) run.mutate({ connector_id: connectorId, sql })
  }
  // a saved query runs when it is opened
  const ranOnOpen = useRef(false)
  useEffect(() => {
    if (saved && !ranOnOpen.current) {
      ranOnOpen.current = true
      run.mutate({ connector_id: saved.connector_id, sql: saved.sql })
    }
  }, [saved, run])

  const dirty = !!saved && (saved.sql !== sql || saved.connector_id !== connectorId || JSON.stringify(saved.chart) !== JSON.stringify(chart ?? saved.chart))
  const persist = useMutation({
    mutationFn: (v: { name: string; description: string }) => {
      const body = { ...v, connector_id: connectorId, sql, chart: chart ?? { type: '' as const, x: '', y: [] } }
      return saved ? updateSavedQuery(saved.id, body) : createSavedQuery(body)
    },
    onSuccess: (q) => {
      void qc.invalidateQueries({ queryKey: queryKeys.saved })
      setSaveOpen(false)
      toast.success(saved ? 'Query saved' : 'Query saved', q.name)
      if (!saved) navigate(`/queries/${q.id}`)
    },
  })
  const remove = useMutation({
    mutationFn: () => deleteSavedQuery(saved!.id),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: queryKeys.saved })
      toast.success('Query deleted', saved?.name)
      navigate('/queries')
    },
    onError: (e) => toast.error('Could not delete', errorMessage(e)),
  })

  return (
    <div className="flex min-h-full flex-col">
      <PageHeader
        breadcrumb={<Link to="/queries" className="hover:underline">Queries</Link>}
        title={saved ? saved.name : 'New query'}
        description={saved?.description || 'Read-only SQL over your databases, as a table or a chart.'}
        actions={
          <>
            {saved && (
              <Button variant="ghost" icon={<Trash2 className="size-4" aria-hidden />} onClick={() => setConfirmDelete(true)}>Delete</Button>
            )}
            {saved && (
              <Button icon={<FilePlus2 className="size-4" aria-hidden />} onClick={() => navigate('/queries')}>New query</Button>
            )}
            <Button
              variant={saved && !dirty ? 'secondary' : 'primary'}
              icon={<Save className="size-4" aria-hidden />}
              disabled={!connectorId || !sql.trim()}
              onClick={() => setSaveOpen(true)}
            >
              {saved ? 'Save…' : 'Save query…'}
            </Button>
          </>
        }
      />
      <div className="grid flex-1 gap-6 p-6 lg:grid-cols-[16rem_minmax(0,1fr)]">
        <SavedList list={list} loading={listLoading} activeId={saved?.id} />
        <div className="min-w-0 space-y-4">
          <Card className="overflow-hidden">
            <div className="flex flex-wrap items-center gap-3 border-b border-slate-200 px-4 py-3 dark:border-slate-800">
              <label className="flex items-center gap-2 text-sm font-medium text-slate-700 dark:text-slate-200">
                <Database className="size-4 text-slate-400" aria-hidden />
                <span className="sr-only">Database</span>
                <Select aria-label="Database" className="h-8 w-64" value={connectorId} onChange={(e) => setConnectorId(e.target.value)} disabled={sources.isLoading}>
                  {sources.data?.length === 0 && <option value="">No database connector</option>}
                  {sources.data?.map((s) => (
                    <option key={s.id} value={s.id}>{s.name} ({typeLabel(s.type)})</option>
                  ))}
                  {saved && !source && sources.data && <option value={saved.connector_id}>Deleted connector</option>}
                </Select>
              </label>
              <Badge tone="green">Read-only</Badge>
              <div className="ml-auto flex items-center gap-3">
                <span className="hidden text-xs text-slate-400 sm:inline">Ctrl + Enter</span>
                <Button variant="primary" icon={<Play className="size-4" aria-hidden />} loading={run.isPending} disabled={!canRun} onClick={doRun}>
                  Run
                </Button>
              </div>
            </div>
            <div className="p-3">
              <SqlEditor value={sql} onChange={setSql} onRun={doRun} connectorType={source?.type} />
            </div>
            {sources.data?.length === 0 && (
              <p className="px-4 pb-3 text-sm text-slate-500">
                Queries run on saved PostgreSQL, MySQL/MariaDB or SQL Server connectors; none is saved yet.
              </p>
            )}
          </Card>
          <ResultPanel
            result={result}
            exportMenu={result && ran ? <ResultExport result={result} ran={ran} saved={saved} /> : null}
            pending={run.isPending}
            error={run.error}
            chart={chart}
            onChart={setChart}
            view={view}
            onView={setView}
          />
        </div>
      </div>
      <SaveDialog
        open={saveOpen}
        onClose={() => setSaveOpen(false)}
        saved={saved}
        pending={persist.isPending}
        error={persist.error}
        onSave={(v) => persist.mutate(v)}
      />
      <ConfirmDialog
        open={confirmDelete}
        title="Delete this query?"
        confirmLabel="Delete"
        danger
        loading={remove.isPending}
        onConfirm={() => remove.mutate()}
        onClose={() => setConfirmDelete(false)}
      >
        “{saved?.name}” is removed for everyone. Its data stays in the database.
      </ConfirmDialog>
    </div>
  )
}

function typeLabel(t: string): string {
  return t === 'postgres' ? 'PostgreSQL' : t === 'mysql' ? 'MySQL' : t === 'sqlserver' ? 'SQL Server' : t
}

function SavedList({ list, loading, activeId }: { list: SavedQuery[]; loading: boolean; activeId?: string }) {
  const [search, setSearch] = useState('')
  const shown = useMemo(() => list.filter((q) => q.name.toLowerCase().includes(search.trim().toLowerCase())), [list, search])
  return (
    <Card className="h-fit overflow-hidden">
      <div className="border-b border-slate-200 p-3 dark:border-slate-800">
        <h2 className="mb-2 text-xs font-semibold uppercase tracking-wide text-slate-500">Saved queries</h2>
        <div className="relative">
          <Search className="pointer-events-none absolute left-2.5 top-2 size-4 text-slate-400" aria-hidden />
          <Input aria-label="Search saved queries" placeholder="Search" value={search} onChange={(e) => setSearch(e.target.value)} className="h-8 pl-8" />
        </div>
      </div>
      <nav aria-label="Saved queries" className="max-h-[32rem] overflow-y-auto p-1.5">
        {loading && <Skeleton className="m-1 h-16" />}
        {!loading && shown.length === 0 && (
          <p className="px-2 py-6 text-center text-xs text-slate-500">{list.length ? 'No query matches.' : 'Saved queries appear here.'}</p>
        )}
        {shown.map((q) => (
          <Link
            key={q.id}
            to={`/queries/${q.id}`}
            aria-current={q.id === activeId ? 'page' : undefined}
            className={cn(
              'block rounded-md px-2.5 py-2 text-sm',
              q.id === activeId ? 'bg-brand-50 text-brand-800 dark:bg-brand-500/10 dark:text-brand-200' : 'hover:bg-slate-50 dark:hover:bg-slate-800/60',
            )}
          >
            <span className="flex items-center gap-1.5 font-medium">
              {q.chart.type ? <BarChart3 className="size-3.5 shrink-0 text-slate-400" aria-hidden /> : <Table2 className="size-3.5 shrink-0 text-slate-400" aria-hidden />}
              <span className="truncate">{q.name}</span>
            </span>
            <span className="mt-0.5 block truncate text-xs text-slate-500">
              {q.connector_name || 'deleted connector'} · {relativeTime(q.updated_at)}
            </span>
          </Link>
        ))}
      </nav>
    </Card>
  )
}

function ResultPanel({
  result, exportMenu, pending, error, chart, onChart, view, onView,
}: {
  result: QueryResult | null
  exportMenu: React.ReactNode
  pending: boolean
  error: unknown
  chart: QueryChart | null
  onChart: (c: QueryChart) => void
  view: View
  onView: (v: View) => void
}) {
  if (error && !pending) {
    return (
      <Card>
        <div role="alert" className="flex items-start gap-3 p-4 text-sm text-rose-800 dark:text-rose-300">
          <TriangleAlert className="mt-0.5 size-5 shrink-0" aria-hidden />
          <div className="min-w-0 space-y-1">
            <p className="font-medium">The query failed</p>
            <p className="whitespace-pre-wrap break-words font-mono text-xs">{errorMessage(error)}</p>
          </div>
        </div>
      </Card>
    )
  }
  if (!result) {
    return (
      <Card>
        {pending ? (
          <div className="space-y-2 p-4"><Skeleton className="h-6 w-1/3" /><Skeleton className="h-40" /></div>
        ) : (
          <EmptyState title="Run a query to see its rows" icon={<Play className="size-6" aria-hidden />}>
            The statement runs in a read-only transaction with a time limit; the database refuses anything that writes.
          </EmptyState>
        )}
      </Card>
    )
  }
  return (
    <Card className={cn('overflow-hidden', pending && 'opacity-60')} aria-busy={pending}>
      <div className="flex flex-wrap items-center justify-between gap-3 px-4 pt-2">
        <Tabs<View>
          label="Result view"
          value={view}
          onChange={onView}
          className="border-b-0"
          tabs={[
            { id: 'table', label: 'Table' },
            { id: 'chart', label: 'Chart' },
          ]}
        />
        <p className="flex items-center gap-2 text-xs text-slate-500 dark:text-slate-400" aria-live="polite">
          <span>{formatCount(result.row_count)} {result.row_count === 1 ? 'row' : 'rows'}</span>
          <span aria-hidden>·</span>
          <span>{result.elapsed_ms} ms</span>
          {result.truncated && (
            <Badge tone="amber">Truncated at {formatCount(result.max_rows)} rows</Badge>
          )}
        </p>
        {exportMenu}
      </div>
      <div className="border-t border-slate-200 dark:border-slate-800">
        {result.columns.length === 0 ? (
          <p className="p-6 text-sm text-slate-500">The statement returned no columns.</p>
        ) : view === 'table' ? (
          result.row_count === 0 ? <p className="p-6 text-sm text-slate-500">No rows.</p> : <ResultTable result={result} />
        ) : (
          <>
            <ChartControls result={result} chart={chart ?? { type: 'bar', x: result.columns[0].name, y: [] }} onChange={onChart} />
            <ResultChart result={result} chart={chart ?? { type: 'bar', x: result.columns[0].name, y: [] }} />
          </>
        )}
      </div>
    </Card>
  )
}

function SaveDialog({
  open, onClose, saved, pending, error, onSave,
}: {
  open: boolean
  onClose: () => void
  saved?: SavedQuery
  pending: boolean
  error: unknown
  onSave: (v: { name: string; description: string }) => void
}) {
  const [name, setName] = useState(saved?.name ?? '')
  const [description, setDescription] = useState(saved?.description ?? '')
  return (
    <Dialog
      open={open}
      onClose={onClose}
      title={saved ? 'Save query' : 'Save as a new query'}
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button variant="primary" loading={pending} disabled={!name.trim()} onClick={() => onSave({ name: name.trim(), description })}>
            Save
          </Button>
        </>
      }
    >
      <form
        className="space-y-4"
        onSubmit={(e) => {
          e.preventDefault()
          if (name.trim()) onSave({ name: name.trim(), description })
        }}
      >
        <Field label="Name" required help="Everyone who runs queries sees saved queries.">
          {(p) => <Input {...p} value={name} onChange={(e) => setName(e.target.value)} maxLength={128} autoFocus />}
        </Field>
        <Field label="Description">
          {(p) => <Textarea {...p} rows={3} value={description} onChange={(e) => setDescription(e.target.value)} maxLength={2000} />}
        </Field>
        {error ? <p role="alert" className="rounded-md bg-rose-50 px-3 py-2 text-sm text-rose-700 dark:bg-rose-950/40 dark:text-rose-300">{errorMessage(error)}</p> : null}
      </form>
    </Dialog>
  )
}

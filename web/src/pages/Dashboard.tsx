// The home page after sign-in: the user's default dashboard of live operations widgets, with a time
// range, several saved dashboards (/api/v1/me/dashboards) and an edit mode to move, resize, add and
// remove widgets. A role that may not read runs (the executive) gets the read-only summary.
import { useMemo, useState } from 'react'
import { useSearchParams } from 'react-router'
import { useQueryClient } from '@tanstack/react-query'
import { Check, LayoutGrid, Pencil, Plus, Star, Trash2 } from 'lucide-react'
import { Badge, Button, ConfirmDialog, Dialog, Field, InlineError, Input, PageHeader, Select, Skeleton, ErrorState } from '@/components/ui'
import { useCan } from '@/auth/session'
import { toast } from '@/components/toasts'
import { LiveIndicator } from '@/features/runs/LiveIndicator'
import { useLiveRuns, useLiveStatus } from '@/features/runs/useLive'
import { useNow } from '@/features/runs/useNow'
import {
  createDashboard, dashKeys, deleteDashboard, setDefaultDashboard, updateDashboard, useLiveAnalytics, useSavedDashboards,
  type SavedDashboard,
} from '@/features/dashboard/api'
import { Board } from '@/features/dashboard/Board'
import { ExecutiveSummary } from '@/features/dashboard/ExecutiveSummary'
import { RangePicker } from '@/features/dashboard/RangePicker'
import type { WidgetContext } from '@/features/dashboard/Widget'
import {
  addWidget, defaultDoc, parseDoc, rangeFromSearch, rangeLabel, removeWidget, resolveRange, WIDGET_KINDS, WIDGETS,
  type DashboardDoc, type RangeSpec, type WidgetKind,
} from '@/features/dashboard/model'

export default function Dashboard() {
  const can = useCan()
  const [params, setParams] = useSearchParams()
  const range = rangeFromSearch(params)
  const now = useNow(range.preset !== 'custom', 60_000)
  const { from, to } = resolveRange(range, now)
  const readOnly = !can('runs:read')
  const setRange = (r: RangeSpec) => {
    const next = new URLSearchParams(params)
    next.delete('range')
    next.delete('from')
    next.delete('to')
    if (r.preset === 'custom') {
      next.set('from', r.from)
      next.set('to', r.to)
    } else if (r.preset !== '24h') next.set('range', r.preset)
    setParams(next, { replace: true })
  }
  const ctx: WidgetContext = { from, to, rangeLabel: rangeLabel(range), live: false, canListRuns: !readOnly }
  if (readOnly) {
    return (
      <div>
        <PageHeader
          title="Summary"
          description="How the data platform is doing: runs, delivery and the pipelines that need attention. Refreshed every 30 seconds."
          actions={<RangePicker value={range} onChange={setRange} />}
        />
        <div className="p-6">
          <ExecutiveSummary ctx={ctx} />
        </div>
      </div>
    )
  }
  return <Operations ctx={ctx} range={range} setRange={setRange} />
}

function Operations({ ctx: base, range, setRange }: { ctx: WidgetContext; range: RangeSpec; setRange: (r: RangeSpec) => void }) {
  useLiveRuns()
  const live = useLiveStatus() === 'open'
  useLiveAnalytics(true)
  const ctx = { ...base, live }
  const qc = useQueryClient()
  const saved = useSavedDashboards()
  const [selectedId, setSelectedId] = useState<string | null>(null)
  const [draft, setDraft] = useState<{ doc: DashboardDoc; name: string } | null>(null)
  const [creating, setCreating] = useState(false)
  const [deleting, setDeleting] = useState(false)
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(null)

  const items = useMemo(() => saved.data ?? [], [saved.data])
  const current: SavedDashboard | null = items.find((d) => d.id === selectedId) ?? items[0] ?? null
  const stored = useMemo(() => (current ? parseDoc(current.layout) ?? defaultDoc() : defaultDoc()), [current])
  const doc = draft?.doc ?? stored
  const editing = draft !== null

  const refresh = () => qc.invalidateQueries({ queryKey: dashKeys.saved })
  const run = async (f: () => Promise<void>) => {
    setBusy(true)
    setError(null)
    try {
      await f()
    } catch (e) {
      setError(e)
    } finally {
      setBusy(false)
    }
  }
  const save = () =>
    run(async () => {
      if (!draft) return
      const body = { name: draft.name.trim() || 'Operations', layout: draft.doc as unknown as Record<string, unknown> }
      const d = current ? await updateDashboard(current.id, body) : await createDashboard(body)
      await refresh()
      setSelectedId(d.id)
      setDraft(null)
      toast.success(`Saved "${d.name}"`)
    })
  const makeDefault = () =>
    run(async () => {
      if (!current) return
      await setDefaultDashboard(current.id)
      await refresh()
      toast.success(`"${current.name}" opens first from now on`)
    })
  const remove = () =>
    run(async () => {
      if (!current) return
      await deleteDashboard(current.id)
      setDeleting(false)
      setSelectedId(null)
      setDraft(null)
      await refresh()
      toast.success(`Deleted "${current.name}"`)
    })
  const missing = WIDGET_KINDS.filter((k) => !doc.widgets.some((w) => w.kind === k))

  return (
    <div>
      <PageHeader
        title={
          <span className="flex items-center gap-2">
            {editing ? 'Editing dashboard' : current?.name ?? 'Operations'}
            {!editing && current?.is_default && items.length > 1 && <Badge tone="violet">Default</Badge>}
          </span>
        }
        description="Live operations across every pipeline: runs, throughput, failures, freshness, workers and streams."
        actions={
          <>
            <LiveIndicator />
            <RangePicker value={range} onChange={setRange} />
          </>
        }
      />
      <div className="space-y-4 p-6">
        <div className="flex flex-wrap items-center gap-2" role="toolbar" aria-label="Dashboard">
          {editing ? (
            <>
              <Field label="Name" className="w-56">
                {(p) => <Input {...p} value={draft.name} maxLength={100} onChange={(e) => setDraft({ ...draft, name: e.target.value })} />}
              </Field>
              <Field label="Add widget" className="w-60">
                {(p) => (
                  <Select
                    {...p}
                    value=""
                    disabled={!missing.length}
                    onChange={(e) => e.target.value && setDraft({ ...draft, doc: addWidget(draft.doc, e.target.value as WidgetKind) })}
                  >
                    <option value="">{missing.length ? 'Choose a widget…' : 'All widgets are on it'}</option>
                    {missing.map((k) => <option key={k} value={k}>{WIDGETS[k].title}</option>)}
                  </Select>
                )}
              </Field>
              <div className="ml-auto flex gap-2 self-end">
                {current && (
                  <Button variant="ghost" icon={<Trash2 className="size-4" aria-hidden />} onClick={() => setDeleting(true)}>
                    Delete dashboard
                  </Button>
                )}
                <Button onClick={() => setDraft(null)} disabled={busy}>Cancel</Button>
                <Button variant="primary" icon={<Check className="size-4" aria-hidden />} loading={busy} onClick={() => void save()}>
                  Save layout
                </Button>
              </div>
            </>
          ) : (
            <>
              {items.length > 1 && (
                <Select aria-label="Dashboard" className="w-60" value={current?.id ?? ''} onChange={(e) => setSelectedId(e.target.value)}>
                  {items.map((d) => <option key={d.id} value={d.id}>{d.name}{d.is_default ? ' (default)' : ''}</option>)}
                </Select>
              )}
              {current && !current.is_default && (
                <Button icon={<Star className="size-4" aria-hidden />} loading={busy} onClick={() => void makeDefault()}>
                  Make default
                </Button>
              )}
              <div className="ml-auto flex gap-2">
                <Button icon={<Plus className="size-4" aria-hidden />} onClick={() => setCreating(true)}>New dashboard</Button>
                <Button
                  variant="primary"
                  icon={<Pencil className="size-4" aria-hidden />}
                  disabled={saved.isPending}
                  onClick={() => setDraft({ doc, name: current?.name ?? 'Operations' })}
                >
                  Edit layout
                </Button>
              </div>
            </>
          )}
        </div>
        {editing && (
          <p className="text-xs text-slate-500 dark:text-slate-400">
            Drag a widget by its grip, resize it from its lower right corner, remove it with ×. Save keeps the layout for your next sign-in.
          </p>
        )}
        <InlineError error={error} />
        {saved.isError ? (
          <ErrorState error={saved.error} retry={() => void saved.refetch()} title="Your dashboards could not be loaded" />
        ) : saved.isPending ? (
          <div className="grid gap-4 md:grid-cols-3">{Array.from({ length: 6 }, (_, i) => <Skeleton key={i} className="h-60" />)}</div>
        ) : doc.widgets.length === 0 ? (
          <EmptyBoard editing={editing} onAdd={() => setDraft({ doc: defaultDoc(), name: draft?.name ?? current?.name ?? 'Operations' })} />
        ) : (
          <Board
            doc={doc}
            ctx={ctx}
            editing={editing}
            onChange={(d) => setDraft((x) => (x ? { ...x, doc: d } : x))}
            onRemove={(id) => setDraft((x) => (x ? { ...x, doc: removeWidget(x.doc, id) } : x))}
          />
        )}
      </div>
      <NewDashboardDialog
        open={creating}
        onClose={() => setCreating(false)}
        onCreated={async (d) => {
          setCreating(false)
          await refresh()
          setSelectedId(d.id)
          setDraft({ doc: parseDoc(d.layout) ?? defaultDoc(), name: d.name })
        }}
      />
      <ConfirmDialog
        open={deleting}
        title={`Delete "${current?.name ?? ''}"?`}
        confirmLabel="Delete dashboard"
        danger
        loading={busy}
        onConfirm={() => void remove()}
        onClose={() => setDeleting(false)}
      >
        Its layout is deleted for good.{current?.is_default && items.length > 1 ? ' Your most recently changed other dashboard becomes the default.' : ''}
      </ConfirmDialog>
    </div>
  )
}

function EmptyBoard({ editing, onAdd }: { editing: boolean; onAdd: () => void }) {
  return (
    <div className="flex flex-col items-center gap-3 rounded-xl border border-dashed border-slate-300 px-6 py-16 text-center dark:border-slate-700">
      <LayoutGrid className="size-8 text-slate-400" aria-hidden />
      <p className="text-sm font-medium">This dashboard has no widgets</p>
      <p className="max-w-md text-sm text-slate-500 dark:text-slate-400">
        {editing ? 'Add widgets with "Add widget" above, or start from the standard set.' : 'Choose Edit layout to add widgets, or start from the standard set.'}
      </p>
      <Button onClick={onAdd}>Start from the standard widgets</Button>
    </div>
  )
}

function NewDashboardDialog({ open, onClose, onCreated }: { open: boolean; onClose: () => void; onCreated: (d: SavedDashboard) => Promise<void> }) {
  const [name, setName] = useState('')
  const [start, setStart] = useState<'standard' | 'empty'>('standard')
  const [makeDefault, setMakeDefault] = useState(false)
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(null)
  const submit = async () => {
    if (!name.trim()) return setError(new Error('Give the dashboard a name.'))
    setBusy(true)
    setError(null)
    try {
      const layout = start === 'standard' ? defaultDoc() : { version: 1, widgets: [] }
      const d = await createDashboard({ name: name.trim(), layout: layout as unknown as Record<string, unknown>, is_default: makeDefault })
      setName('')
      await onCreated(d)
    } catch (e) {
      setError(e)
    } finally {
      setBusy(false)
    }
  }
  return (
    <Dialog
      open={open}
      onClose={onClose}
      title="New dashboard"
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button variant="primary" loading={busy} onClick={() => void submit()}>Create</Button>
        </>
      }
    >
      <div className="space-y-4">
        <Field label="Name" required>
          {(p) => <Input {...p} value={name} maxLength={100} placeholder="e.g. Finance pipelines" onChange={(e) => setName(e.target.value)} onKeyDown={(e) => e.key === 'Enter' && void submit()} />}
        </Field>
        <Field label="Start from">
          {(p) => (
            <Select {...p} value={start} onChange={(e) => setStart(e.target.value as 'standard' | 'empty')}>
              <option value="standard">The standard widgets</option>
              <option value="empty">An empty board</option>
            </Select>
          )}
        </Field>
        <label className="flex items-center gap-2 text-sm">
          <input type="checkbox" checked={makeDefault} onChange={(e) => setMakeDefault(e.target.checked)} className="rounded border-slate-300" />
          Open this dashboard first after sign-in (make it the default)
        </label>
        <InlineError error={error} />
      </div>
    </Dialog>
  )
}

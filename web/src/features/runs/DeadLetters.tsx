// A run's dead letters: the rejected rows with their node, line, field and reason, filtered by node
// and reason, downloadable as CSV or NDJSON (the server's download route). A role holding
// runs:replay can fix rows inline (changed cells are highlighted) and replay them: the rows go again
// through the current saved pipeline from the node that rejected them, as a new run.
import { useMemo, useState } from 'react'
import { Link, useNavigate } from 'react-router'
import { useQuery } from '@tanstack/react-query'
import { AlertTriangle, Pencil, RotateCcw, Undo2, Wrench } from 'lucide-react'
import { Badge, Button, Dialog, EmptyState, ErrorState, Field, Input, InlineError, Select, Skeleton } from '@/components/ui'
import { toast } from '@/components/toasts'
import { cn } from '@/lib/cn'
import { formatCount } from '@/lib/format'
import { download, fetchDeadLetters, isActive, replayRun, runKeys, type Run } from './queries'
import { cellErrors, editsToSend, type Edits } from './replay'
import { ExportMenu, type ExportFormat } from '@/components/ExportMenu'

export function DeadLetters({
  run, canReplay, node, onNode, pipelineName, currentVersion,
}: {
  run: Run
  canReplay: boolean
  node: string | null
  onNode: (n: string | null) => void
  pipelineName: string
  currentVersion?: number
}) {
  const finished = !isActive(run.status)
  const dls = useQuery({ queryKey: runKeys.deadLetters(run.id), queryFn: () => fetchDeadLetters(run.id), enabled: finished })
  const [reason, setReason] = useState('')
  const [editing, setEditing] = useState(false)
  const [edits, setEdits] = useState<Edits>({})
  const [confirm, setConfirm] = useState(false)
  const [busy, setBusy] = useState(false)
  const [replayError, setReplayError] = useState<unknown>(null)
  const [errs, setErrs] = useState<Record<string, string>>({})
  const [dlBusy, setDlBusy] = useState<string | null>(null)
  const [dlError, setDlError] = useState<unknown>(null)
  const navigate = useNavigate()

  const rows = useMemo(() => dls.data ?? [], [dls.data])
  const nodes = useMemo(() => [...new Set(rows.map((d) => d.node ?? ''))].filter(Boolean).sort(), [rows])
  const shown = useMemo(
    () =>
      rows.filter(
        (d) => (!node || d.node === node) && (!reason || d.reason.toLowerCase().includes(reason.toLowerCase())),
      ),
    [rows, node, reason],
  )
  const fields = useMemo(() => {
    const seen = new Set<string>()
    for (const d of shown) for (const k of Object.keys(d.values ?? {})) seen.add(k)
    return [...seen]
  }, [shown])
  const toSend = useMemo(() => editsToSend(rows, edits), [rows, edits])
  const editable = rows.length > 0 && rows.every((d) => d.id != null)

  const setCell = (id: number, field: string, value: string) => {
    setEdits((e) => ({ ...e, [id]: { ...e[id], [field]: value } }))
    setErrs((x) => {
      const n = { ...x }
      delete n[`${id}:${field}`]
      return n
    })
  }
  const resetRow = (id: number) =>
    setEdits((e) => {
      const n = { ...e }
      delete n[id]
      return n
    })

  const doReplay = async () => {
    setBusy(true)
    setReplayError(null)
    try {
      const next = await replayRun(run.id, toSend)
      toast.success('Replay started', `${formatCount(rows.length)} row${rows.length === 1 ? '' : 's'} go again through ${pipelineName}.`)
      setConfirm(false)
      navigate(`/runs/${next.id}`)
    } catch (e) {
      setReplayError(e)
      setErrs(cellErrors(e, toSend))
    } finally {
      setBusy(false)
    }
  }

  const dl = async (format: ExportFormat) => {
    setDlBusy(format)
    setDlError(null)
    try {
      await download(`/api/v1/runs/${encodeURIComponent(run.id)}/dead-letters?format=${format}`, `run-${run.id}-dead-letters.${format}`)
    } catch (e) {
      setDlError(e)
    } finally {
      setDlBusy(null)
    }
  }

  if (!finished)
    return (
      <EmptyState title="Dead letters appear when the run finishes">
        {formatCount(run.nodes.reduce((a, n) => a + n.rejected, 0))} rows rejected so far.
      </EmptyState>
    )
  if (dls.isError) return <ErrorState error={dls.error} retry={() => void dls.refetch()} title="Could not load the dead letters" />
  if (dls.isPending) return <Skeleton className="h-32 w-full" />
  if (!rows.length)
    return <EmptyState title="No dead letters">Every row this run read went through, or was filtered on purpose.</EmptyState>

  const editedCount = toSend.length
  return (
    <div className="space-y-4">
      {canReplay && (
        <div className="flex flex-wrap items-start gap-3 rounded-lg border border-brand-200 bg-brand-50/60 p-4 text-sm dark:border-brand-500/30 dark:bg-brand-500/5">
          <Wrench className="mt-0.5 size-5 shrink-0 text-brand-600 dark:text-brand-300" aria-hidden />
          <div className="min-w-0 flex-1 space-y-1">
            <p className="font-medium text-slate-900 dark:text-slate-100">Fix and replay</p>
            <p className="text-slate-600 dark:text-slate-300">
              Correct the rejected values below, or{' '}
              <Link to={`/pipelines/${run.pipeline_id}`} className="font-medium text-brand-700 underline-offset-2 hover:underline dark:text-brand-300">
                change the pipeline
              </Link>{' '}
              (a mapping, a validate rule) and save it. Then replay: the rows go again through the saved pipeline from the node that rejected them.
            </p>
          </div>
          <div className="flex gap-2">
            {editable && (
              <Button
                variant={editing ? 'secondary' : 'subtle'}
                icon={<Pencil className="size-4" aria-hidden />}
                aria-pressed={editing}
                onClick={() => setEditing((v) => !v)}
              >
                {editing ? 'Done editing' : 'Edit rows'}
              </Button>
            )}
            <Button variant="primary" icon={<RotateCcw className="size-4" aria-hidden />} onClick={() => setConfirm(true)}>
              Replay
            </Button>
          </div>
        </div>
      )}

      <div className="flex flex-wrap items-end gap-3">
        <Field label="Node" className="w-48">
          {(p) => (
            <Select {...p} value={node ?? ''} onChange={(e) => onNode(e.target.value || null)}>
              <option value="">All nodes</option>
              {nodes.map((n) => (
                <option key={n} value={n}>{n}</option>
              ))}
            </Select>
          )}
        </Field>
        <Field label="Reason contains" className="w-64">
          {(p) => <Input {...p} type="search" value={reason} onChange={(e) => setReason(e.target.value)} placeholder="e.g. must be" />}
        </Field>
        <div className="ml-auto flex gap-2">
          <ExportMenu label="Export dead letters" busy={dlBusy !== null} onPick={(f) => void dl(f)} />
        </div>
      </div>
      <InlineError error={dlError} />
      {editing && editedCount > 0 && (
        <p className="text-sm text-amber-700 dark:text-amber-400" role="status">
          {editedCount} row{editedCount === 1 ? '' : 's'} edited — the changes are sent with the replay; nothing is saved before.
        </p>
      )}

      <div className="overflow-x-auto rounded-lg border border-slate-200 dark:border-slate-800">
        <table aria-label="Dead letters" className="min-w-full divide-y divide-slate-200 text-sm dark:divide-slate-800">
          <thead className="bg-slate-50 dark:bg-slate-900/60">
            <tr>
              {['Node', 'Line', 'Reason', ...fields].map((h, i) => (
                <th key={`${h}-${i}`} scope="col" className={cn('px-3 py-2 text-left text-xs font-semibold text-slate-500 dark:text-slate-400', i < 3 && 'uppercase tracking-wide')}>
                  {h}
                </th>
              ))}
              {editing && <th scope="col" className="px-3 py-2"><span className="sr-only">Row actions</span></th>}
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
            {shown.map((d, i) => {
              const id = d.id ?? -i - 1
              const rowEdits = edits[id] ?? {}
              const changed = fields.some((f) => f in rowEdits && rowEdits[f] !== (d.values?.[f] ?? ''))
              return (
                <tr key={id} className={cn(changed && 'bg-amber-50/60 dark:bg-amber-500/5')}>
                  <Td>
                    <button type="button" onClick={() => onNode(d.node ?? null)} className="font-medium text-slate-800 hover:text-brand-700 dark:text-slate-200" title="Show only this node">
                      {d.node || '—'}
                    </button>
                  </Td>
                  <Td className="tabular-nums text-slate-500">{d.line || '—'}</Td>
                  <Td className="max-w-xs">
                    <span className="text-rose-700 dark:text-rose-400">{d.reason}</span>
                    {d.field && <Badge tone="red" className="ml-2">{d.field}</Badge>}
                  </Td>
                  {fields.map((f) => {
                    const orig = d.values?.[f] ?? ''
                    const val = f in rowEdits ? rowEdits[f] : orig
                    const isChanged = val !== orig
                    const bad = d.field === f
                    const err = errs[`${id}:${f}`]
                    if (!editing || d.id == null)
                      return (
                        <Td key={f} className={cn('whitespace-nowrap font-mono text-xs', bad && 'text-rose-700 dark:text-rose-400', isChanged && 'bg-amber-100 dark:bg-amber-500/15')}>
                          {val === '' ? <span className="text-slate-400">∅</span> : val}
                        </Td>
                      )
                    return (
                      <Td key={f} className="min-w-36 py-1.5">
                        <Input
                          aria-label={`${f} of the row at line ${d.line ?? i + 1}`}
                          value={val}
                          invalid={!!err}
                          onChange={(e) => setCell(id, f, e.target.value)}
                          className={cn(
                            'h-8 font-mono text-xs',
                            isChanged && 'bg-amber-50 ring-amber-400 dark:bg-amber-500/10 dark:ring-amber-500',
                            bad && !isChanged && 'ring-rose-400 dark:ring-rose-500',
                          )}
                          title={isChanged ? `Was: ${orig || '(empty)'}` : undefined}
                        />
                        {isChanged && <span className="mt-0.5 block text-[10px] text-amber-700 dark:text-amber-400">was {orig || '(empty)'}</span>}
                        {err && <span className="mt-0.5 block text-[10px] text-rose-600">{err}</span>}
                      </Td>
                    )
                  })}
                  {editing && (
                    <Td>
                      {changed && d.id != null && (
                        <Button size="sm" variant="ghost" icon={<Undo2 className="size-3.5" aria-hidden />} onClick={() => resetRow(d.id as number)}>
                          Undo
                        </Button>
                      )}
                    </Td>
                  )}
                </tr>
              )
            })}
          </tbody>
        </table>
      </div>
      <p className="text-xs text-slate-500 dark:text-slate-400">
        {shown.length === rows.length ? `${formatCount(rows.length)} dead letters` : `${formatCount(shown.length)} of ${formatCount(rows.length)} dead letters`}
      </p>

      <Dialog
        open={confirm}
        onClose={() => !busy && setConfirm(false)}
        title="Replay the dead letters?"
        footer={
          <>
            <Button onClick={() => setConfirm(false)} disabled={busy}>Cancel</Button>
            <Button variant="primary" loading={busy} onClick={() => void doReplay()} icon={<RotateCcw className="size-4" aria-hidden />}>
              Start replay
            </Button>
          </>
        }
      >
        <div className="space-y-3 text-sm text-slate-600 dark:text-slate-300">
          <p>
            <strong className="text-slate-900 dark:text-slate-100">{formatCount(rows.length)} row{rows.length === 1 ? '' : 's'}</strong>
            {editedCount > 0 && <> ({editedCount} edited)</>} of this run go again through the <strong>current saved</strong> version of{' '}
            <strong>{pipelineName}</strong>{currentVersion ? ` (version ${currentVersion})` : ''}, from the node that rejected each of them to its destinations, as a new run linked to this one.
          </p>
          <ul className="list-disc space-y-1 pl-5">
            <li>Rows that now pass are written. Upsert destinations get no duplicates.</li>
            <li>Rows that fail again become dead letters of the new run, with their reasons.</li>
            <li>This run and its dead letters stay as they are.</li>
          </ul>
          {currentVersion != null && currentVersion !== run.pipeline_version && (
            <p className="flex gap-2 rounded-md bg-amber-50 p-2 text-amber-800 dark:bg-amber-500/10 dark:text-amber-300">
              <AlertTriangle className="mt-0.5 size-4 shrink-0" aria-hidden />
              The pipeline changed since this run (version {run.pipeline_version} → {currentVersion}): the replay uses version {currentVersion}.
            </p>
          )}
          <InlineError error={replayError} />
        </div>
      </Dialog>
    </div>
  )
}

function Td({ children, className }: { children?: React.ReactNode; className?: string }) {
  return <td className={cn('px-3 py-2 align-top', className)}>{children}</td>
}

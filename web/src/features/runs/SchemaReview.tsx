// The review of schema changes a run awaits (write.schema_changes: review): an "Awaiting approval"
// banner on the run page and the "Review changes" dialog with the classified diff (column, change
// kind, old type -> new type), where a designer approves (the run goes on and applies the changes)
// or rejects (the run fails) with a comment. After the decision the banner says who decided.
import { useState } from 'react'
import { useQueryClient } from '@tanstack/react-query'
import { ArrowRight, CheckCircle2, GitCompareArrows, ShieldAlert, XCircle } from 'lucide-react'
import { Badge, Button, Dialog, Field, InlineError, Table, Td, Textarea, Th } from '@/components/ui'
import { toast } from '@/components/toasts'
import { api, unwrap } from '@/api/client'
import { formatTime } from '@/lib/format'
import { runKeys, type Run } from './queries'

export type Review = NonNullable<Run['schema_review']>
export type Change = NonNullable<Review['changes']>[number]

type Tone = 'gray' | 'green' | 'red' | 'amber' | 'blue'

/** Each kind of change in words, with the tone of its risk. */
export const changeKinds: Record<string, { word: string; tone: Tone; hint: string }> = {
  column_added: { word: 'Column added', tone: 'green', hint: 'Approving adds the column to the destination table.' },
  column_removed: { word: 'Column removed', tone: 'amber', hint: 'The destination keeps the column; new rows leave it empty.' },
  type_widened: { word: 'Type widened', tone: 'blue', hint: 'Approving changes the column type so every value fits.' },
  type_narrowed: { word: 'Type narrowed', tone: 'amber', hint: 'The destination column still holds every value.' },
  type_incompatible: { word: 'Incompatible type', tone: 'red', hint: 'Approving converts the column; values that cannot convert fail the change.' },
  key_changed: { word: 'Key changed', tone: 'red', hint: 'Rows are matched by the new key from now on.' },
}

export function kindOf(kind: string) {
  return changeKinds[kind] ?? { word: kind.replaceAll('_', ' '), tone: 'gray' as Tone, hint: '' }
}

/** The banner of a run awaiting approval, or of a decided review. */
export function SchemaReviewBanner({ run, canReview }: { run: Run; canReview: boolean }) {
  const [open, setOpen] = useState(false)
  const review = run.schema_review
  if (!review) return null
  const changes = review.changes ?? []
  if (run.status !== 'awaiting_approval' || review.status !== 'pending') {
    const approved = review.status === 'approved'
    return (
      <div className="flex items-center gap-3 rounded-lg border border-slate-200 bg-white px-4 py-3 text-sm text-slate-700 dark:border-slate-800 dark:bg-slate-900 dark:text-slate-300">
        {approved ? <CheckCircle2 className="size-5 shrink-0 text-emerald-600" aria-hidden /> : <XCircle className="size-5 shrink-0 text-rose-600" aria-hidden />}
        <p>
          {changes.length} schema change{changes.length === 1 ? '' : 's'} of destination <strong>{review.node}</strong>{' '}
          {approved ? 'approved' : 'rejected'} by {review.decided_by || 'someone'}
          {review.decided_at ? ` on ${formatTime(review.decided_at)}` : ''}
          {review.comment ? <span className="text-slate-500 dark:text-slate-400"> — “{review.comment}”</span> : null}
        </p>
        <Button size="sm" variant="ghost" className="ml-auto" onClick={() => setOpen(true)}>View changes</Button>
        <SchemaReviewDialog run={run} open={open} onClose={() => setOpen(false)} canReview={false} />
      </div>
    )
  }
  return (
    <div role="status" className="flex flex-wrap items-center gap-3 rounded-lg border border-amber-300 bg-amber-50 px-4 py-3 text-sm text-amber-900 dark:border-amber-800 dark:bg-amber-950/40 dark:text-amber-200">
      <ShieldAlert className="size-5 shrink-0" aria-hidden />
      <div className="min-w-0 flex-1">
        <p className="font-semibold">Awaiting approval</p>
        <p className="mt-0.5">
          The source schema changed: {changes.length} change{changes.length === 1 ? '' : 's'} to destination{' '}
          <strong>{review.node}</strong> ({review.target}) wait for a review. Nothing was written to it; the run holds no worker.
        </p>
      </div>
      <Button variant="primary" icon={<GitCompareArrows className="size-4" aria-hidden />} onClick={() => setOpen(true)}>
        Review changes
      </Button>
      <SchemaReviewDialog run={run} open={open} onClose={() => setOpen(false)} canReview={canReview} />
    </div>
  )
}

/** The classified diff as a table. */
export function ChangeTable({ changes }: { changes: Change[] }) {
  return (
    <Table label="Schema changes">
      <thead>
        <tr>
          <Th>Column</Th>
          <Th>Change</Th>
          <Th>Old type</Th>
          <Th />
          <Th>New type</Th>
        </tr>
      </thead>
      <tbody>
        {changes.map((c) => {
          const k = kindOf(c.kind)
          return (
            <tr key={`${c.column}:${c.kind}`} title={k.hint}>
              <Td className="font-mono text-xs font-medium">{c.column || '(key)'}</Td>
              <Td><Badge tone={k.tone}>{k.word}</Badge></Td>
              <Td className="font-mono text-xs text-slate-500 dark:text-slate-400">{c.old_type || '—'}</Td>
              <Td><ArrowRight className="size-3.5 text-slate-400" aria-label="to" /></Td>
              <Td className="font-mono text-xs">{c.new_type || '—'}</Td>
            </tr>
          )
        })}
      </tbody>
    </Table>
  )
}

export function SchemaReviewDialog({ run, open, onClose, canReview }: { run: Run; open: boolean; onClose: () => void; canReview: boolean }) {
  const qc = useQueryClient()
  const [comment, setComment] = useState('')
  const [busy, setBusy] = useState<'approve' | 'reject' | null>(null)
  const [error, setError] = useState<unknown>(null)
  const review = run.schema_review
  if (!review) return null
  const pending = run.status === 'awaiting_approval' && review.status === 'pending'

  const decide = async (what: 'approve' | 'reject') => {
    setBusy(what)
    setError(null)
    try {
      const opts = { params: { path: { id: run.id } }, body: { comment: comment.trim() || undefined } }
      const r = await unwrap(
        what === 'approve'
          ? api.POST('/api/v1/runs/{id}/schema-review/approve', opts)
          : api.POST('/api/v1/runs/{id}/schema-review/reject', opts),
      )
      qc.setQueryData(runKeys.run(run.id), (old: Run | undefined) => ({ ...old, ...r }))
      void qc.invalidateQueries({ queryKey: runKeys.lists })
      if (what === 'approve') toast.success('Changes approved', 'The run is queued again and applies them before writing.')
      else toast.info('Changes rejected', 'The run failed; the destination is unchanged.')
      onClose()
    } catch (e) {
      setError(e)
    } finally {
      setBusy(null)
    }
  }

  return (
    <Dialog
      open={open}
      onClose={onClose}
      title="Review changes"
      wide
      footer={
        pending && canReview ? (
          <>
            <Button onClick={onClose}>Close</Button>
            <Button variant="danger" loading={busy === 'reject'} disabled={busy !== null} onClick={() => void decide('reject')}>Reject</Button>
            <Button variant="primary" loading={busy === 'approve'} disabled={busy !== null} onClick={() => void decide('approve')}>Approve</Button>
          </>
        ) : (
          <Button onClick={onClose}>Close</Button>
        )
      }
    >
      <div className="space-y-4 text-sm">
        <div className="grid grid-cols-2 gap-3 sm:grid-cols-3">
          <Meta label="Destination" value={review.node} />
          <Meta label="Table" value={review.target} mono />
          <Meta label="Policy" value={review.policy} />
        </div>
        <ChangeTable changes={review.changes ?? []} />
        <p className="text-xs text-slate-500 dark:text-slate-400">
          Compared with the schema of the last successful run and with the destination table. Approving applies the
          changes (columns added, types changed) and the run continues; rejecting fails the run and leaves the destination as it is.
        </p>
        {pending && canReview && (
          <Field label="Comment" help="Kept with the decision and in the audit log">
            {(p) => <Textarea {...p} rows={2} value={comment} onChange={(e) => setComment(e.target.value)} placeholder="Why you approve or reject" />}
          </Field>
        )}
        {pending && !canReview && (
          <p className="text-xs text-slate-500 dark:text-slate-400">A designer, developer or admin approves or rejects these changes.</p>
        )}
        <InlineError error={error} />
      </div>
    </Dialog>
  )
}

function Meta({ label, value, mono }: { label: string; value: string; mono?: boolean }) {
  return (
    <div className="rounded-lg border border-slate-200 px-3 py-2 dark:border-slate-800">
      <div className="text-xs font-medium text-slate-500 dark:text-slate-400">{label}</div>
      <div className={mono ? 'mt-0.5 truncate font-mono text-xs' : 'mt-0.5 truncate font-medium'}>{value}</div>
    </div>
  )
}

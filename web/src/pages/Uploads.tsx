import { useState } from 'react'
import { Link } from 'react-router'
import { CheckCircle2, FileSpreadsheet, FileJson, FileCode2, FileText, FileArchive, Trash2, Workflow, X, XCircle } from 'lucide-react'
import {
  Badge, Card, ConfirmDialog, EmptyState, ErrorState, IconButton, InlineError, PageHeader, Skeleton, Table, Td, Th,
} from '@/components/ui'
import { Pagination } from '@/components/ui/controls'
import { toast } from '@/components/toasts'
import { useCan } from '@/auth/session'
import { formatBytes, formatTime, relativeTime } from '@/lib/format'
import { cn } from '@/lib/cn'
import { DropZone } from '@/features/uploads/DropZone'
import { FILES_PER_PAGE, useDeleteFile, useFiles, useUploads, type UploadJob, type UploadedFile } from '@/features/uploads/uploads'

const formatIcon: Record<string, typeof FileText> = {
  csv: FileSpreadsheet, tsv: FileSpreadsheet, xlsx: FileSpreadsheet, json: FileJson, ndjson: FileJson, xml: FileCode2, gzip: FileArchive,
}

export default function Uploads() {
  const can = useCan()
  const write = can('files:write')
  const usable = can('pipelines:write')
  const [page, setPage] = useState(1)
  const q = useFiles(page)
  const { jobs, start, dismiss } = useUploads()
  const [deleting, setDeleting] = useState<UploadedFile | null>(null)
  const del = useDeleteFile()
  return (
    <div>
      <PageHeader title="Uploads" description="Files uploaded here can be read by a pipeline's file source." />
      <div className="space-y-6 p-6">
        {write && (
          <section aria-label="Upload files" className="space-y-3">
            <DropZone onFiles={start} />
            {jobs.length > 0 && (
              <ul aria-label="Uploads in progress" className="space-y-2">
                {jobs.map((j) => (
                  <UploadRow key={j.key} job={j} onDismiss={() => dismiss(j.key)} usable={usable} />
                ))}
              </ul>
            )}
          </section>
        )}
        <Card className="overflow-hidden">
          <div className="border-b border-slate-200 px-4 py-3 dark:border-slate-800">
            <h2 className="text-sm font-semibold">Uploaded files</h2>
          </div>
          {q.isPending ? (
            <div className="space-y-2 p-4">
              {Array.from({ length: 4 }, (_, i) => <Skeleton key={i} className="h-10" />)}
            </div>
          ) : q.isError ? (
            <ErrorState error={q.error} retry={() => void q.refetch()} title="Files could not be loaded" />
          ) : q.data.items.length === 0 ? (
            <EmptyState title="No files uploaded yet" icon={<FileText className="size-6" aria-hidden />}>
              {write ? 'Drop a CSV, JSON, XML or Excel file above to use it as a pipeline source.' : 'Files uploaded by designers appear here.'}
            </EmptyState>
          ) : (
            <>
              <Table label="Uploaded files">
                <thead className="bg-slate-50 dark:bg-slate-800/50">
                  <tr>
                    <Th>Name</Th>
                    <Th>Format</Th>
                    <Th className="text-right">Size</Th>
                    <Th>Uploaded by</Th>
                    <Th>Uploaded</Th>
                    <Th className="text-right"><span className="sr-only">Actions</span></Th>
                  </tr>
                </thead>
                <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
                  {q.data.items.map((f) => {
                    const Icon = formatIcon[f.format] ?? FileText
                    return (
                      <tr key={f.id}>
                        <Td>
                          <div className="flex items-center gap-2.5">
                            <Icon className="size-4 shrink-0 text-slate-400" aria-hidden />
                            <span className="font-medium">{f.name}</span>
                          </div>
                        </Td>
                        <Td><Badge className="uppercase">{f.format}</Badge></Td>
                        <Td className="text-right tabular-nums text-slate-600 dark:text-slate-300">{formatBytes(f.size)}</Td>
                        <Td className="text-slate-600 dark:text-slate-300">{f.uploaded_by}</Td>
                        <Td className="text-slate-500 dark:text-slate-400"><span title={formatTime(f.created_at)}>{relativeTime(f.created_at)}</span></Td>
                        <Td className="text-right">
                          <div className="flex justify-end gap-1">
                            {usable && (
                              <Link
                                to={`/pipelines/new?file=${encodeURIComponent(f.id)}`}
                                aria-label={`Use ${f.name} in a pipeline`}
                                className="inline-flex h-7 items-center gap-1 rounded-md px-2.5 text-xs font-medium text-brand-700 hover:bg-brand-50 dark:text-brand-300 dark:hover:bg-brand-500/10"
                              >
                                <Workflow className="size-3.5" aria-hidden /> Use in a pipeline
                              </Link>
                            )}
                            {write && (
                              <IconButton label={`Delete ${f.name}`} onClick={() => setDeleting(f)}>
                                <Trash2 className="size-4" aria-hidden />
                              </IconButton>
                            )}
                          </div>
                        </Td>
                      </tr>
                    )
                  })}
                </tbody>
              </Table>
              <Pagination page={page} perPage={FILES_PER_PAGE} total={q.data.total} onPage={setPage} label="Files pages" />
            </>
          )}
        </Card>
      </div>
      <ConfirmDialog
        open={!!deleting}
        title="Delete file"
        confirmLabel="Delete file"
        danger
        loading={del.isPending}
        onClose={() => {
          setDeleting(null)
          del.reset()
        }}
        onConfirm={() =>
          deleting &&
          del.mutate(deleting.id, {
            onSuccess: () => {
              toast.success('File deleted', deleting.name)
              setDeleting(null)
            },
          })
        }
      >
        <p>
          <strong>{deleting?.name}</strong> is removed from the server. Pipelines that read it will fail until they read another file.
        </p>
        {del.error ? <div className="mt-3"><InlineError error={del.error} /></div> : null}
      </ConfirmDialog>
    </div>
  )
}

function UploadRow({ job, onDismiss, usable }: { job: UploadJob; onDismiss: () => void; usable: boolean }) {
  const pct = Math.round(job.progress * 100)
  return (
    <li
      aria-label={`Upload of ${job.name}`}
      className={cn(
        'flex items-center gap-3 rounded-lg border bg-white px-4 py-3 dark:bg-slate-900',
        job.status === 'failed' ? 'border-rose-200 dark:border-rose-900' : 'border-slate-200 dark:border-slate-800',
      )}
    >
      {job.status === 'done' ? (
        <CheckCircle2 className="size-5 shrink-0 text-emerald-500" aria-hidden />
      ) : job.status === 'failed' ? (
        <XCircle className="size-5 shrink-0 text-rose-500" aria-hidden />
      ) : (
        <FileText className="size-5 shrink-0 text-slate-400" aria-hidden />
      )}
      <div className="min-w-0 flex-1 space-y-1">
        <div className="flex items-baseline justify-between gap-3 text-sm">
          <span className="truncate font-medium">{job.name}</span>
          <span className="shrink-0 text-xs tabular-nums text-slate-500">
            {formatBytes(job.size)}
            {job.status === 'uploading' && ` · ${pct}%`}
          </span>
        </div>
        {job.status === 'uploading' && (
          <div role="progressbar" aria-label={`Uploading ${job.name}`} aria-valuenow={pct} aria-valuemin={0} aria-valuemax={100} className="h-1.5 overflow-hidden rounded-full bg-slate-100 dark:bg-slate-800">
            <div className="h-full rounded-full bg-brand-600 transition-[width]" style={{ width: `${pct}%` }} />
          </div>
        )}
        {job.status === 'failed' && (
          <p role="alert" className="text-sm text-rose-700 dark:text-rose-300">{job.error}</p>
        )}
        {job.status === 'done' && <p className="text-xs text-emerald-700 dark:text-emerald-400">Uploaded</p>}
      </div>
      {job.status === 'done' && job.file && usable && (
        <Link
          to={`/pipelines/new?file=${encodeURIComponent(job.file.id)}`}
          className="inline-flex h-7 shrink-0 items-center gap-1 rounded-md bg-brand-50 px-2.5 text-xs font-medium text-brand-700 hover:bg-brand-100 dark:bg-brand-500/10 dark:text-brand-300 dark:hover:bg-brand-500/20"
        >
          <Workflow className="size-3.5" aria-hidden /> Use in a pipeline
        </Link>
      )}
      {job.status !== 'uploading' && (
        <IconButton label={`Dismiss ${job.name}`} onClick={onDismiss}>
          <X className="size-4" aria-hidden />
        </IconButton>
      )}
    </li>
  )
}

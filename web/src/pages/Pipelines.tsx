// /pipelines: every pipeline with search, its last run, and actions (open, run, duplicate, delete).
import { useEffect, useState } from 'react'
import { Link, useNavigate, useSearchParams } from 'react-router'
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { Copy, Pencil, Play, Plus, Search, Trash2, Workflow } from 'lucide-react'
import {
  Badge, Button, Card, ConfirmDialog, EmptyState, ErrorState, IconButton, Input, PageHeader, Skeleton, StatusBadge, Table, Td, Th,
} from '@/components/ui'
import { toast } from '@/components/toasts'
import { errorMessage } from '@/api/errors'
import { useCan } from '@/auth/session'
import { formatTime, relativeTime } from '@/lib/format'
import {
  deletePipeline, listPipelines, pipelineKeys, runPipeline, type Pipeline,
} from '@/features/pipelines/api'
import { duplicatePipeline } from '@/features/pipelines/duplicate'
import { NewPipelineDialog } from '@/features/pipelines/NewPipelineDialog'
import { ManagedBadge } from '@/features/ascode/Managed'
import { HealthCell, usePipelineHealth } from '@/features/pipelines/Health'

const PER_PAGE = 25

export default function Pipelines() {
  const [params, setParams] = useSearchParams()
  const q = params.get('q') ?? ''
  const page = Number(params.get('page') ?? '1') || 1
  const [term, setTerm] = useState(q)
  const [creating, setCreating] = useState(params.get('new') === '1')
  const [deleting, setDeleting] = useState<Pipeline | null>(null)
  const can = useCan()
  const qc = useQueryClient()
  const navigate = useNavigate()

  useEffect(() => {
    const t = setTimeout(() => {
      if (term === q) return
      const next = new URLSearchParams(params)
      if (term) next.set('q', term)
      else next.delete('q')
      next.delete('page')
      setParams(next, { replace: true })
    }, 250)
    return () => clearTimeout(t)
  }, [term, q, params, setParams])

  const list = useQuery({
    queryKey: pipelineKeys.list(q, page),
    queryFn: () => listPipelines(q, page, PER_PAGE),
    placeholderData: keepPreviousData,
    // Next run times move on: read them again every minute.
    refetchInterval: 60_000,
  })

  const health = usePipelineHealth(can('analytics:read'))

  const run = useMutation({
    mutationFn: (p: Pipeline) => runPipeline(p.id),
    onSuccess: (r, p) => {
      toast.success(`Run of ${p.name} queued`)
      void qc.invalidateQueries({ queryKey: pipelineKeys.lastRun(p.id) })
      navigate(`/runs/${r.id}`)
    },
    onError: (e, p) => toast.error(`Could not run ${p.name}`, errorMessage(e)),
  })
  const duplicate = useMutation({
    mutationFn: (p: Pipeline) => duplicatePipeline(p.id),
    onSuccess: (copy) => {
      toast.success(`Duplicated as ${copy.name}`)
      void qc.invalidateQueries({ queryKey: pipelineKeys.all })
    },
    onError: (e, p) => toast.error(`Could not duplicate ${p.name}`, errorMessage(e)),
  })
  const remove = useMutation({
    mutationFn: (p: Pipeline) => deletePipeline(p.id),
    onSuccess: (_, p) => {
      toast.success(`Deleted ${p.name}`)
      setDeleting(null)
      void qc.invalidateQueries({ queryKey: pipelineKeys.all })
    },
  })

  const items = list.data?.items ?? []
  const total = list.data?.total ?? 0
  const pages = Math.max(1, Math.ceil(total / PER_PAGE))

  return (
    <div>
      <PageHeader
        title="Pipelines"
        description="Move data from sources through transforms to destinations."
        actions={
          can('pipelines:write') && (
            <Button variant="primary" icon={<Plus className="size-4" aria-hidden />} onClick={() => setCreating(true)}>
              New pipeline
            </Button>
          )
        }
      />
      <div className="space-y-4 p-6">
        <div className="relative max-w-sm">
          <Search className="pointer-events-none absolute left-2.5 top-2.5 size-4 text-slate-400" aria-hidden />
          <Input
            type="search"
            aria-label="Search pipelines"
            placeholder="Search by name or description"
            className="pl-8"
            value={term}
            onChange={(e) => setTerm(e.target.value)}
          />
        </div>
        <Card>
          {list.isLoading ? (
            <div className="space-y-3 p-4">
              {[0, 1, 2, 3].map((i) => (
                <Skeleton key={i} className="h-10" />
              ))}
            </div>
          ) : list.error ? (
            <ErrorState error={list.error} retry={() => void list.refetch()} title="Could not load the pipelines" />
          ) : items.length === 0 ? (
            q ? (
              <EmptyState title={`No pipeline matches “${q}”`} icon={<Search className="size-6" aria-hidden />}>
                Try another name or clear the search.
              </EmptyState>
            ) : (
              <EmptyState
                title="No pipelines yet"
                icon={<Workflow className="size-6" aria-hidden />}
                action={
                  can('pipelines:write') && (
                    <Button variant="primary" icon={<Plus className="size-4" aria-hidden />} onClick={() => setCreating(true)}>
                      New pipeline
                    </Button>
                  )
                }
              >
                Build your first pipeline on the canvas, or start from a template.
              </EmptyState>
            )
          ) : (
            <Table label="Pipelines">
              <thead>
                <tr>
                  <Th>Name</Th>
                  <Th className="hidden md:table-cell">Version</Th>
                  <Th>Last run</Th>
                  {can('analytics:read') && <Th className="hidden xl:table-cell">Health (7 days)</Th>}
                  <Th className="hidden sm:table-cell">Next run</Th>
                  <Th className="hidden lg:table-cell">Updated</Th>
                  <Th className="text-right">
                    <span className="sr-only">Actions</span>
                  </Th>
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
                {items.map((p) => (
                  <tr key={p.id} className="hover:bg-slate-50/70 dark:hover:bg-slate-800/40">
                    <Td>
                      <Link to={`/pipelines/${p.id}`} className="font-medium text-slate-900 hover:text-brand-700 dark:text-slate-100 dark:hover:text-brand-300">
                        {p.name}
                      </Link>
                      {p.draft && (
                        <Badge className="ml-2" tone="amber">
                          Draft
                        </Badge>
                      )}
                      <ManagedBadge managed={p.managed} className="ml-2" />
                      {p.description && <p className="max-w-md truncate text-xs text-slate-500 dark:text-slate-400">{p.description}</p>}
                    </Td>
                    <Td className="hidden text-slate-500 md:table-cell dark:text-slate-400">v{p.version}</Td>
                    <Td>
                      <LastRun pipeline={p} />
                    </Td>
                    {can('analytics:read') && (
                      <Td className="hidden xl:table-cell">
                        <HealthCell health={health.data?.get(p.id)} />
                      </Td>
                    )}
                    <Td className="hidden sm:table-cell">
                      <NextRun pipeline={p} />
                    </Td>
                    <Td className="hidden text-slate-500 lg:table-cell dark:text-slate-400">
                      <span title={formatTime(p.updated_at)}>{relativeTime(p.updated_at)}</span>
                    </Td>
                    <Td className="text-right">
                      <div className="flex justify-end gap-0.5">
                        <IconButton label={`Open ${p.name}`} onClick={() => navigate(`/pipelines/${p.id}`)}>
                          <Pencil className="size-4" aria-hidden />
                        </IconButton>
                        {can('pipelines:run') && (
                          <IconButton label={`Run ${p.name}`} disabled={run.isPending} onClick={() => run.mutate(p)}>
                            <Play className="size-4" aria-hidden />
                          </IconButton>
                        )}
                        {can('pipelines:write') && (
                          <>
                            <IconButton label={`Duplicate ${p.name}`} disabled={duplicate.isPending} onClick={() => duplicate.mutate(p)}>
                              <Copy className="size-4" aria-hidden />
                            </IconButton>
                            <IconButton
                              label={`Delete ${p.name}`}
                              className="hover:!text-rose-600"
                              onClick={() => {
                                remove.reset()
                                setDeleting(p)
                              }}
                            >
                              <Trash2 className="size-4" aria-hidden />
                            </IconButton>
                          </>
                        )}
                      </div>
                    </Td>
                  </tr>
                ))}
              </tbody>
            </Table>
          )}
          {total > PER_PAGE && (
            <div className="flex items-center justify-between border-t border-slate-200 px-4 py-2 text-sm text-slate-500 dark:border-slate-800">
              <span>
                Page {page} of {pages} · {total} pipelines
              </span>
              <div className="flex gap-2">
                <Button size="sm" disabled={page <= 1} onClick={() => setParams({ ...Object.fromEntries(params), page: String(page - 1) })}>
                  Previous
                </Button>
                <Button size="sm" disabled={page >= pages} onClick={() => setParams({ ...Object.fromEntries(params), page: String(page + 1) })}>
                  Next
                </Button>
              </div>
            </div>
          )}
        </Card>
      </div>
      <NewPipelineDialog open={creating} onClose={() => setCreating(false)} />
      <ConfirmDialog
        open={!!deleting}
        title={`Delete ${deleting?.name ?? ''}?`}
        confirmLabel="Delete pipeline"
        danger
        loading={remove.isPending}
        onClose={() => setDeleting(null)}
        onConfirm={() => deleting && remove.mutate(deleting)}
      >
        <p>It disappears from the list and can no longer run. Its versions and past runs are kept.</p>
        {remove.error && <p role="alert" className="mt-3 text-rose-600 dark:text-rose-400">{errorMessage(remove.error)}</p>}
      </ConfirmDialog>
    </div>
  )
}

/** The pipeline's newest run, from the list DTO (last_run, absent when it never ran). */
function LastRun({ pipeline }: { pipeline: Pipeline }) {
  const r = pipeline.last_run
  if (!r) return <span className="text-sm text-slate-400">Never run</span>
  return <RunCell status={r.status} at={r.finished_at ?? r.created_at} id={r.id} />
}

/** When the schedule runs the pipeline next (schedule.next_runs[0]), Paused, or nothing without a schedule. */
function NextRun({ pipeline }: { pipeline: Pipeline }) {
  const s = pipeline.schedule
  if (!s) return <span className="text-sm text-slate-400">Not scheduled</span>
  const next = s.next_runs[0]
  return (
    <div className="min-w-0">
      {s.paused ? (
        <Badge tone="amber">Paused</Badge>
      ) : next ? (
        <span className="text-sm text-slate-700 dark:text-slate-200" title={formatTime(next, s.timezone) + ' (' + s.timezone + ')'}>
          {relativeTime(next)}
        </span>
      ) : (
        <span className="text-sm text-slate-400">No upcoming run</span>
      )}
      <p className="max-w-[14rem] truncate text-xs text-slate-500 dark:text-slate-400" title={`${s.cron} · ${s.timezone}`}>
        {s.description}
      </p>
    </div>
  )
}

function RunCell({ status, at, id }: { status?: string; at?: string; id?: string }) {
  if (!status) return <span className="text-sm text-slate-400">Never run</span>
  const body = (
    <span className="inline-flex items-center gap-2">
      <StatusBadge status={status} />
      <span className="text-xs text-slate-500 dark:text-slate-400" title={formatTime(at)}>
        {relativeTime(at)}
      </span>
    </span>
  )
  return id ? (
    <Link to={`/runs/${id}`} className="rounded-md">
      {body}
    </Link>
  ) : (
    body
  )
}

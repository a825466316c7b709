// /runs/:id: one run, live. Header with the status as a word, "replay of run X", timings and error;
// the pipeline's DAG with per-node counters; tabs for dead letters (fix and replay), the log tail
// and the file outputs; the attempts (worker, start, end, why each stopped); the chunks of a
// partitioned run; Cancel while it runs.
import { useState } from 'react'
import { Link, useParams, useSearchParams } from 'react-router'
import { useQueryClient } from '@tanstack/react-query'
import { ArrowLeft, Ban, History, RotateCcw, Workflow, XCircle } from 'lucide-react'
import {
  Button, Card, ConfirmDialog, ErrorState, InlineError, PageHeader, Skeleton, StatusBadge, Tabs,
} from '@/components/ui'
import { toast } from '@/components/toasts'
import { useCan } from '@/auth/session'
import { cn } from '@/lib/cn'
import { formatCount, formatDuration, formatTime } from '@/lib/format'
import { cancelRun, chunkTotals, controlRun, isActive, runKeys, type Control, useRun, useRunPipeline, type Run as RunT } from '@/features/runs/queries'
import { Chunks } from '@/features/runs/Chunks'
import { Deployment } from '@/features/runs/Deployment'
import { useLiveRun } from '@/features/runs/useLive'
import { LiveIndicator } from '@/features/runs/LiveIndicator'
import { RunGraph } from '@/features/runs/RunGraph'
import { LogTail } from '@/features/runs/LogTail'
import { Outputs } from '@/features/runs/Outputs'
import { DeadLetters } from '@/features/runs/DeadLetters'
import { rowsRead, rowsRejected, rowsWritten, runDuration, shortId } from '@/features/runs/format'
import { TriggeredBy } from '@/features/runs/Trigger'
import { useNow } from '@/features/runs/useNow'
import { Attempts } from '@/features/runs/Attempts'
import { SchemaReviewBanner } from '@/features/runs/SchemaReview'
import type { RunAttempt } from '@/features/workers/types'


type Tab = 'dead-letters' | 'logs' | 'outputs'

export default function RunPage() {
  const { id = '' } = useParams()
  const live = useLiveRun(id)
  const run = useRun(id, !live)
  const pipeline = useRunPipeline(run.data?.pipeline_id, run.data?.pipeline_version)

  if (run.isError) {
    return (
      <div>
        <PageHeader title="Run" breadcrumb={<Link to="/runs" className="hover:underline">Runs</Link>} />
        <ErrorState error={run.error} retry={() => void run.refetch()} title="Could not load the run" />
      </div>
    )
  }
  if (run.isPending) {
    return (
      <div className="space-y-4 p-6" aria-busy="true">
        <Skeleton className="h-10 w-1/3" />
        <Skeleton className="h-24 w-full" />
        <Skeleton className="h-72 w-full" />
      </div>
    )
  }
  return <RunView run={run.data} live={live} pipelineName={pipeline.data?.name} currentVersion={pipeline.data?.currentVersion} spec={pipeline.data?.spec} pipelineError={pipeline.error} />
}

function RunView({
  run, live, pipelineName, currentVersion, spec, pipelineError,
}: {
  run: RunT
  live: boolean
  pipelineName?: string
  currentVersion?: number
  spec?: Parameters<typeof RunGraph>[0]['spec']
  pipelineError: unknown
}) {
  const can = useCan()
  const qc = useQueryClient()
  const active = isActive(run.status)
  const now = useNow(active)
  const [params, setParams] = useSearchParams()
  const [node, setNode] = useState<string | null>(null)
  const [confirmCancel, setConfirmCancel] = useState(false)
  const [cancelling, setCancelling] = useState(false)
  const [cancelError, setCancelError] = useState<unknown>(null)
  const deadCount = run.dead_letters ?? rowsRejected(run)
  const tab = (params.get('tab') as Tab | null) ?? (!active && deadCount > 0 ? 'dead-letters' : 'logs')
  const setTab = (t: Tab) => {
    const q = new URLSearchParams(params)
    q.set('tab', t)
    setParams(q, { replace: true })
  }
  const name = pipelineName ?? 'Pipeline'
  // attempts come with GET /api/v1/runs/{id} (typed by hand until they are in the generated types)
  const attempts = (run as RunT & { attempts?: RunAttempt[] | null }).attempts ?? []
  // a partitioned run: its live rows and rate are its chunks' sums
  const chunks = chunkTotals(run)
  const deployed = run.deployment != null
  const partitioned = chunks.total > 0 && !deployed
  const read = partitioned && active ? Math.max(chunks.read, rowsRead(run)) : rowsRead(run)
  const written = partitioned && active ? Math.max(chunks.written, rowsWritten(run)) : rowsWritten(run)
  const rate = deployed ? run.deployment?.rows_per_second : partitioned ? (chunks.by.running > 0 ? chunks.rate : null) : run.rows_per_second

  const doControl = async (c: Control) => {
    const r = await controlRun(run.id, c)
    qc.setQueryData(runKeys.run(run.id), (old: RunT | undefined) => ({ ...old, ...r }))
    toast.info(`${c.charAt(0).toUpperCase() + c.slice(1)} requested`, 'Each instance commits what it read at its next heartbeat.')
  }

  const doCancel = async () => {
    setCancelling(true)
    setCancelError(null)
    try {
      const r = await cancelRun(run.id)
      qc.setQueryData(runKeys.run(run.id), (old: RunT | undefined) => ({ ...old, ...r }))
      toast.info('Cancel requested', 'The run stops at its next batch; destinations keep what they had.')
      setConfirmCancel(false)
    } catch (e) {
      setCancelError(e)
    } finally {
      setCancelling(false)
    }
  }

  return (
    <div>
      <PageHeader
        breadcrumb={
          <span className="flex items-center gap-1.5">
            <Link to="/runs" className="inline-flex items-center gap-1 hover:underline">
              <ArrowLeft className="size-3" aria-hidden /> Runs
            </Link>
            <span aria-hidden>/</span>
            <Link to={`/pipelines/${run.pipeline_id}`} className="hover:underline">{name}</Link>
          </span>
        }
        title={
          <span className="flex items-center gap-3">
            <span className="truncate">{name}</span>
            <span className="text-base font-normal text-slate-400">run {shortId(run.id)}</span>
            <span className="text-sm">
              <StatusBadge status={run.status} />
            </span>
          </span>
        }
        description={
          <span className="flex flex-wrap items-center gap-x-3 gap-y-1">
            <span>Version {run.pipeline_version}</span>
            <TriggeredBy run={run} />
            {run.attempt > 1 && <span>Attempt {run.attempt}</span>}
            {run.replay_of && (
              <Link to={`/runs/${run.replay_of}`} className="inline-flex items-center gap-1 font-medium text-brand-700 hover:underline dark:text-brand-300">
                <History className="size-3.5" aria-hidden />
                Replay of run {shortId(run.replay_of)}
              </Link>
            )}
          </span>
        }
        actions={
          <>
            <LiveIndicator />
            <Link to={`/pipelines/${run.pipeline_id}`}>
              <Button icon={<Workflow className="size-4" aria-hidden />}>Open pipeline</Button>
            </Link>
            {(active || run.status === 'awaiting_approval') && can('pipelines:cancel') && (
              <Button
                variant="danger"
                icon={<Ban className="size-4" aria-hidden />}
                disabled={run.cancel_requested}
                onClick={() => setConfirmCancel(true)}
              >
                {run.cancel_requested ? 'Cancelling…' : 'Cancel'}
              </Button>
            )}
          </>
        }
      />
      <div className="space-y-5 p-6">
        {active && !partitioned && (
          <div className="h-1 overflow-hidden rounded-full bg-slate-200 dark:bg-slate-800" role="progressbar" aria-label="Run progress" aria-valuetext={run.status === 'queued' ? 'Waiting for a worker' : 'Running'}>
            <div className={cn('h-full w-1/3 rounded-full bg-brand-500', run.status === 'running' ? 'animate-[progress_1.4s_ease-in-out_infinite]' : 'opacity-40')} />
          </div>
        )}
        <SchemaReviewBanner run={run} canReview={can('runs:review')} />
        {run.status === 'failed' && run.error && (
          <div role="alert" className="flex items-start gap-3 rounded-lg border border-rose-200 bg-rose-50 p-4 text-sm text-rose-800 dark:border-rose-900 dark:bg-rose-950/40 dark:text-rose-300">
            <XCircle className="mt-0.5 size-5 shrink-0" aria-hidden />
            <div>
              <p className="font-medium">The run failed</p>
              <p className="mt-1 whitespace-pre-wrap break-words font-mono text-xs">{run.error}</p>
            </div>
          </div>
        )}

        <dl className="grid grid-cols-2 gap-3 sm:grid-cols-4 lg:grid-cols-7">
          <Stat label="Started" value={formatTime(run.started_at)} />
          <Stat label="Finished" value={active ? '—' : formatTime(run.finished_at)} />
          <Stat label="Duration" value={formatDuration(runDuration(run, now))} />
          <Stat label="Rows read" value={formatCount(read)} />
          <Stat label="Rows written" value={formatCount(written)} />
          <Stat label="Rejected" value={formatCount(rowsRejected(run))} tone={rowsRejected(run) > 0 ? 'bad' : undefined} />
          <Stat label="Rows/s" value={active && rate != null ? formatCount(Math.round(rate)) : '—'} />
        </dl>

        {deployed && <Deployment run={run} canControl={can('runs:control')} onControl={doControl} />}
        {partitioned && <Chunks run={run} linkWorkers={can('workers:read')} />}

        {run.trigger_detail?.payload != null && (
          <Card className="overflow-hidden">
            <div className="flex items-center justify-between border-b border-slate-200 px-4 py-3 dark:border-slate-800">
              <h2 className="text-sm font-semibold">Webhook payload</h2>
              <span className="text-xs text-slate-500 dark:text-slate-400">The JSON body of the call that started this run</span>
            </div>
            <pre aria-label="Webhook payload" className="max-h-60 overflow-auto bg-slate-50 p-4 font-mono text-xs leading-relaxed dark:bg-slate-950">
              {JSON.stringify(run.trigger_detail.payload, null, 2)}
            </pre>
          </Card>
        )}

        {attempts.length > 0 && (
          <Card className="overflow-hidden">
            <div className="flex items-center justify-between border-b border-slate-200 px-4 py-3 dark:border-slate-800">
              <h2 className="text-sm font-semibold">Attempts</h2>
              <span className="text-xs text-slate-500 dark:text-slate-400">
                {attempts.length === 1 ? 'One attempt' : `${attempts.length} attempts`}
              </span>
            </div>
            <Attempts attempts={attempts} linkWorkers={can('workers:read')} now={now} />
          </Card>
        )}

        <Card className="p-4">
          <div className="mb-3 flex items-center justify-between">
            <h2 className="text-sm font-semibold">Pipeline</h2>
            {node && (
              <Button size="sm" variant="ghost" onClick={() => setNode(null)}>
                Showing node {node} · show all
              </Button>
            )}
          </div>
          {spec ? (
            <RunGraph run={run} spec={spec} selected={node} onSelect={setNode} />
          ) : pipelineError ? (
            <InlineError error={pipelineError} />
          ) : (
            <Skeleton className="h-[300px] w-full" />
          )}
        </Card>

        <Card className="p-4">
          <Tabs<Tab>
            label="Run details"
            value={tab}
            onChange={setTab}
            tabs={[
              { id: 'dead-letters', label: 'Dead letters', count: active ? undefined : deadCount },
              { id: 'logs', label: 'Logs' },
              { id: 'outputs', label: 'Outputs' },
            ]}
          />
          <div role="tabpanel" aria-labelledby={`tab-${tab}`} className="pt-4">
            {tab === 'dead-letters' ? (
              <DeadLetters
                run={run}
                canReplay={can('runs:replay')}
                node={node}
                onNode={setNode}
                pipelineName={name}
                currentVersion={currentVersion}
              />
            ) : tab === 'logs' ? (
              <LogTail run={run} live={live} />
            ) : (
              <Outputs run={run} />
            )}
          </div>
        </Card>
        {!live && active && (
          <p className="text-xs text-slate-500 dark:text-slate-400">
            <RotateCcw className="mr-1 inline size-3" aria-hidden />
            Live updates are not connected; this page refreshes every few seconds.
          </p>
        )}
      </div>
      <ConfirmDialog
        open={confirmCancel}
        title="Cancel this run?"
        confirmLabel="Cancel run"
        danger
        loading={cancelling}
        onConfirm={() => void doCancel()}
        onClose={() => setConfirmCancel(false)}
      >
        <p>The run stops at its next batch{partitioned ? ' (every running chunk; queued chunks never start)' : ''}. Destinations that commit at the end (overwrite) keep their old data; rows already committed by append destinations stay.</p>
        <div className="mt-3"><InlineError error={cancelError} /></div>
      </ConfirmDialog>
    </div>
  )
}

function Stat({ label, value, tone }: { label: string; value: string; tone?: 'bad' }) {
  return (
    <div className="rounded-lg border border-slate-200 bg-white px-3 py-2.5 dark:border-slate-800 dark:bg-slate-900">
      <dt className="text-xs font-medium text-slate-500 dark:text-slate-400">{label}</dt>
      <dd className={cn('mt-0.5 text-sm font-semibold tabular-nums', tone === 'bad' && 'text-rose-600 dark:text-rose-400')}>{value}</dd>
    </div>
  )
}

// What started a run, as the run lists show it (a badge) and the run page says it ("Triggered by
// webhook (token aggwh_1a2B3c4D…)", "After run 0199c1de of pipeline raw-orders", with links).
// docs/runs.md#triggers lists the kinds and their details.
import { Link } from 'react-router'
import { CalendarClock, Code2, GitBranch, Hand, History, Terminal, Webhook, type LucideIcon } from 'lucide-react'
import { Badge } from '@/components/ui'
import type { Run } from './queries'
import { shortId, triggerLabel } from './format'
import { formatTime } from '@/lib/format'

const icons: Record<string, LucideIcon> = {
  manual: Hand, api: Code2, schedule: CalendarClock, webhook: Webhook, dependency: GitBranch, replay: History,
}
const tones: Record<string, 'gray' | 'blue' | 'green' | 'amber'> = { schedule: 'blue', webhook: 'amber', dependency: 'green' }

/** The trigger as a small badge with its icon (CLI runs show as Manual · CLI). */
export function TriggerBadge({ run }: { run: Pick<Run, 'trigger' | 'trigger_detail'> }) {
  const cli = run.trigger === 'manual' && run.trigger_detail?.via === 'cli'
  const Icon = cli ? Terminal : (icons[run.trigger] ?? Hand)
  return (
    <Badge tone={tones[run.trigger] ?? 'gray'}>
      <Icon className="size-3" aria-hidden />
      {triggerLabel(run.trigger)}
      {cli && <span className="font-normal opacity-70">· CLI</span>}
    </Badge>
  )
}

/** One line saying what started the run, with links to the upstream run and pipeline. */
export function TriggeredBy({ run }: { run: Pick<Run, 'trigger' | 'trigger_detail' | 'actor_name'> }) {
  const d = run.trigger_detail
  const by = d?.user || run.actor_name
  switch (run.trigger) {
    case 'webhook':
      return (
        <span data-testid="triggered-by">
          Triggered by webhook{d?.token_prefix && <> (token <code className="font-mono text-[0.8rem]">{d.token_prefix}…</code>)</>}
        </span>
      )
    case 'dependency':
      return (
        <span data-testid="triggered-by" className="inline-flex flex-wrap items-center gap-1">
          <GitBranch className="size-3.5" aria-hidden />
          After
          {d?.upstream_run_id ? (
            <Link to={`/runs/${d.upstream_run_id}`} className="font-medium text-brand-700 hover:underline dark:text-brand-300">
              run {shortId(d.upstream_run_id)}
            </Link>
          ) : (
            'a run'
          )}
          of pipeline
          {d?.upstream_pipeline_id ? (
            <Link to={`/pipelines/${d.upstream_pipeline_id}`} className="font-medium text-brand-700 hover:underline dark:text-brand-300">
              {d.upstream_pipeline_name || shortId(d.upstream_pipeline_id)}
            </Link>
          ) : (
            d?.upstream_pipeline_name
          )}
          succeeded
        </span>
      )
    case 'schedule':
      return (
        <span data-testid="triggered-by">
          {d?.catch_up ? 'Catch-up run of its schedule' : 'Started by its schedule'}
          {d?.tick && (
            <>
              {' '}for <time dateTime={d.tick} title={d.tick}>{formatTime(d.tick)}</time>
            </>
          )}
        </span>
      )
    case 'manual':
      return (
        <span data-testid="triggered-by">
          Manual{by ? ` by ${by}` : ''}
          {d?.via === 'cli' ? ' (aggregator trigger)' : ''}
        </span>
      )
    default:
      return (
        <span data-testid="triggered-by">
          {triggerLabel(run.trigger)}
          {by ? ` by ${by}` : ''}
        </span>
      )
  }
}

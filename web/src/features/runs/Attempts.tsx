import { Link } from 'react-router'
import { Badge, Table, Td, Th } from '@/components/ui'
import { formatDuration, formatTime } from '@/lib/format'
import type { RunAttempt } from '@/features/workers/types'

type Tone = 'gray' | 'green' | 'red' | 'amber' | 'blue'

/** How an attempt ended, in words (the server's outcome names are documented in docs/runs.md). */
export const outcomes: Record<string, { tone: Tone; word: string }> = {
  running: { tone: 'blue', word: 'Running' },
  succeeded: { tone: 'green', word: 'Succeeded' },
  failed: { tone: 'red', word: 'Failed' },
  cancelled: { tone: 'amber', word: 'Cancelled' },
  retry: { tone: 'amber', word: 'Failed, retried' },
  interrupted: { tone: 'gray', word: 'Interrupted' },
  lost: { tone: 'red', word: 'Worker lost' },
  partitioned: { tone: 'blue', word: 'Split into chunks' },
  awaiting_approval: { tone: 'amber', word: 'Paused for a schema review' },
}

/** Why an attempt stopped when the server gave no error text. */
const defaultReason: Record<string, string> = {
  interrupted: 'Its worker shut down; the run went back to the queue and resumes from its last checkpoint.',
  lost: 'Its worker stopped sending heartbeats; another worker took the run over from its last checkpoint.',
  partitioned: 'The run was split into key ranges; its chunks run as jobs of their own on every worker.',
  awaiting_approval: 'Schema changes waited for a review; an approval starts the next attempt.',
}

/** Every attempt of a run: number, worker, start, end and why it stopped. */
export function Attempts({ attempts, linkWorkers, now }: { attempts: RunAttempt[]; linkWorkers: boolean; now: number }) {
  return (
    <Table label="Attempts">
      <thead>
        <tr>
          <Th className="w-10">#</Th>
          <Th>Worker</Th>
          <Th>Started</Th>
          <Th>Ended</Th>
          <Th className="text-right">Took</Th>
          <Th>Outcome</Th>
          <Th>Why it stopped</Th>
        </tr>
      </thead>
      <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
        {attempts.map((a) => {
          const o = outcomes[a.outcome] ?? { tone: 'gray' as const, word: a.outcome }
          const end = a.finished_at ? Date.parse(a.finished_at) : a.outcome === 'running' ? now : null
          const reason = a.error || defaultReason[a.outcome] || ''
          return (
            <tr key={a.number} aria-label={`Attempt ${a.number}`}>
              <Td className="tabular-nums text-slate-500">{a.number}</Td>
              <Td className="font-mono text-xs">
                {a.worker_id ? (linkWorkers ? <Link to="/workers" className="hover:underline">{a.worker_id}</Link> : a.worker_id) : '—'}
              </Td>
              <Td><time dateTime={a.started_at}>{formatTime(a.started_at)}</time></Td>
              <Td>{a.finished_at ? <time dateTime={a.finished_at}>{formatTime(a.finished_at)}</time> : '—'}</Td>
              <Td className="text-right tabular-nums">{end !== null ? formatDuration(end - Date.parse(a.started_at)) : '—'}</Td>
              <Td><Badge tone={o.tone}>{o.word}</Badge></Td>
              <Td className="max-w-md">
                {reason ? <span className="line-clamp-3 whitespace-pre-wrap break-words text-xs" title={reason}>{reason}</span> : <span className="text-slate-400">—</span>}
              </Td>
            </tr>
          )
        })}
      </tbody>
    </Table>
  )
}

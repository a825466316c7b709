// One alert: what fired, its history (fired, acknowledged, silenced, resolved, throttled, failed
// deliveries) and every notification with its attempts and last error.
import { Link, useParams } from 'react-router'
import { ArrowLeft } from 'lucide-react'
import { Card, ErrorState, PageHeader, Skeleton, Table, Td, Th } from '@/components/ui'
import { DefinitionList } from '@/components/ui/controls'
import { formatTime, relativeTime } from '@/lib/format'
import { useAlert } from '@/features/alerts/api'
import { AlertActions, AlertStateBadge, DeliveryBadge } from './Alerts'

const eventLabel: Record<string, string> = {
  fired: 'Fired', resolved: 'Resolved', acknowledged: 'Acknowledged', silenced: 'Silenced', unsilenced: 'Silence lifted',
  throttled: 'Not notified (throttled)', delivery_failed: 'Delivery failed',
}

export default function AlertDetail() {
  const { id = '' } = useParams()
  const q = useAlert(id)
  const back = (
    <Link to="/alerts" className="inline-flex items-center gap-1 hover:text-slate-900 dark:hover:text-white">
      <ArrowLeft className="size-3" aria-hidden /> Alerts
    </Link>
  )
  if (q.isPending) {
    return (
      <div>
        <PageHeader title={<Skeleton className="h-7 w-72" />} breadcrumb={back} />
        <div className="space-y-4 p-6"><Skeleton className="h-40" /><Skeleton className="h-40" /></div>
      </div>
    )
  }
  if (q.isError) {
    return (
      <div>
        <PageHeader title="Alert" breadcrumb={back} />
        <ErrorState error={q.error} retry={() => void q.refetch()} title="The alert could not be loaded" />
      </div>
    )
  }
  const a = q.data
  return (
    <div>
      <PageHeader title={a.title} breadcrumb={back} description={a.message} actions={<AlertActions alert={a} />} />
      <div className="grid gap-4 p-6 lg:grid-cols-[minmax(0,1fr)_22rem]">
        <div className="space-y-4">
          <Card>
            <h2 className="border-b border-slate-200 px-4 py-3 text-sm font-semibold dark:border-slate-800">Notifications</h2>
            {a.deliveries.length === 0 ? (
              <p className="px-4 py-6 text-sm text-slate-500 dark:text-slate-400">
                {a.notified ? 'Queued…' : 'None: the rule has no channel, or the alert was throttled or silenced.'}
              </p>
            ) : (
              <Table label="Deliveries">
                <thead className="bg-slate-50 dark:bg-slate-800/50">
                  <tr>
                    <Th>Channel</Th>
                    <Th>Event</Th>
                    <Th>Status</Th>
                    <Th>Attempts</Th>
                    <Th>Last error</Th>
                  </tr>
                </thead>
                <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
                  {a.deliveries.map((d) => (
                    <tr key={d.id} aria-label={`Delivery to ${d.channel_name} (${d.event})`}>
                      <Td className="font-medium">{d.channel_name}</Td>
                      <Td className="capitalize text-slate-600 dark:text-slate-300">{d.event}</Td>
                      <Td><DeliveryBadge d={d} /></Td>
                      <Td className="tabular-nums text-slate-600 dark:text-slate-300">{d.attempts}</Td>
                      <Td className="max-w-sm text-xs text-rose-700 dark:text-rose-400">{d.last_error || <span className="text-slate-400">—</span>}</Td>
                    </tr>
                  ))}
                </tbody>
              </Table>
            )}
          </Card>
          <Card>
            <h2 className="border-b border-slate-200 px-4 py-3 text-sm font-semibold dark:border-slate-800">History</h2>
            <ol className="space-y-4 px-4 py-4" aria-label="History">
              {a.history.map((h, i) => (
                <li key={i} className="flex gap-3">
                  <span aria-hidden className={`mt-1.5 size-2 shrink-0 rounded-full ${h.kind === 'fired' || h.kind === 'delivery_failed' ? 'bg-rose-500' : h.kind === 'resolved' ? 'bg-emerald-500' : 'bg-slate-400'}`} />
                  <div className="min-w-0">
                    <p className="text-sm font-medium">
                      {eventLabel[h.kind] ?? h.kind}
                      {h.actor && <span className="font-normal text-slate-500 dark:text-slate-400"> by {h.actor}</span>}
                    </p>
                    {h.message && <p className="break-words text-sm text-slate-600 dark:text-slate-300">{h.message}</p>}
                    <p className="text-xs text-slate-500 dark:text-slate-400" title={formatTime(h.time)}>{relativeTime(h.time)}</p>
                  </div>
                </li>
              ))}
            </ol>
          </Card>
        </div>
        <Card className="h-fit p-4">
          <DefinitionList
            items={[
              ['State', <AlertStateBadge key="s" alert={a} />],
              ['Rule', a.rule_name],
              ...(a.subject && a.subject !== a.pipeline_id ? [['Subject', a.subject] as [string, React.ReactNode]] : []),
              ['Fired', formatTime(a.fired_at)],
              ['Resolved', a.resolved_at ? formatTime(a.resolved_at) : '—'],
              ['Acknowledged', a.acknowledged_at ? `${a.acknowledged_by}, ${relativeTime(a.acknowledged_at)}` : '—'],
              ['Silenced until', a.silenced_until ? formatTime(a.silenced_until) : '—'],
              ...(a.pipeline_id ? [['Pipeline', <Link key="p" className="text-brand-700 hover:underline dark:text-brand-300" to={`/pipelines/${a.pipeline_id}`}>Open pipeline</Link>] as [string, React.ReactNode]] : []),
              ...(a.run_id ? [['Run', <Link key="r" className="text-brand-700 hover:underline dark:text-brand-300" to={`/runs/${a.run_id}`}>Open run</Link>] as [string, React.ReactNode]] : []),
            ]}
          />
        </Card>
      </div>
    </div>
  )
}

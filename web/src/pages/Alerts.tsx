// Operate > Alerts: what fires now (acknowledge, silence for a while), the rules that raise alerts
// and the channels they notify, each on its own tab (/alerts, /alerts/rules, /alerts/channels).
import { useMemo, useState } from 'react'
import { Link, useLocation, useNavigate } from 'react-router'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { BellOff, BellRing, CheckCircle2, Pencil, Plus, Send, ShieldAlert, Trash2 } from 'lucide-react'
import {
  Badge, Button, Card, ConfirmDialog, Dialog, EmptyState, ErrorState, IconButton, PageHeader, Select, Skeleton, Table, Tabs, Td, Th,
} from '@/components/ui'
import { Pagination } from '@/components/ui/controls'
import { toast } from '@/components/toasts'
import { errorMessage } from '@/api/errors'
import { useCan } from '@/auth/session'
import { formatTime, relativeTime } from '@/lib/format'
import { listPipelines } from '@/features/pipelines/api'
import {
  ALERTS_PER_PAGE, acknowledge, alertKeys, deleteChannel, deleteRule, saveChannel, saveRule, silence, testChannel, useAlerts, useChannels,
  useRules, type Alert, type AlertChannel, type AlertDelivery, type AlertRule,
} from '@/features/alerts/api'
import { channelTarget, channelToForm, channelTypes, conditionSpec, emptyChannel, emptyRule, ruleToForm, silenceChoices } from '@/features/alerts/model'
import { RuleForm } from '@/features/alerts/RuleForm'
import { ChannelForm } from '@/features/alerts/ChannelForm'

type Tab = 'alerts' | 'rules' | 'channels'

export default function Alerts() {
  const location = useLocation()
  const navigate = useNavigate()
  const tab: Tab = location.pathname.endsWith('/rules') ? 'rules' : location.pathname.endsWith('/channels') ? 'channels' : 'alerts'
  const firing = useAlerts('firing', 1)
  return (
    <div>
      <PageHeader
        title="Alerts"
        description="Rules watch runs, freshness, workers and queues; when one fires, its channels are notified once, and again when it resolves."
      />
      <div className="space-y-4 p-6">
        <Tabs<Tab>
          label="Alerts sections"
          value={tab}
          onChange={(t) => navigate(t === 'alerts' ? '/alerts' : `/alerts/${t}`)}
          tabs={[
            { id: 'alerts', label: 'Alerts', count: firing.data?.total },
            { id: 'rules', label: 'Rules' },
            { id: 'channels', label: 'Channels' },
          ]}
        />
        {tab === 'alerts' && <AlertsTab />}
        {tab === 'rules' && <RulesTab />}
        {tab === 'channels' && <ChannelsTab />}
      </div>
    </div>
  )
}

export function AlertStateBadge({ alert }: { alert: Pick<Alert, 'state' | 'silenced_until' | 'acknowledged_at'> }) {
  const silenced = alert.state === 'firing' && alert.silenced_until && Date.parse(alert.silenced_until) > Date.now()
  return (
    <span className="inline-flex flex-wrap items-center gap-1">
      {alert.state === 'firing' ? (
        <Badge tone="red"><span aria-hidden className="size-1.5 animate-pulse rounded-full bg-current" />Firing</Badge>
      ) : (
        <Badge tone="green"><span aria-hidden className="size-1.5 rounded-full bg-current" />Resolved</Badge>
      )}
      {alert.state === 'firing' && alert.acknowledged_at && <Badge tone="blue">Acknowledged</Badge>}
      {silenced && <Badge tone="amber"><BellOff className="size-3" aria-hidden />Silenced</Badge>}
    </span>
  )
}

/** Acknowledge and "Silence for…" of one firing alert. */
export function AlertActions({ alert }: { alert: Alert }) {
  const can = useCan()
  const qc = useQueryClient()
  const done = () => void qc.invalidateQueries({ queryKey: alertKeys.all })
  const ack = useMutation({
    mutationFn: () => acknowledge(alert.id),
    onSuccess: () => {
      done()
      toast.success('Alert acknowledged')
    },
    onError: (e) => toast.error('Could not acknowledge', errorMessage(e)),
  })
  const sil = useMutation({
    mutationFn: (minutes: number) => silence(alert.id, minutes),
    onSuccess: (_, minutes) => {
      done()
      toast.success(minutes ? 'Alert silenced' : 'Silence lifted')
    },
    onError: (e) => toast.error('Could not silence', errorMessage(e)),
  })
  if (alert.state !== 'firing' || !can('alerts:ack')) return null
  const silenced = alert.silenced_until && Date.parse(alert.silenced_until) > Date.now()
  return (
    <div className="flex items-center justify-end gap-2">
      {!alert.acknowledged_at && (
        <Button icon={<CheckCircle2 className="size-4" aria-hidden />} loading={ack.isPending} onClick={() => ack.mutate()}>
          Acknowledge
        </Button>
      )}
      {silenced ? (
        <Button variant="ghost" loading={sil.isPending} onClick={() => sil.mutate(0)}>Lift silence</Button>
      ) : (
        <Select
          aria-label={`Silence ${alert.title} for`}
          className="w-auto"
          value=""
          disabled={sil.isPending}
          onChange={(e) => e.target.value && sil.mutate(Number(e.target.value))}
        >
          <option value="">Silence for…</option>
          {silenceChoices.map((c) => (
            <option key={c.minutes} value={c.minutes}>{c.label}</option>
          ))}
        </Select>
      )}
    </div>
  )
}

function AlertsTab() {
  const [state, setState] = useState<'' | 'firing' | 'resolved'>('firing')
  const [page, setPage] = useState(1)
  const q = useAlerts(state, page)
  return (
    <Card className="overflow-hidden" aria-busy={q.isFetching}>
      <div className="flex flex-wrap items-center justify-between gap-3 border-b border-slate-200 px-4 py-3 dark:border-slate-800">
        <div role="radiogroup" aria-label="Show" className="inline-flex rounded-md p-0.5 ring-1 ring-slate-200 dark:ring-slate-700">
          {([['firing', 'Firing'], ['resolved', 'Resolved'], ['', 'All']] as const).map(([v, label]) => (
            <button
              key={v || 'all'}
              type="button"
              role="radio"
              aria-checked={state === v}
              onClick={() => {
                setState(v)
                setPage(1)
              }}
              className={
                state === v
                  ? 'rounded bg-slate-900 px-3 py-1 text-xs font-medium text-white dark:bg-slate-100 dark:text-slate-900'
                  : 'rounded px-3 py-1 text-xs font-medium text-slate-600 hover:text-slate-900 dark:text-slate-300 dark:hover:text-white'
              }
            >
              {label}
            </button>
          ))}
        </div>
        <p className="text-xs text-slate-500 dark:text-slate-400">Refreshed every five seconds</p>
      </div>
      {q.isPending ? (
        <div className="space-y-2 p-4">{Array.from({ length: 4 }, (_, i) => <Skeleton key={i} className="h-12" />)}</div>
      ) : q.isError ? (
        <ErrorState error={q.error} retry={() => void q.refetch()} title="Alerts could not be loaded" />
      ) : q.data.items.length === 0 ? (
        <EmptyState title={state === 'firing' ? 'Nothing is firing' : 'No alerts'} icon={<CheckCircle2 className="size-6" aria-hidden />}>
          {state === 'firing' ? 'Every rule’s condition holds. Alerts that fire show here until they resolve.' : 'No rule has fired yet.'}
        </EmptyState>
      ) : (
        <>
          <Table label="Alerts">
            <thead className="bg-slate-50 dark:bg-slate-800/50">
              <tr>
                <Th>State</Th>
                <Th>Alert</Th>
                <Th>Rule</Th>
                <Th>Fired</Th>
                <Th className="text-right">Actions</Th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
              {q.data.items.map((a) => (
                <tr key={a.id} aria-label={`Alert ${a.title}`} className="hover:bg-slate-50 dark:hover:bg-slate-800/40">
                  <Td><AlertStateBadge alert={a} /></Td>
                  <Td className="max-w-md">
                    <Link to={`/alerts/${a.id}`} className="font-medium text-slate-900 hover:text-brand-700 hover:underline dark:text-slate-100 dark:hover:text-brand-300">
                      {a.title}
                    </Link>
                    {a.message && <p className="truncate text-xs text-slate-500 dark:text-slate-400" title={a.message}>{a.message}</p>}
                  </Td>
                  <Td className="text-slate-600 dark:text-slate-300">{a.rule_name}</Td>
                  <Td className="whitespace-nowrap text-slate-500 dark:text-slate-400">
                    <span title={formatTime(a.fired_at)}>{relativeTime(a.fired_at)}</span>
                    {a.resolved_at && <p className="text-xs">resolved {relativeTime(a.resolved_at)}</p>}
                  </Td>
                  <Td className="text-right"><AlertActions alert={a} /></Td>
                </tr>
              ))}
            </tbody>
          </Table>
          <Pagination page={page} perPage={ALERTS_PER_PAGE} total={q.data.total} onPage={setPage} label="Alerts pages" />
        </>
      )}
    </Card>
  )
}

function usePipelineNames() {
  return useQuery({ queryKey: ['pipelines', 'names'], queryFn: () => listPipelines('', 1, 200) })
}

function RulesTab() {
  const can = useCan()
  const write = can('alerts:write')
  const qc = useQueryClient()
  const rules = useRules()
  const channels = useChannels()
  const pipelines = usePipelineNames()
  const [editing, setEditing] = useState<AlertRule | 'new' | null>(null)
  const [removing, setRemoving] = useState<AlertRule | null>(null)
  const pipelineName = useMemo(() => new Map((pipelines.data?.items ?? []).map((p) => [p.id, p.name])), [pipelines.data])
  const channelName = useMemo(() => new Map((channels.data ?? []).map((c) => [c.id, c.name])), [channels.data])
  const save = useMutation({
    mutationFn: (body: Parameters<typeof saveRule>[1]) => saveRule(editing && editing !== 'new' ? editing.id : null, body),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: alertKeys.rules })
      toast.success(editing === 'new' ? 'Rule created' : 'Rule saved')
      setEditing(null)
    },
  })
  const remove = useMutation({
    mutationFn: (id: string) => deleteRule(id),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: alertKeys.rules })
      setRemoving(null)
      toast.success('Rule deleted')
    },
    onError: (e) => toast.error('Could not delete the rule', errorMessage(e)),
  })
  const open = (r: AlertRule | 'new') => {
    save.reset()
    setEditing(r)
  }
  return (
    <Card className="overflow-hidden">
      <div className="flex items-center justify-between gap-3 border-b border-slate-200 px-4 py-3 dark:border-slate-800">
        <p className="text-sm text-slate-500 dark:text-slate-400">A rule fires one alert per pipeline, worker or queue it matches.</p>
        {write && <Button variant="primary" size="sm" icon={<Plus className="size-4" aria-hidden />} onClick={() => open('new')}>New rule</Button>}
      </div>
      {rules.isPending ? (
        <div className="space-y-2 p-4">{Array.from({ length: 3 }, (_, i) => <Skeleton key={i} className="h-12" />)}</div>
      ) : rules.isError ? (
        <ErrorState error={rules.error} retry={() => void rules.refetch()} title="Rules could not be loaded" />
      ) : (rules.data ?? []).length === 0 ? (
        <EmptyState title="No alert rules yet" icon={<BellRing className="size-6" aria-hidden />}
          action={write ? <Button size="sm" variant="primary" onClick={() => open('new')}>New rule</Button> : undefined}>
          A rule says when to alert (a run failed, data is stale, a worker is down…) and whom to notify.
        </EmptyState>
      ) : (
        <Table label="Alert rules">
          <thead className="bg-slate-50 dark:bg-slate-800/50">
            <tr>
              <Th>Name</Th>
              <Th>Condition</Th>
              <Th>Notifies</Th>
              <Th>Throttle</Th>
              {write && <Th className="text-right">Actions</Th>}
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
            {(rules.data ?? []).map((r) => (
              <tr key={r.id} aria-label={`Rule ${r.name}`} className="hover:bg-slate-50 dark:hover:bg-slate-800/40">
                <Td>
                  <div className="flex items-center gap-2">
                    <span className="font-medium">{r.name}</span>
                    {!r.enabled && <Badge>Disabled</Badge>}
                  </div>
                  {r.problem && (
                    <p className="mt-1 flex items-center gap-1 text-xs text-amber-700 dark:text-amber-400">
                      <ShieldAlert className="size-3.5" aria-hidden />{r.problem}
                    </p>
                  )}
                </Td>
                <Td>
                  <p className="text-slate-700 dark:text-slate-200">{conditionSpec(r.condition.type).label}</p>
                  <p className="text-xs text-slate-500 dark:text-slate-400">
                    {r.description}
                    {conditionSpec(r.condition.type).pipeline &&
                      ` · ${r.condition.pipeline_id ? (pipelineName.get(r.condition.pipeline_id) ?? r.condition.pipeline_id) : 'every pipeline'}`}
                  </p>
                </Td>
                <Td>
                  {r.channels.length === 0 ? (
                    <span className="text-slate-400">—</span>
                  ) : (
                    <span className="flex flex-wrap gap-1">
                      {r.channels.map((c) => <Badge key={c} tone="violet">{channelName.get(c) ?? 'deleted channel'}</Badge>)}
                    </span>
                  )}
                </Td>
                <Td className="whitespace-nowrap text-slate-500 dark:text-slate-400">{r.throttle_minutes ? `${r.throttle_minutes} min` : 'none'}</Td>
                {write && (
                  <Td className="text-right">
                    <IconButton label={`Edit ${r.name}`} onClick={() => open(r)}><Pencil className="size-4" aria-hidden /></IconButton>
                    <IconButton label={`Delete ${r.name}`} onClick={() => setRemoving(r)}><Trash2 className="size-4" aria-hidden /></IconButton>
                  </Td>
                )}
              </tr>
            ))}
          </tbody>
        </Table>
      )}
      <Dialog open={editing !== null} onClose={() => setEditing(null)} title={editing === 'new' ? 'New alert rule' : 'Edit alert rule'} wide>
        {editing !== null && (
          <RuleForm
            initial={editing === 'new' ? emptyRule() : ruleToForm(editing)}
            pipelines={pipelines.data?.items ?? []}
            channels={channels.data ?? []}
            submitLabel={editing === 'new' ? 'Create rule' : 'Save rule'}
            saving={save.isPending}
            error={save.error}
            onSubmit={(b) => save.mutate(b)}
            onCancel={() => setEditing(null)}
          />
        )}
      </Dialog>
      <ConfirmDialog open={removing !== null} title="Delete this rule?" confirmLabel="Delete rule" danger loading={remove.isPending}
        onClose={() => setRemoving(null)} onConfirm={() => removing && remove.mutate(removing.id)}>
        {removing?.name} stops raising alerts. The alerts it raised stay in the history.
      </ConfirmDialog>
    </Card>
  )
}

function DeliveryBadge({ d }: { d: Pick<AlertDelivery, 'status'> }) {
  const tone = d.status === 'sent' ? 'green' : d.status === 'failed' ? 'red' : d.status === 'retrying' ? 'amber' : 'gray'
  return <Badge tone={tone}>{d.status.charAt(0).toUpperCase() + d.status.slice(1)}</Badge>
}

export { DeliveryBadge }

function ChannelsTab() {
  const can = useCan()
  const write = can('alerts:write')
  const qc = useQueryClient()
  const channels = useChannels()
  const [editing, setEditing] = useState<AlertChannel | 'new' | null>(null)
  const [removing, setRemoving] = useState<AlertChannel | null>(null)
  const [tests, setTests] = useState<Record<string, AlertDelivery>>({})
  const save = useMutation({
    mutationFn: (body: Parameters<typeof saveChannel>[1]) => saveChannel(editing && editing !== 'new' ? editing.id : null, body),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: alertKeys.channels })
      toast.success(editing === 'new' ? 'Channel created' : 'Channel saved')
      setEditing(null)
    },
  })
  const remove = useMutation({
    mutationFn: (id: string) => deleteChannel(id),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: alertKeys.channels })
      setRemoving(null)
      toast.success('Channel deleted')
    },
    onError: (e) => toast.error('Could not delete the channel', errorMessage(e)),
  })
  const test = useMutation({
    mutationFn: (id: string) => testChannel(id),
    onSuccess: (d) => setTests((t) => ({ ...t, [d.channel_id]: d })),
    onError: (e) => toast.error('Could not send the test', errorMessage(e)),
  })
  const open = (c: AlertChannel | 'new') => {
    save.reset()
    setEditing(c)
  }
  return (
    <Card className="overflow-hidden">
      <div className="flex items-center justify-between gap-3 border-b border-slate-200 px-4 py-3 dark:border-slate-800">
        <p className="text-sm text-slate-500 dark:text-slate-400">Where notifications go. Secrets are stored encrypted and never shown.</p>
        {write && <Button variant="primary" size="sm" icon={<Plus className="size-4" aria-hidden />} onClick={() => open('new')}>New channel</Button>}
      </div>
      {channels.isPending ? (
        <div className="space-y-2 p-4">{Array.from({ length: 3 }, (_, i) => <Skeleton key={i} className="h-12" />)}</div>
      ) : channels.isError ? (
        <ErrorState error={channels.error} retry={() => void channels.refetch()} title="Channels could not be loaded" />
      ) : (channels.data ?? []).length === 0 ? (
        <EmptyState title="No channels yet" icon={<Send className="size-6" aria-hidden />}
          action={write ? <Button size="sm" variant="primary" onClick={() => open('new')}>New channel</Button> : undefined}>
          A webhook, an email address list or a Slack channel to notify when an alert fires or resolves.
        </EmptyState>
      ) : (
        <Table label="Channels">
          <thead className="bg-slate-50 dark:bg-slate-800/50">
            <tr>
              <Th>Name</Th>
              <Th>Type</Th>
              <Th>Target</Th>
              <Th>Last test</Th>
              {write && <Th className="text-right">Actions</Th>}
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
            {(channels.data ?? []).map((c) => {
              const t = tests[c.id]
              return (
                <tr key={c.id} aria-label={`Channel ${c.name}`} className="hover:bg-slate-50 dark:hover:bg-slate-800/40">
                  <Td className="font-medium">{c.name}</Td>
                  <Td><Badge tone="violet">{channelTypes.find((t) => t.type === c.type)?.label ?? c.type}</Badge></Td>
                  <Td className="max-w-xs truncate text-slate-600 dark:text-slate-300">{channelTarget(c)}</Td>
                  <Td className="max-w-sm">
                    {t ? (
                      <div role="status" aria-label={`Test of ${c.name}`}>
                        <DeliveryBadge d={t} />
                        {t.last_error && <p className="mt-1 text-xs text-rose-700 dark:text-rose-400">{t.last_error}</p>}
                      </div>
                    ) : (
                      <span className="text-slate-400">—</span>
                    )}
                  </Td>
                  {write && (
                    <Td className="whitespace-nowrap text-right">
                      <Button size="sm" icon={<Send className="size-3.5" aria-hidden />} loading={test.isPending && test.variables === c.id}
                        onClick={() => test.mutate(c.id)} aria-label={`Send test to ${c.name}`}>
                        Send test
                      </Button>
                      <IconButton label={`Edit ${c.name}`} onClick={() => open(c)}><Pencil className="size-4" aria-hidden /></IconButton>
                      <IconButton label={`Delete ${c.name}`} onClick={() => setRemoving(c)}><Trash2 className="size-4" aria-hidden /></IconButton>
                    </Td>
                  )}
                </tr>
              )
            })}
          </tbody>
        </Table>
      )}
      <Dialog open={editing !== null} onClose={() => setEditing(null)} title={editing === 'new' ? 'New channel' : 'Edit channel'} wide>
        {editing !== null && (
          <ChannelForm
            initial={editing === 'new' ? emptyChannel() : channelToForm(editing)}
            editing={editing !== 'new'}
            submitLabel={editing === 'new' ? 'Create channel' : 'Save channel'}
            saving={save.isPending}
            error={save.error}
            onSubmit={(b) => save.mutate(b)}
            onCancel={() => setEditing(null)}
          />
        )}
      </Dialog>
      <ConfirmDialog open={removing !== null} title="Delete this channel?" confirmLabel="Delete channel" danger loading={remove.isPending}
        onClose={() => setRemoving(null)} onConfirm={() => removing && remove.mutate(removing.id)}>
        Rules that notify {removing?.name} will record their deliveries to it as failed until you edit them.
      </ConfirmDialog>
    </Card>
  )
}

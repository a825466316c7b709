// The alert forms' model: which fields each condition and channel type asks for, and the request
// body a filled-in form becomes. Pure, so that the forms' rules are tested without a browser.
import type { AlertChannel, AlertRule, ChannelBody, ChannelType, ConditionType, RuleBody } from './api'

export interface ConditionSpec {
  type: ConditionType
  label: string
  /** The pipeline is asked for (optional: empty means every pipeline). */
  pipeline: boolean
  /** The threshold field, its label and unit. */
  threshold?: { field: 'seconds' | 'ratio' | 'minutes' | 'depth'; label: string; unit: string; step: string }
  queue?: boolean
  help: string
}

export const conditionSpecs: ConditionSpec[] = [
  { type: 'run_failed', label: 'Run failed', pipeline: true, help: 'Fires when a run fails; the next successful run resolves it.' },
  {
    type: 'run_duration_over', label: 'Run took too long', pipeline: true,
    threshold: { field: 'seconds', label: 'Longer than', unit: 'seconds', step: '1' },
    help: 'Fires when a finished run took longer than the limit; a faster run resolves it.',
  },
  {
    type: 'reject_ratio_over', label: 'Too many rejected rows', pipeline: true,
    threshold: { field: 'ratio', label: 'More than', unit: '% of rows read', step: '0.1' },
    help: 'Fires when a run rejected more than this share of the rows it read.',
  },
  {
    type: 'freshness_over', label: 'Data is stale', pipeline: true,
    threshold: { field: 'minutes', label: 'No success for', unit: 'minutes', step: '1' },
    help: 'Checked every 30 seconds: fires when the last successful run is older than the limit.',
  },
  { type: 'worker_down', label: 'Worker down', pipeline: false, help: 'Fires when a worker process stops sending heartbeats.' },
  {
    type: 'queue_depth_over', label: 'Queue backlog', pipeline: false, queue: true,
    threshold: { field: 'depth', label: 'More than', unit: 'waiting jobs', step: '1' },
    help: 'Checked every 30 seconds: fires when more jobs wait than the limit.',
  },
  {
    type: 'stream_lag_over', label: 'Stream lag', pipeline: true,
    threshold: { field: 'seconds', label: 'Checkpoint older than', unit: 'seconds', step: '1' },
    help: "Fires when a running run's last committed checkpoint is older than the limit.",
  },
  {
    type: 'run_awaiting_approval', label: 'Run awaits approval', pipeline: true,
    help: 'Fires when a run pauses awaiting approval of schema changes (schema changes: review); approving, rejecting or cancelling the run resolves it.',
  },
]

export function conditionSpec(type: string): ConditionSpec {
  return conditionSpecs.find((c) => c.type === type) ?? conditionSpecs[0]
}

export interface RuleForm {
  name: string
  type: ConditionType
  pipelineId: string
  /** The threshold as typed (a percentage for ratio). */
  threshold: string
  queue: string
  channels: string[]
  throttle: string
  enabled: boolean
}

export function emptyRule(): RuleForm {
  return { name: '', type: 'run_failed', pipelineId: '', threshold: '', queue: '', channels: [], throttle: '30', enabled: true }
}

export function ruleToForm(r: AlertRule): RuleForm {
  const spec = conditionSpec(r.condition.type)
  let threshold = ''
  if (spec.threshold) {
    const v = r.condition[spec.threshold.field]
    if (v != null) threshold = spec.threshold.field === 'ratio' ? String(Math.round(v * 10000) / 100) : String(v)
  }
  return {
    name: r.name, type: r.condition.type, pipelineId: r.condition.pipeline_id ?? '', threshold, queue: r.condition.queue ?? '',
    channels: [...r.channels], throttle: String(r.throttle_minutes), enabled: r.enabled,
  }
}

/** The request body of a rule form: only the fields its condition type takes. */
export function ruleBody(f: RuleForm): RuleBody {
  const spec = conditionSpec(f.type)
  const condition: Record<string, unknown> = { type: f.type }
  if (spec.pipeline && f.pipelineId) condition.pipeline_id = f.pipelineId
  if (spec.queue && f.queue.trim()) condition.queue = f.queue.trim()
  if (spec.threshold) {
    const n = Number(f.threshold)
    condition[spec.threshold.field] = f.threshold.trim() === '' || Number.isNaN(n) ? 0 : spec.threshold.field === 'ratio' ? n / 100 : n
  }
  return { name: f.name.trim(), condition, channels: f.channels, throttle_minutes: Number(f.throttle) || 0, enabled: f.enabled }
}

/** Problems a user can fix before sending, by field; the server checks again. */
export function ruleProblems(f: RuleForm): Partial<Record<'name' | 'threshold' | 'throttle', string>> {
  const p: Partial<Record<'name' | 'threshold' | 'throttle', string>> = {}
  if (!f.name.trim()) p.name = 'A name is required'
  const spec = conditionSpec(f.type)
  if (spec.threshold) {
    const n = Number(f.threshold)
    if (f.threshold.trim() === '' || Number.isNaN(n) || n <= 0) p.threshold = 'A number greater than 0 is required'
    else if (spec.threshold.field === 'ratio' && n > 100) p.threshold = 'At most 100 %'
  }
  const t = Number(f.throttle)
  if (f.throttle.trim() !== '' && (Number.isNaN(t) || t < 0 || t > 10080)) p.throttle = 'Between 0 and 10080 minutes (a week)'
  return p
}

export const channelTypes: Array<{ type: ChannelType; label: string; help: string }> = [
  { type: 'webhook', label: 'Webhook', help: 'A JSON POST signed with HMAC-SHA256 in the X-Aggregator-Signature header.' },
  { type: 'email', label: 'Email', help: 'Sent through your SMTP server, over STARTTLS or TLS, with authentication.' },
  { type: 'slack', label: 'Slack', help: 'A message to a Slack incoming webhook.' },
]

export const SECRET = '********'

export interface ChannelForm {
  name: string
  type: ChannelType
  url: string
  secret: string
  host: string
  port: string
  tls: 'starttls' | 'tls'
  username: string
  password: string
  from: string
  to: string
}

export function emptyChannel(type: ChannelType = 'webhook'): ChannelForm {
  return { name: '', type, url: '', secret: '', host: '', port: '587', tls: 'starttls', username: '', password: '', from: '', to: '' }
}

export function channelToForm(c: AlertChannel): ChannelForm {
  const s = c.config
  return {
    name: c.name, type: c.type, url: s.url ?? '', secret: s.secret ?? '', host: s.host ?? '', port: String(s.port ?? 587),
    tls: s.tls === 'tls' ? 'tls' : 'starttls', username: s.username ?? '', password: s.password ?? '', from: s.from ?? '',
    to: (s.to ?? []).join(', '),
  }
}

/** The request body of a channel form: only its type's settings. A secret left as ******** keeps the stored value. */
export function channelBody(f: ChannelForm): ChannelBody {
  let config: Record<string, unknown>
  switch (f.type) {
    case 'webhook':
      config = { url: f.url.trim(), secret: f.secret }
      break
    case 'slack':
      config = { url: f.url.trim() }
      break
    case 'email':
      config = {
        host: f.host.trim(), port: Number(f.port) || 587, tls: f.tls, from: f.from.trim(),
        to: f.to.split(/[,;\s]+/).map((s) => s.trim()).filter(Boolean),
        ...(f.username.trim() ? { username: f.username.trim(), password: f.password } : {}),
      }
      break
  }
  return { name: f.name.trim(), type: f.type, config }
}

/** What a channel notifies, in a few words (never a secret). */
export function channelTarget(c: AlertChannel): string {
  switch (c.type) {
    case 'webhook':
      try {
        const u = new URL(c.config.url ?? '')
        return u.host + u.pathname
      } catch {
        return c.config.url ?? ''
      }
    case 'email':
      return (c.config.to ?? []).join(', ')
    case 'slack':
      return 'Slack incoming webhook'
  }
}

export const silenceChoices: Array<{ minutes: number; label: string }> = [
  { minutes: 15, label: '15 minutes' },
  { minutes: 60, label: '1 hour' },
  { minutes: 240, label: '4 hours' },
  { minutes: 1440, label: '1 day' },
  { minutes: 10080, label: '1 week' },
]

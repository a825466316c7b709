// Create or edit a notification channel: the type decides the fields (a webhook's URL and signing
// secret, an SMTP server with its credentials and recipients, a Slack incoming webhook URL). On
// edit, a secret shows as ******** and stays as it is unless replaced.
import { useState, type FormEvent } from 'react'
import { Button, Field, InlineError, Input, Select } from '@/components/ui'
import { ApiError } from '@/api/errors'
import type { ChannelBody } from './api'
import { channelBody, channelTypes, emptyChannel, SECRET, type ChannelForm as Form } from './model'

export interface ChannelFormProps {
  initial: Form
  /** Editing an existing channel: its type is fixed and its secrets are kept unless replaced. */
  editing?: boolean
  submitLabel: string
  saving?: boolean
  error?: unknown
  onSubmit: (body: ChannelBody) => void
  onCancel: () => void
}

function serverError(error: unknown, location: string): string | null {
  if (!(error instanceof ApiError)) return null
  return error.fieldErrors(location).at(0)?.message ?? null
}

export function ChannelForm({ initial, editing, submitLabel, saving, error, onSubmit, onCancel }: ChannelFormProps) {
  const [f, setF] = useState<Form>(initial)
  const [local, setLocal] = useState<Partial<Record<keyof Form, string>>>({})
  const set = <K extends keyof Form>(k: K, v: Form[K]) => setF((cur) => ({ ...cur, [k]: v }))
  const err = (k: keyof Form, loc: string) => local[k] ?? serverError(error, loc)
  const secretHelp = editing ? 'Stored encrypted; leave ******** to keep it.' : 'Stored encrypted; never shown again.'
  const submit = (e: FormEvent) => {
    e.preventDefault()
    const p: Partial<Record<keyof Form, string>> = {}
    if (!f.name.trim()) p.name = 'A name is required'
    if ((f.type === 'webhook' || f.type === 'slack') && !f.url.trim()) p.url = 'A URL is required'
    if (f.type === 'webhook' && !f.secret) p.secret = 'A signing secret is required'
    if (f.type === 'email') {
      if (!f.host.trim()) p.host = 'The SMTP host is required'
      if (!f.from.trim()) p.from = 'A sender address is required'
      if (!f.to.trim()) p.to = 'At least one recipient is required'
    }
    setLocal(p)
    if (Object.keys(p).length === 0) onSubmit(channelBody(f))
  }
  const type = channelTypes.find((t) => t.type === f.type)
  return (
    <form onSubmit={submit} className="space-y-4" aria-label="Notification channel" noValidate>
      <div className="grid gap-4 sm:grid-cols-2">
        <Field label="Name" required error={err('name', 'body.name')}>
          {(p) => <Input {...p} value={f.name} onChange={(e) => set('name', e.target.value)} placeholder="On-call webhook" autoComplete="off" />}
        </Field>
        <Field label="Type" help={type?.help}>
          {(p) => (
            <Select {...p} value={f.type} disabled={editing}
              onChange={(e) => setF({ ...emptyChannel(e.target.value as Form['type']), name: f.name })}>
              {channelTypes.map((t) => (
                <option key={t.type} value={t.type}>{t.label}</option>
              ))}
            </Select>
          )}
        </Field>
      </div>
      {f.type === 'webhook' && (
        <>
          <Field label="URL" required error={err('url', 'body.config.url')} help="Private and loopback addresses are refused unless ALLOWED_OUTBOUND_HOSTS lists them.">
            {(p) => <Input {...p} type="url" value={f.url} onChange={(e) => set('url', e.target.value)} placeholder="https://ops.example.com/hooks/aggregator" />}
          </Field>
          <Field label="Signing secret" required error={err('secret', 'body.config.secret')} help={secretHelp}>
            {(p) => <Input {...p} type="password" autoComplete="new-password" value={f.secret} onChange={(e) => set('secret', e.target.value)} />}
          </Field>
        </>
      )}
      {f.type === 'slack' && (
        <Field label="Incoming webhook URL" required error={err('url', 'body.config.url')} help={editing ? secretHelp : 'The URL is a secret: stored encrypted, never shown again.'}>
          {(p) => (
            <Input {...p} type={f.url === SECRET ? 'password' : 'url'} value={f.url} onChange={(e) => set('url', e.target.value)}
              placeholder="https://hooks.slack.com/services/…" autoComplete="off" />
          )}
        </Field>
      )}
      {f.type === 'email' && (
        <>
          <div className="grid gap-4 sm:grid-cols-[1fr_7rem_9rem]">
            <Field label="SMTP host" required error={err('host', 'body.config.host')}>
              {(p) => <Input {...p} value={f.host} onChange={(e) => set('host', e.target.value)} placeholder="smtp.example.com" />}
            </Field>
            <Field label="Port" error={serverError(error, 'body.config.port')}>
              {(p) => <Input {...p} type="number" min="1" max="65535" value={f.port} onChange={(e) => set('port', e.target.value)} />}
            </Field>
            <Field label="Security">
              {(p) => (
                <Select {...p} value={f.tls} onChange={(e) => set('tls', e.target.value as Form['tls'])}>
                  <option value="starttls">STARTTLS</option>
                  <option value="tls">TLS</option>
                </Select>
              )}
            </Field>
          </div>
          <div className="grid gap-4 sm:grid-cols-2">
            <Field label="Username" error={serverError(error, 'body.config.username')}>
              {(p) => <Input {...p} value={f.username} onChange={(e) => set('username', e.target.value)} autoComplete="off" />}
            </Field>
            <Field label="Password" help={secretHelp} error={serverError(error, 'body.config.password')}>
              {(p) => <Input {...p} type="password" autoComplete="new-password" value={f.password} onChange={(e) => set('password', e.target.value)} />}
            </Field>
          </div>
          <Field label="From" required error={err('from', 'body.config.from')}>
            {(p) => <Input {...p} type="email" value={f.from} onChange={(e) => set('from', e.target.value)} placeholder="aggregator@example.com" />}
          </Field>
          <Field label="To" required error={err('to', 'body.config.to')} help="Separate addresses with commas.">
            {(p) => <Input {...p} value={f.to} onChange={(e) => set('to', e.target.value)} placeholder="oncall@example.com, data-team@example.com" />}
          </Field>
        </>
      )}
      {error != null && !(error instanceof ApiError && error.fieldErrors('body.').length > 0) && <InlineError error={error} />}
      <div className="flex justify-end gap-2 border-t border-slate-200 pt-4 dark:border-slate-800">
        <Button onClick={onCancel}>Cancel</Button>
        <Button type="submit" variant="primary" loading={saving}>{submitLabel}</Button>
      </div>
    </form>
  )
}

import { describe, expect, it, vi } from 'vitest'
import { render, screen } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { ApiError } from '@/api/errors'
import { RuleForm } from './RuleForm'
import { ChannelForm } from './ChannelForm'
import type { AlertChannel, AlertRule } from './api'
import { channelBody, channelToForm, emptyChannel, emptyRule, ruleBody, ruleToForm } from './model'

const channels: AlertChannel[] = [
  { id: 'c1', name: 'On-call hook', type: 'webhook', config: { url: 'https://ops.example.com/h', secret: '********' },
    created_at: '2026-12-06T10:00:00Z', created_by: 'admin', updated_at: '2026-12-06T10:00:00Z' },
  { id: 'c2', name: 'Data team mail', type: 'email', config: { host: 'smtp.example.com', port: 587, tls: 'starttls', from: 'a@example.com', to: ['b@example.com'] },
    created_at: '2026-12-06T10:00:00Z', created_by: 'admin', updated_at: '2026-12-06T10:00:00Z' },
]
const pipelines = [{ id: 'p1', name: 'orders' }, { id: 'p2', name: 'customers' }]

function renderRule(onSubmit = vi.fn(), error?: unknown) {
  render(<RuleForm initial={emptyRule()} pipelines={pipelines} channels={channels} submitLabel="Create rule" error={error}
    onSubmit={onSubmit} onCancel={() => {}} />)
  return onSubmit
}

describe('RuleForm', { timeout: 20_000 }, () => {
  it('sends a run_failed rule on one pipeline with the picked channels', async () => {
    const user = userEvent.setup({ delay: null })
    const onSubmit = renderRule()
    await user.type(screen.getByLabelText(/^Name/), 'orders failing')
    expect(screen.queryByLabelText(/Longer than/)).not.toBeInTheDocument()
    await user.selectOptions(screen.getByLabelText('Pipeline'), 'p1')
    await user.click(screen.getByRole('checkbox', { name: /On-call hook/ }))
    await user.click(screen.getByRole('checkbox', { name: /Data team mail/ }))
    await user.click(screen.getByRole('button', { name: 'Create rule' }))
    expect(onSubmit).toHaveBeenCalledWith({
      name: 'orders failing', condition: { type: 'run_failed', pipeline_id: 'p1' }, channels: ['c1', 'c2'], throttle_minutes: 30, enabled: true,
    })
  })

  it('sends a run_awaiting_approval rule with a pipeline and no threshold', async () => {
    const user = userEvent.setup({ delay: null })
    const onSubmit = renderRule()
    await user.type(screen.getByLabelText(/^Name/), 'reviews waiting')
    await user.selectOptions(screen.getByLabelText('Condition'), 'run_awaiting_approval')
    expect(screen.getByText(/pauses awaiting approval of schema changes/)).toBeInTheDocument()
    await user.selectOptions(screen.getByLabelText('Pipeline'), 'p2')
    await user.click(screen.getByRole('checkbox', { name: /On-call hook/ }))
    await user.click(screen.getByRole('button', { name: 'Create rule' }))
    expect(onSubmit).toHaveBeenCalledWith({
      name: 'reviews waiting', condition: { type: 'run_awaiting_approval', pipeline_id: 'p2' }, channels: ['c1'], throttle_minutes: 30, enabled: true,
    })
  })

  it('shows the fields of the condition type, and a ratio typed in percent is sent as a fraction', async () => {
    const user = userEvent.setup({ delay: null })
    const onSubmit = renderRule()
    await user.type(screen.getByLabelText(/^Name/), 'rejects')
    await user.selectOptions(screen.getByLabelText('Condition'), 'reject_ratio_over')
    await user.type(screen.getByLabelText(/More than \(% of rows read\)/), '5')
    await user.click(screen.getByRole('button', { name: 'Create rule' }))
    expect(onSubmit.mock.calls[0][0].condition).toEqual({ type: 'reject_ratio_over', ratio: 0.05 })

    await user.selectOptions(screen.getByLabelText('Condition'), 'worker_down')
    expect(screen.queryByLabelText('Pipeline')).not.toBeInTheDocument()
    await user.selectOptions(screen.getByLabelText('Condition'), 'queue_depth_over')
    expect(screen.getByLabelText('Queue')).toBeInTheDocument()
  })

  it('refuses a missing threshold before sending, and shows the server’s field errors', async () => {
    const user = userEvent.setup({ delay: null })
    const onSubmit = renderRule()
    await user.type(screen.getByLabelText(/^Name/), 'slow')
    await user.selectOptions(screen.getByLabelText('Condition'), 'run_duration_over')
    await user.click(screen.getByRole('button', { name: 'Create rule' }))
    expect(onSubmit).not.toHaveBeenCalled()
    expect(screen.getByText('A number greater than 0 is required')).toBeInTheDocument()
  })

  it('shows the server’s message next to the pipeline it refused', () => {
    const err = new ApiError(422, { detail: 'x', errors: [{ location: 'body.condition.pipeline_id', message: 'no pipeline with id "p9"' }] })
    renderRule(vi.fn(), err)
    expect(screen.getByText('no pipeline with id "p9"')).toBeInTheDocument()
  })

  it('round-trips a saved rule', () => {
    const r: AlertRule = { id: 'r1', name: 'stale', condition: { type: 'freshness_over', pipeline_id: 'p2', minutes: 90 }, description: '',
      channels: ['c1'], throttle_minutes: 0, enabled: false, problem: '', created_by: 'a', created_at: '', updated_at: '' }
    expect(ruleBody(ruleToForm(r))).toEqual({ name: 'stale', condition: { type: 'freshness_over', pipeline_id: 'p2', minutes: 90 },
      channels: ['c1'], throttle_minutes: 0, enabled: false })
  })
})

describe('ChannelForm', { timeout: 20_000 }, () => {
  it('sends an email channel with its SMTP settings and recipients', async () => {
    const user = userEvent.setup({ delay: null })
    const onSubmit = vi.fn()
    render(<ChannelForm initial={emptyChannel()} submitLabel="Create channel" onSubmit={onSubmit} onCancel={() => {}} />)
    expect(screen.getByLabelText(/^Signing secret/)).toBeInTheDocument()
    await user.type(screen.getByLabelText(/^Name/), 'Data team')
    await user.selectOptions(screen.getByLabelText('Type'), 'email')
    expect(screen.queryByLabelText(/^Signing secret/)).not.toBeInTheDocument()
    await user.type(screen.getByLabelText(/^SMTP host/), 'smtp.example.com')
    await user.type(screen.getByLabelText('Username'), 'alerts')
    await user.type(screen.getByLabelText('Password'), 'pw')
    await user.type(screen.getByLabelText(/^From/), 'aggregator@example.com')
    await user.type(screen.getByLabelText(/^To/), 'a@example.com, b@example.com')
    await user.click(screen.getByRole('button', { name: 'Create channel' }))
    expect(onSubmit).toHaveBeenCalledWith({ name: 'Data team', type: 'email', config: { host: 'smtp.example.com', port: 587, tls: 'starttls',
      from: 'aggregator@example.com', to: ['a@example.com', 'b@example.com'], username: 'alerts', password: 'pw' } })
  })

  it('requires a webhook URL and secret', async () => {
    const user = userEvent.setup({ delay: null })
    const onSubmit = vi.fn()
    render(<ChannelForm initial={emptyChannel()} submitLabel="Create channel" onSubmit={onSubmit} onCancel={() => {}} />)
    await user.type(screen.getByLabelText(/^Name/), 'hook')
    await user.click(screen.getByRole('button', { name: 'Create channel' }))
    expect(onSubmit).not.toHaveBeenCalled()
    expect(screen.getByText('A URL is required')).toBeInTheDocument()
    expect(screen.getByText('A signing secret is required')).toBeInTheDocument()
  })

  it('keeps a stored secret on edit: ******** goes back as it is, and the type is fixed', async () => {
    const user = userEvent.setup({ delay: null })
    const onSubmit = vi.fn()
    render(<ChannelForm initial={channelToForm(channels[0])} editing submitLabel="Save channel" onSubmit={onSubmit} onCancel={() => {}} />)
    expect(screen.getByLabelText('Type')).toBeDisabled()
    await user.click(screen.getByRole('button', { name: 'Save channel' }))
    expect(onSubmit).toHaveBeenCalledWith({ name: 'On-call hook', type: 'webhook', config: { url: 'https://ops.example.com/h', secret: '********' } })
    expect(channelBody(channelToForm(channels[1])).config).not.toHaveProperty('password')
  })
})

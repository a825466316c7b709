import { describe, expect, it } from 'vitest'
import { render, screen } from '@testing-library/react'
import { ManagedBadge, ManagedBanner } from './Managed'

const base = { path: 'pipelines/orders.yaml', applied_by: 'ci', applied_at: new Date(Date.now() - 3600_000).toISOString() }

describe('managed from a file', () => {
  it('shows nothing for an object not applied from a file', () => {
    const { container } = render(<><ManagedBadge managed={undefined} /><ManagedBanner managed={null} kind="pipeline" /></>)
    expect(container.textContent).toBe('')
  })
  it('names the file and who applied it', () => {
    render(<><ManagedBadge managed={{ ...base, drifted: false }} /><ManagedBanner managed={{ ...base, drifted: false }} kind="pipeline" /></>)
    expect(screen.getByText('From file')).toBeTruthy()
    expect(screen.getByRole('note', { name: 'Managed from a file' }).textContent).toMatch(/This pipeline is managed from pipelines\/orders\.yaml · applied by ci/)
  })
  it('says when it drifted and what to run', () => {
    render(<><ManagedBadge managed={{ ...base, drifted: true }} /><ManagedBanner managed={{ ...base, drifted: true }} kind="connector" /></>)
    expect(screen.getByText('Drifted from file')).toBeTruthy()
    const note = screen.getByRole('note', { name: 'Managed from a file' }).textContent
    expect(note).toMatch(/Changed here since it was applied from pipelines\/orders\.yaml/)
    expect(note).toMatch(/aggregator export.*aggregator apply/)
  })
  it('a list mark (no drift known) is a plain badge', () => {
    render(<ManagedBadge managed={base} />)
    expect(screen.getByText('From file')).toBeTruthy()
  })
})

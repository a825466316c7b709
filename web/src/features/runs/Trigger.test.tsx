import { describe, expect, it } from 'vitest'
import { render, screen } from '@testing-library/react'
import { MemoryRouter } from 'react-router'
import { TriggeredBy } from './Trigger'
import { formatTime } from '@/lib/format'

const at = '2026-12-06T03:54:00Z'

function says(run: Parameters<typeof TriggeredBy>[0]['run']) {
  render(
    <MemoryRouter>
      <TriggeredBy run={run} />
    </MemoryRouter>,
  )
  return screen.getByTestId('triggered-by')
}

describe('TriggeredBy', () => {
  it('names the tick a scheduled run was started for', () => {
    const el = says({ trigger: 'schedule', actor_name: 'schedule', trigger_detail: { tick: at } })
    expect(el).toHaveTextContent(`Started by its schedule for ${formatTime(at)}`)
    expect(el.querySelector('time')).toHaveAttribute('dateTime', at)
  })
  it('says when it was the catch-up of missed ticks', () => {
    expect(says({ trigger: 'schedule', actor_name: 'schedule', trigger_detail: { tick: at, catch_up: true } })).toHaveTextContent(/^Catch-up run of its schedule for /)
  })
  it('reads a scheduled run recorded before ticks were kept', () => {
    expect(says({ trigger: 'schedule', actor_name: 'schedule' })).toHaveTextContent(/^Started by its schedule$/)
  })
})

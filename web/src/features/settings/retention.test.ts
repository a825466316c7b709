import { describe, expect, it } from 'vitest'
import { describePeriod, fromDraft, fromPeriod, periodError, sameSettings, toDraft, toPeriod } from './retention'

const defaults = { runs: '90d', dead_letters: '30d', server_logs: '30d', uploads: '7d', staged_outputs: '1d', metrics_1m: '30d', metrics_1h: '365d', metrics_1d: '1825d' }

describe('retention periods', () => {
  it('splits and joins the server form', () => {
    expect(toPeriod('90d')).toEqual({ value: '90', unit: 'd' })
    expect(toPeriod(' 36H ')).toEqual({ value: '36', unit: 'h' })
    expect(fromPeriod({ value: ' 12 ', unit: 'h' })).toBe('12h')
    expect(fromDraft(toDraft(defaults))).toEqual(defaults)
  })

  it.each([
    [{ value: '90', unit: 'd' as const }, null],
    [{ value: '1', unit: 'h' as const }, null],
    [{ value: '0', unit: 'd' as const }, 'At least 1 hour'],
    [{ value: '1.5', unit: 'd' as const }, 'Enter a whole number'],
    [{ value: '', unit: 'd' as const }, 'Enter a whole number'],
    [{ value: '3651', unit: 'd' as const }, 'At most 3650 days'],
    [{ value: '87600', unit: 'h' as const }, null],
  ])('checks %j', (p, want) => {
    expect(periodError(p)).toBe(want)
  })

  it('describes periods and compares them by length', () => {
    expect(describePeriod('1d')).toBe('1 day')
    expect(describePeriod('36h')).toBe('36 hours')
    expect(sameSettings(defaults, { ...defaults, staged_outputs: '24h' })).toBe(true)
    expect(sameSettings(defaults, { ...defaults, runs: '89d' })).toBe(false)
  })
})

import { describe, expect, it } from 'vitest'
import { parseSpec, applySpec } from '@/features/builder/yamlSync'
import { scheduleOf, searchZones, withSchedule } from './model'
import type { PipelineSpec } from '@/features/graph'

const base: PipelineSpec = { version: 1, name: 'p', sources: [], destinations: [] }

describe('schedule model', () => {
  it('reads the spec schedule', () => {
    expect(scheduleOf(base)).toBeNull()
    expect(scheduleOf({ ...base, schedule: { cron: '0 6 * * 1-5', timezone: 'Europe/Berlin', misfire: 'run_once' } })).toEqual({
      cron: '0 6 * * 1-5', timezone: 'Europe/Berlin', misfire: 'run_once',
    })
    expect(scheduleOf({ ...base, schedule: 'nope' })).toBeNull()
  })

  it('writes only what differs from the defaults and keeps unknown keys', () => {
    expect(withSchedule(base, { cron: ' */15 * * * * ', timezone: 'UTC', misfire: 'skip' }).schedule).toEqual({ cron: '*/15 * * * *' })
    const s = withSchedule({ ...base, schedule: { cron: '@daily', extra: 1 } }, { cron: '0 6 * * *', timezone: 'America/New_York', misfire: 'run_once' })
    expect(s.schedule).toEqual({ cron: '0 6 * * *', extra: 1, timezone: 'America/New_York', misfire: 'run_once' })
    expect('schedule' in withSchedule(s, null)).toBe(false)
  })

  it('goes into the YAML in place, comments kept', () => {
    const text = '# orders nightly\nversion: 1\nname: p # the name\nsources: []\ndestinations: []\n'
    const spec = parseSpec(text).spec!
    const out = applySpec(text, withSchedule(spec, { cron: '0 6 * * 1-5', timezone: 'Europe/Berlin' }))
    expect(out).toContain('# orders nightly')
    expect(out).toContain('name: p # the name')
    expect(parseSpec(out).spec?.schedule).toEqual({ cron: '0 6 * * 1-5', timezone: 'Europe/Berlin' })
    const removed = applySpec(out, withSchedule(parseSpec(out).spec!, null))
    expect(removed).not.toContain('schedule')
  })

  it('searches zones by words', () => {
    const zones = ['UTC', 'America/New_York', 'America/Los_Angeles', 'Europe/Berlin']
    expect(searchZones(zones, 'new york')).toEqual(['America/New_York'])
    expect(searchZones(zones, 'ber')).toEqual(['Europe/Berlin'])
    expect(searchZones(zones, '')).toEqual(zones)
  })
})

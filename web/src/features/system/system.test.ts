import { describe, expect, it } from 'vitest'
import { attrPairs, logQuery, selectedLevels, toggleLevel } from './logs'
import { diskSummary, formatUptime } from './health'

describe('system logs filters', () => {
  it('builds the query from the URL, leaving empty filters out', () => {
    const sp = new URLSearchParams('level=warn,error&component=api&request_id=%20r-1%20&q=&from=2026-12-06T10:00')
    const q = logQuery(sp)
    expect(q.level).toEqual(['warn', 'error'])
    expect(q.component).toBe('api')
    expect(q.request_id).toBe('r-1')
    expect(q.q).toBeUndefined()
    expect(q.from).toMatch(/^2026-12-06T\d\d:00:00.000Z$/)
    expect(q.to).toBeUndefined()
  })
  it('treats every level chosen as no filter and ignores unknown levels', () => {
    expect(logQuery(new URLSearchParams('level=debug,info,warn,error')).level).toBeUndefined()
    expect(selectedLevels(new URLSearchParams('level=fatal,info'))).toEqual(['info'])
  })
  it('toggles level chips', () => {
    expect(toggleLevel(new URLSearchParams(''), 'error')).toBe('error')
    expect(toggleLevel(new URLSearchParams('level=error,warn'), 'error')).toBe('warn')
    expect(toggleLevel(new URLSearchParams('level=debug,info,warn'), 'error')).toBe('')
  })
  it('shows the useful attributes first', () => {
    expect(attrPairs({ ip: '127.0.0.1', status: 202, route: 'POST /x' }, 2)).toEqual(['route=POST /x', 'status=202'])
    expect(attrPairs(null)).toEqual([])
    expect(attrPairs(['a'])).toEqual([])
  })
})

describe('system health', () => {
  it('formats uptime', () => {
    expect(formatUptime(42)).toBe('42s')
    expect(formatUptime(3 * 60)).toBe('3m')
    expect(formatUptime(2 * 3600 + 5 * 60)).toBe('2h 5m')
    expect(formatUptime(3 * 86400 + 4 * 3600)).toBe('3d 4h')
  })
  it('summarises the disk', () => {
    expect(diskSummary({ free_bytes: 25, total_bytes: 100 }, (n) => `${n}B`)).toBe('25B free of 100B (25%)')
    expect(diskSummary({ free_bytes: 0, total_bytes: 0 }, String)).toBe('Unknown')
  })
})

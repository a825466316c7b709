import { describe, expect, it } from 'vitest'
import {
  addWidget, applyLayout, defaultDoc, fillSeries, MAX_CHART_POINTS, formatAge, parseDoc, rangeFromSearch, removeWidget, resolveRange, statusSlices,
  WIDGET_KINDS,
} from './model'

describe('parseDoc', () => {
  it('keeps known widgets, drops unknown kinds and bad geometry, clamps sizes and makes ids unique', () => {
    const doc = parseDoc({
      version: 1,
      widgets: [
        { i: 'a', kind: 'throughput', x: 10, y: 0, w: 8, h: 7 }, // too far right for its width
        { i: 'a', kind: 'running_now', x: 0, y: 3, w: 1, h: 99 }, // duplicate id, too narrow, too tall
        { i: 'b', kind: 'coffee_machine', x: 0, y: 0, w: 4, h: 4 },
        { i: 'c', kind: 'stream_lag', x: 0, y: 0, w: '4', h: 4 },
        null,
      ],
    })
    expect(doc?.widgets).toEqual([
      { i: 'a', kind: 'throughput', x: 4, y: 0, w: 8, h: 7 },
      { i: 'a_', kind: 'running_now', x: 0, y: 3, w: 3, h: 40 },
    ])
  })

  it.each([[{}], [null], ['x'], [{ widgets: 'no' }]])('gives null for a document that is not a layout: %j', (raw) => {
    expect(parseDoc(raw)).toBeNull()
  })

  it('reads back what defaultDoc wrote, with every widget', () => {
    const d = defaultDoc()
    expect(parseDoc(JSON.parse(JSON.stringify(d)))).toEqual(d)
    expect(d.widgets.map((w) => w.kind).sort()).toEqual([...WIDGET_KINDS].sort())
  })
})

describe('editing', () => {
  it('adds at the bottom with a fresh id, removes by id, and applies grid positions', () => {
    let d = defaultDoc()
    const bottom = Math.max(...d.widgets.map((w) => w.y + w.h))
    d = addWidget(d, 'throughput')
    const added = d.widgets.at(-1)!
    expect(added).toMatchObject({ i: 'throughput_2', kind: 'throughput', x: 0, y: bottom })
    d = removeWidget(d, 'running_now')
    expect(d.widgets.some((w) => w.i === 'running_now')).toBe(false)
    d = applyLayout(d, [{ i: 'throughput_2', x: 2, y: 1, w: 5, h: 6 }])
    expect(d.widgets.at(-1)).toMatchObject({ x: 2, y: 1, w: 5, h: 6 })
  })
})

describe('time range', () => {
  const now = Date.parse('2026-12-06T10:30:20Z')
  it('resolves presets to the minute after now, and custom ranges as given', () => {
    expect(resolveRange({ preset: '1h' }, now)).toEqual({ from: '2026-12-06T09:31:00.000Z', to: '2026-12-06T10:31:00.000Z' })
    expect(resolveRange({ preset: '7d' }, now).from).toBe('2026-11-29T10:31:00.000Z')
    expect(resolveRange({ preset: 'custom', from: '2026-12-01T00:00:00Z', to: '2026-12-02T00:00:00Z' }, now))
      .toEqual({ from: '2026-12-01T00:00:00.000Z', to: '2026-12-02T00:00:00.000Z' })
  })
  it.each([
    ['', { preset: '24h' }],
    ['range=30d', { preset: '30d' }],
    ['range=5y', { preset: '24h' }],
    ['from=2026-12-01T00:00:00Z&to=2026-12-02T00:00:00Z', { preset: 'custom', from: '2026-12-01T00:00:00Z', to: '2026-12-02T00:00:00Z' }],
    ['from=2026-12-03T00:00:00Z&to=2026-12-02T00:00:00Z', { preset: '24h' }],
    ['from=yesterday&to=today', { preset: '24h' }],
  ])('reads ?%s', (q, want) => {
    expect(rangeFromSearch(new URLSearchParams(q))).toEqual(want)
  })
})

describe('chart data', () => {
  it('fills missing buckets of a count with 0 and of a gauge with null', () => {
    const pts = [{ t: '2026-12-06T10:01:00Z', value: 5 }, { t: '2026-12-06T10:03:00Z', value: 7 }]
    const from = '2026-12-06T10:00:00Z'
    const to = '2026-12-06T10:04:00Z'
    expect(fillSeries(pts, from, to, '1m', 0).map((p) => p.value)).toEqual([0, 5, 0, 7])
    expect(fillSeries(pts, from, to, '1m', null).map((p) => p.value)).toEqual([null, 5, null, 7])
    expect(fillSeries([], '2026-11-06T00:00:00Z', '2026-12-06T00:00:00Z', '1d', 0)).toHaveLength(30)
  })
  it('merges buckets beyond MAX_CHART_POINTS: sums counts, averages or takes the max of gauges', () => {
    const from = '2026-12-06T00:00:00Z'
    const to = '2026-12-07T00:00:00Z' // 1,440 minutes: 240 groups of 6
    const pts = [{ t: '2026-12-06T00:00:00Z', value: 6 }, { t: '2026-12-06T00:05:00Z', value: 12 }, { t: '2026-12-06T00:06:00Z', value: 1 }]
    const sum = fillSeries(pts, from, to, '1m', 0)
    expect(sum).toHaveLength(MAX_CHART_POINTS)
    expect(sum.slice(0, 2).map((p) => p.value)).toEqual([18, 1])
    expect(fillSeries(pts, from, to, '1m', 0, 'avg')[0].value).toBe(3)
    const max = fillSeries(pts, from, to, '1m', null)
    expect(max.slice(0, 3).map((p) => p.value)).toEqual([12, 1, null])
    expect(fillSeries([], '2020-01-01T00:00:00Z', '2026-01-01T00:00:00Z', '1m', 0).length).toBeLessThanOrEqual(MAX_CHART_POINTS)
  })
  it('orders status slices and leaves out zeros', () => {
    expect(statusSlices({ queued: 0, failed: 2, succeeded: 5, paused: 1 })).toEqual([
      { status: 'succeeded', count: 5 }, { status: 'failed', count: 2 }, { status: 'paused', count: 1 },
    ])
  })
  it.each([[null, 'never'], [42, '42 s'], [600, '10 min'], [3600 * 5 + 60 * 7, '5 h 7 min'], [86400 * 3, '3 d']])('formatAge(%s) = %s', (s, want) => {
    expect(formatAge(s)).toBe(want)
  })
})

import { describe, expect, it } from 'vitest'
import { chartData, defaultChart, display, fitChart, isNumeric, numericColumns } from './model'
import type { QueryResult } from './api'

const res = (columns: Array<[string, string]>, rows: unknown[][]): Pick<QueryResult, 'columns' | 'rows'> => ({
  columns: columns.map(([name, type]) => ({ name, type, native: type })),
  rows,
})

describe('numeric detection', () => {
  it('takes int, float and decimal columns, and text columns whose every value is a number', () => {
    const r = res([['id', 'int'], ['price', 'decimal'], ['ratio', 'float'], ['code', 'string'], ['name', 'string'], ['day', 'date']], [
      [1, 9.5, 0.1, '42', 'ann', '2026-01-01'],
      [2, null, null, '-3.5e2', 'bob', '2026-01-02'],
      [3, 1, 2, null, '7', '2026-01-03'],
    ])
    expect(numericColumns(r)).toEqual(['id', 'price', 'ratio', 'code'])
  })
  it('does not call an empty text column numeric', () => {
    expect(isNumeric({ name: 'x', type: 'string', native: 'text' }, 0, [[null], ['']])).toBe(false)
  })
})

describe('defaultChart', () => {
  it('draws numbers over a date column as a line', () => {
    const r = res([['region', 'string'], ['month', 'date'], ['orders', 'int'], ['revenue', 'decimal']], [['n', '2026-01-01', 1, 2]])
    expect(defaultChart(r)).toEqual({ type: 'line', x: 'month', y: ['orders', 'revenue'] })
  })
  it('draws numbers by a text column as bars, at most three series', () => {
    const r = res([['region', 'string'], ['a', 'int'], ['b', 'int'], ['c', 'int'], ['d', 'int']], [['n', 1, 2, 3, 4]])
    expect(defaultChart(r)).toEqual({ type: 'bar', x: 'region', y: ['a', 'b', 'c'] })
  })
  it('has nothing to draw without a second numeric column', () => {
    expect(defaultChart(res([['name', 'string']], [['a']]))).toBeNull()
  })
})

describe('fitChart', () => {
  const r = res([['month', 'date'], ['orders', 'int'], ['revenue', 'decimal']], [['2026-01-01', 1, 2]])
  it('keeps a saved chart whose columns exist', () => {
    expect(fitChart({ type: 'area', x: 'month', y: ['revenue'] }, r)).toEqual({ type: 'area', x: 'month', y: ['revenue'] })
  })
  it('drops columns the result no longer has and falls back to the default series', () => {
    expect(fitChart({ type: 'bar', x: 'gone', y: ['gone'] }, r)).toEqual({ type: 'bar', x: 'month', y: ['orders', 'revenue'] })
  })
  it('uses the default chart when none is saved', () => {
    expect(fitChart({ type: '', x: '', y: [] }, r)).toEqual({ type: 'line', x: 'month', y: ['orders', 'revenue'] })
  })
})

describe('chartData', () => {
  it('makes one point per row: x as text, series as numbers, null when not a number', () => {
    const r = res([['month', 'date'], ['orders', 'int'], ['revenue', 'string']], [['2026-01-01', 3, '10.5'], ['2026-02-01', null, 'n/a']])
    expect(chartData(r, { type: 'line', x: 'month', y: ['orders', 'revenue'] })).toEqual([
      { month: '2026-01-01', orders: 3, revenue: 10.5 },
      { month: '2026-02-01', orders: null, revenue: null },
    ])
  })
})

describe('display', () => {
  it('shows JSON values as JSON and nulls as nothing', () => {
    expect(display({ a: 1 })).toBe('{"a":1}')
    expect(display(null)).toBe('')
    expect(display(true)).toBe('true')
  })
})

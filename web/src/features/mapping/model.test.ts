import { describe, expect, it } from 'vitest'
import {
  acceptAll, acceptSuggestion, castability, connect, disconnect, fromConfig, problems, setExpression, toConfig,
  unusedSources, type FieldDef, type MappingState, type Suggestion,
} from './model'

const source: FieldDef[] = [
  { name: 'CustomerID', type: 'string' },
  { name: 'Email', type: 'string' },
  { name: 'first', type: 'string' },
  { name: 'last', type: 'string' },
  { name: 'signup', type: 'date' },
]
const destination: FieldDef[] = [
  { name: 'customer_id', type: 'int' },
  { name: 'email', type: 'string' },
  { name: 'full_name', type: 'string' },
]
const empty = (): MappingState => fromConfig({}, source, destination)

describe('mapping state', () => {
  it('connects a source field: rename, cast and select follow', () => {
    let s = connect(empty(), 'CustomerID', 'customer_id')
    s = connect(s, 'Email', 'email')
    expect(toConfig(s, source)).toEqual({
      rename: { CustomerID: 'customer_id', Email: 'email' },
      select: ['customer_id', 'email'],
      cast: { customer_id: 'int' },
    })
    s = disconnect(s, 'email')
    expect(toConfig(s, source)).toEqual({ rename: { CustomerID: 'customer_id' }, select: ['customer_id'], cast: { customer_id: 'int' } })
  })

  it('accepts auto-map suggestions one by one or all at once', () => {
    const sgs: Suggestion[] = [
      { source: 'CustomerID', destination: 'customer_id', confidence: 0.7, reason: 'abbreviation' },
      { source: 'Email', destination: 'email', confidence: 0.9, reason: 'case' },
    ]
    const one = acceptSuggestion(empty(), sgs[1])
    expect(one.links).toEqual({ email: { kind: 'field', source: 'Email' } })
    const all = acceptAll(empty(), sgs)
    expect(toConfig(all, source).select).toEqual(['customer_id', 'email'])
    // A suggestion for a destination field the studio did not list adds it.
    const extra = acceptSuggestion(empty(), { source: 'signup', destination: 'signed_up_on', destination_type: 'date', confidence: 0.5 })
    expect(extra.destination.map((d) => d.name)).toContain('signed_up_on')
    expect(unusedSources(all, source)).toEqual(['first', 'last', 'signup'])
  })

  it('turns an expression into map expressions, computed before the rename', () => {
    let s = acceptAll(empty(), [{ source: 'Email', destination: 'email', confidence: 1 }])
    s = setExpression(s, 'full_name', 'first + " " + last')
    expect(toConfig(s, source)).toEqual({
      expressions: [{ name: 'full_name', expression: 'first + " " + last', type: 'string' }],
      rename: { Email: 'email' },
      select: ['email', 'full_name'],
    })
    s = setExpression(s, 'full_name', 'upper(last)')
    expect(toConfig(s, source).expressions).toEqual([{ name: 'full_name', expression: 'upper(last)', type: 'string' }])
  })

  it('copies with an expression when a rename would clash', () => {
    const src: FieldDef[] = [{ name: 'a' }, { name: 'b' }]
    let s = fromConfig({}, src, [{ name: 'b' }, { name: 'c' }])
    s = connect(s, 'a', 'b') // b exists in the source: a rename a -> b would make b twice
    s = connect(s, 'a', 'c') // a feeds two fields
    expect(toConfig(s, src)).toEqual({
      expressions: [{ name: 'b', expression: 'a' }, { name: 'c', expression: 'a' }],
      select: ['b', 'c'],
    })
  })

  it('reads back what it wrote and keeps the options it does not own', () => {
    let s = connect(empty(), 'CustomerID', 'customer_id')
    s = setExpression(s, 'full_name', 'first + last')
    const cfg = toConfig(s, source, { defaults: { email: 'none' }, select: ['old'] })
    expect(cfg.defaults).toEqual({ email: 'none' })
    const back = fromConfig(cfg, source, [])
    expect(back.links).toEqual(s.links)
    expect(back.destination.map((d) => [d.name, d.type])).toEqual([['customer_id', 'int'], ['full_name', 'string']])
    expect(toConfig(back, source, cfg)).toEqual(cfg)
  })

  it('flags type mismatches before a run', () => {
    let s = connect(empty(), 'signup', 'customer_id') // date -> int: impossible
    s = connect(s, 'CustomerID', 'email')
    s = connect(s, 'nope', 'full_name')
    const p = problems(s, source)
    expect(p.customer_id).toEqual({ level: 'error', message: 'date "signup" cannot become int.' })
    expect(p.email).toBeUndefined()
    expect(p.full_name.level).toBe('error')
    expect(problems(connect(empty(), 'CustomerID', 'customer_id'), source).customer_id.level).toBe('warning')
  })

  it.each([
    ['int', 'int', 'same'],
    ['int', 'string', 'safe'],
    ['string', 'int', 'parse'],
    ['int', 'decimal', 'safe'],
    ['float', 'int', 'parse'],
    ['date', 'timestamp', 'safe'],
    ['date', 'int', 'never'],
    ['bool', 'date', 'never'],
    [undefined, 'int', 'unknown'],
  ])('castability %s -> %s is %s', (from, to, want) => {
    expect(castability(from, to)).toBe(want)
  })
})

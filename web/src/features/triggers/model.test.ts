import { describe, expect, it } from 'vitest'
import { emptySpec } from '@/features/graph'
import { absoluteURL, afterOf, curlExample, sameNames, withAfter } from './model'

describe('triggers model', () => {
  it('reads triggers.after, tolerating a single name and malformed values', () => {
    expect(afterOf(null)).toEqual([])
    expect(afterOf({ ...emptySpec(), triggers: { after: ['a', 'b'] } })).toEqual(['a', 'b'])
    expect(afterOf({ ...emptySpec(), triggers: { after: 'a' } })).toEqual(['a'])
    expect(afterOf({ ...emptySpec(), triggers: { after: [1, 'b'] } })).toEqual(['b'])
    expect(afterOf({ ...emptySpec(), triggers: 'x' })).toEqual([])
  })

  it('writes triggers.after, removing it (and triggers) when empty and keeping unknown keys', () => {
    const s = withAfter(emptySpec(), ['raw'])
    expect(s.triggers).toEqual({ after: ['raw'] })
    expect(withAfter(s, []).triggers).toBeUndefined()
    const kept = withAfter({ ...emptySpec(), triggers: { after: ['x'], future: true } }, [])
    expect(kept.triggers).toEqual({ future: true })
  })

  it('compares name lists case-insensitively in any order', () => {
    expect(sameNames(['A', 'b'], ['B', 'a'])).toBe(true)
    expect(sameNames(['a'], ['a', 'b'])).toBe(false)
  })

  it('makes the webhook URL absolute and builds a curl example', () => {
    expect(absoluteURL('/api/v1/pipelines/p/trigger', 'http://localhost:8001/')).toBe('http://localhost:8001/api/v1/pipelines/p/trigger')
    expect(absoluteURL('https://etl.example.com/api/v1/pipelines/p/trigger', 'http://x')).toBe('https://etl.example.com/api/v1/pipelines/p/trigger')
    const c = curlExample('http://h/api/v1/pipelines/p/trigger', 'aggwh_abc')
    expect(c).toContain("curl -X POST 'http://h/api/v1/pipelines/p/trigger'")
    expect(c).toContain('Authorization: Bearer aggwh_abc')
  })
})

import { describe, expect, it } from 'vitest'
import { shortId } from './format'

describe('shortId', () => {
  it('tells apart runs created in the same minute (UUIDv7 ids share their first characters)', () => {
    const a = '01a2497c-b7ec-720b-bb12-93ae03b55846'
    const b = '01a2497d-a251-7db4-8bf9-02c52f74a02c'
    expect(a.slice(0, 6)).toBe(b.slice(0, 6))
    expect(shortId(a)).toBe('03b55846')
    expect(shortId(b)).toBe('2f74a02c')
  })
  it('keeps a short id whole', () => {
    expect(shortId('run-1')).toBe('run-1')
  })
})

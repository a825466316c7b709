import { describe, expect, it } from 'vitest'
import { lineDiff } from './diff'

describe('lineDiff', () => {
  it('marks added, removed and kept lines with their numbers', () => {
    const d = lineDiff('a\nb\nc\n', 'a\nc\nd\n')
    expect(d).toEqual([
      { op: 'same', text: 'a', a: 1, b: 1 },
      { op: 'del', text: 'b', a: 2 },
      { op: 'same', text: 'c', a: 3, b: 2 },
      { op: 'add', text: 'd', b: 3 },
    ])
  })
  it('is all "same" for equal texts and all "add" from nothing', () => {
    expect(lineDiff('x\ny', 'x\ny').every((l) => l.op === 'same')).toBe(true)
    expect(lineDiff('', 'x\ny').map((l) => l.op)).toEqual(['add', 'add'])
  })
})

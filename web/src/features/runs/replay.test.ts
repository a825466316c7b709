import { describe, expect, it } from 'vitest'
import { ApiError } from '@/api/errors'
import { cellErrors, editsToSend } from './replay'

describe('fix and replay edits', () => {
  const rows = [
    { id: 7, node: 'check', reason: 'age must be 0 or more', field: 'age', values: { id: '2', age: '-5' } },
    { id: 8, node: 'check', reason: 'x', values: { id: '3', age: '1' } },
  ]

  it('sends only the fields that changed, by dead-letter id', () => {
    expect(editsToSend(rows, { 7: { age: '29', id: '2' }, 8: { age: '1' } })).toEqual([{ id: 7, values: { age: '29' } }])
    expect(editsToSend(rows, {})).toEqual([])
  })

  it('maps a refused replay field error back to its cell', () => {
    const sent = [{ id: 7, values: { age: 'abc' } }]
    const err = new ApiError(422, { title: 'Unprocessable', errors: [{ location: 'body.edits[0].values.age', message: 'not an int' }] })
    expect(cellErrors(err, sent)).toEqual({ '7:age': 'not an int' })
    expect(cellErrors(new Error('x'), sent)).toEqual({})
  })
})

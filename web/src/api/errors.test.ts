import { describe, expect, it } from 'vitest'
import { ApiError, messageOf, errorMessage } from './errors'

describe('problem+json messages', () => {
  it('uses detail, then title, then the status', () => {
    expect(messageOf(404, { title: 'Not Found', detail: 'no pipeline "x"' })).toBe('no pipeline "x"')
    expect(messageOf(404, { title: 'Not Found' })).toBe('Not Found')
    expect(messageOf(502, {})).toBe('Request failed (502)')
  })

  it('names each field that was wrong, without the body. prefix', () => {
    const e = new ApiError(422, {
      title: 'Unprocessable Entity',
      detail: 'validation failed',
      errors: [
        { message: 'expected string', location: 'body.config.path' },
        { message: 'unknown type', location: 'body.type' },
      ],
    })
    expect(e.message).toBe('validation failed: config.path: expected string; type: unknown type')
    expect(e.fieldErrors('body.config').map((d) => d.message)).toEqual(['expected string'])
    expect(errorMessage(e)).toBe(e.message)
    expect(errorMessage(new Error('boom'))).toBe('boom')
  })
})

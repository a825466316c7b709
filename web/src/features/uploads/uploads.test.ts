import { describe, expect, it } from 'vitest'
import { ApiError } from '@/api/errors'
import { uploadError } from './uploads'

describe('uploadError', () => {
  it('tells the server message about the file rather than the generic title', () => {
    const e = new ApiError(422, {
      title: 'Unprocessable Entity', detail: 'validation failed',
      errors: [{ location: 'body.file', message: 'the file is empty' }],
    })
    expect(uploadError(e)).toBe('Upload refused: the file is empty')
  })
  it('falls back to the detail (413 too large, 415 unsupported)', () => {
    const e = new ApiError(413, { title: 'Request Entity Too Large', detail: 'the file is larger than the 1 GiB limit (MAX_UPLOAD_BYTES)' })
    expect(uploadError(e)).toBe('Upload refused: the file is larger than the 1 GiB limit (MAX_UPLOAD_BYTES)')
  })
  it('names a network failure', () => {
    expect(uploadError(new Error('The upload failed: the server could not be reached'))).toMatch(/could not be reached/)
  })
})

import { ApiError } from '@/api/errors'

/**
 * fieldMessage is the server's message for one field of a failed call (problem+json errors whose
 * location is exactly loc or under it), or null; the detail is used when the problem has no errors
 * but names the field.
 */
export function fieldMessage(err: unknown, loc: string): string | null {
  if (!(err instanceof ApiError)) return null
  const hits = err.fieldErrors(loc).filter((e) => {
    const l = e.location ?? ''
    return l === loc || l.startsWith(loc + '.') || l.startsWith(loc + '[')
  })
  if (hits.length) return hits.map((e) => e.message).filter(Boolean).join('; ')
  return null
}

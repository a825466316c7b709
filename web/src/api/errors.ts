// The server answers errors as problem+json (RFC 9457): title, status, detail and, for validation,
// errors [{message, location, value}]. ApiError keeps them so that a page can show the message next
// to what caused it (a field, a node).
export interface ProblemDetail {
  message?: string
  location?: string
  value?: unknown
}

export interface Problem {
  type?: string
  title?: string
  status?: number
  detail?: string
  errors?: ProblemDetail[] | null
  [key: string]: unknown
}

export class ApiError extends Error {
  readonly status: number
  readonly problem: Problem

  constructor(status: number, problem: Problem) {
    super(messageOf(status, problem))
    this.name = 'ApiError'
    this.status = status
    this.problem = problem
  }

  /** The messages of the problem's errors whose location starts with prefix (e.g. "body.config.path"). */
  fieldErrors(prefix = ''): ProblemDetail[] {
    return (this.problem.errors ?? []).filter((e) => (e.location ?? '').startsWith(prefix))
  }
}

export function messageOf(status: number, p: Problem): string {
  const base = p.detail || p.title || `Request failed (${status})`
  const details = (p.errors ?? [])
    .map((e) => (e.location ? `${e.location.replace(/^body\./, '')}: ${e.message}` : e.message))
    .filter(Boolean)
  return details.length ? `${base}: ${details.join('; ')}` : base
}

/** The message of any thrown value, for toasts and inline errors. */
export function errorMessage(e: unknown): string {
  if (e instanceof ApiError) return e.message
  if (e instanceof Error) return e.message
  return String(e)
}

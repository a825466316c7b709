// The typed API client. Types come from src/api/schema.d.ts, generated from the server's OpenAPI
// document (npm run gen:api; make test fails when it is stale). Every call goes through authFetch:
// the access token (kept in memory only) is added, and a 401 triggers one silent refresh through the
// httpOnly refresh cookie, then the call is retried once.
import createClient from 'openapi-fetch'
import type { paths, components } from './schema'
import { ApiError, type Problem } from './errors'
import { useSession } from '@/auth/session'

export type Schemas = components['schemas']

async function authFetch(input: Request): Promise<Response> {
  const retry = input.clone()
  const res = await fetch(withToken(input))
  if (res.status !== 401 || isAuthRoute(input.url)) return res
  const ok = await useSession.getState().refresh()
  if (!ok) {
    useSession.getState().expire()
    return res
  }
  return fetch(withToken(retry))
}

function withToken(req: Request): Request {
  const token = useSession.getState().accessToken
  if (token && !req.headers.has('Authorization')) req.headers.set('Authorization', `Bearer ${token}`)
  return req
}

function isAuthRoute(url: string): boolean {
  const p = new URL(url, window.location.origin).pathname
  return p === '/api/v1/auth/login' || p === '/api/v1/auth/refresh' || p === '/api/v1/auth/logout'
}

export const api = createClient<paths>({ baseUrl: '', fetch: authFetch })

/** The shape of an openapi-fetch result. */
interface Result<T> {
  data?: T
  error?: unknown
  response: Response
}

/**
 * unwrap turns an openapi-fetch result into its data, or throws an ApiError carrying the server's
 * problem+json (title, detail, errors with their locations).
 */
export async function unwrap<T>(p: Promise<Result<T>>): Promise<T> {
  const { data, error, response } = await p
  if (error !== undefined || !response.ok) {
    const problem: Problem =
      error && typeof error === 'object' ? (error as Problem) : { title: response.statusText, detail: String(error ?? '') }
    throw new ApiError(response.status, problem)
  }
  return data as T
}

/** Plain fetch with the session's token and the same refresh-and-retry, for downloads and uploads. */
export function rawFetch(path: string, init?: RequestInit): Promise<Response> {
  return authFetch(new Request(path, init))
}

/** Throws an ApiError when res is not ok. */
export async function ensureOk(res: Response): Promise<Response> {
  if (res.ok) return res
  let problem: Problem = { title: res.statusText }
  try {
    problem = (await res.json()) as Problem
  } catch {
    /* not JSON */
  }
  throw new ApiError(res.status, problem)
}

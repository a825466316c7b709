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

/**
 * uploadFile posts one file as multipart/form-data (part "file") to path with the session's token,
 * reporting progress (0..1) as it is sent; a 401 refreshes the session once and retries. fetch has no
 * upload progress, so this is the one place that uses XMLHttpRequest. Resolves with the JSON body,
 * rejects with an ApiError carrying the server's problem (413 too large, 415 unsupported, 422 empty).
 */
export async function uploadFile<T>(
  path: string,
  file: File,
  onProgress?: (fraction: number) => void,
  signal?: AbortSignal,
): Promise<T> {
  const send = () =>
    new Promise<{ status: number; statusText: string; body: string }>((resolve, reject) => {
      const xhr = new XMLHttpRequest()
      xhr.open('POST', path)
      const token = useSession.getState().accessToken
      if (token) xhr.setRequestHeader('Authorization', `Bearer ${token}`)
      xhr.upload.onprogress = (e) => {
        if (e.lengthComputable && e.total > 0) onProgress?.(e.loaded / e.total)
      }
      xhr.onload = () => resolve({ status: xhr.status, statusText: xhr.statusText, body: xhr.responseText })
      xhr.onerror = () => reject(new Error('The upload failed: the server could not be reached'))
      xhr.onabort = () => reject(new DOMException('The upload was cancelled', 'AbortError'))
      signal?.addEventListener('abort', () => xhr.abort(), { once: true })
      const form = new FormData()
      form.append('file', file, file.name)
      xhr.send(form)
    })
  let res = await send()
  if (res.status === 401 && (await useSession.getState().refresh())) res = await send()
  if (res.status === 401) useSession.getState().expire()
  if (res.status < 200 || res.status >= 300) {
    let problem: Problem = { title: res.statusText || `Upload failed (${res.status})` }
    try {
      problem = JSON.parse(res.body) as Problem
    } catch {
      /* not JSON */
    }
    throw new ApiError(res.status, problem)
  }
  onProgress?.(1)
  return (res.body ? JSON.parse(res.body) : null) as T
}

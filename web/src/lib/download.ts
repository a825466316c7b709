// Downloads through the session's token: the response body becomes a file the browser saves, named
// by the server's Content-Disposition (or the fallback).
import { ensureOk, rawFetch } from '@/api/client'

/**
 * Fetches path (GET, or init's method and body) and saves the body as a file. Rejects with an
 * ApiError carrying the server's problem when the response is not ok, before anything is saved.
 */
export async function download(path: string, fallbackName: string, init?: RequestInit): Promise<void> {
  const res = await ensureOk(await rawFetch(path, init))
  const cd = res.headers.get('Content-Disposition') ?? ''
  const m = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(cd)
  const name = m ? decodeURIComponent(m[1]) : fallbackName
  const url = URL.createObjectURL(await res.blob())
  const a = document.createElement('a')
  a.href = url
  a.download = name
  document.body.appendChild(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}

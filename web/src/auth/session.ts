// The signed-in session. The access token lives in memory only (never in localStorage); the refresh
// token lives in an httpOnly, SameSite=Strict cookie the server sets on /api/v1/auth, so a reload
// restores the session with one refresh call. The access token is refreshed silently a minute before
// it expires; when that fails the session expires and the app returns to the sign-in page, which
// brings the user back to where they were.
import { create } from 'zustand'
import type { components } from '@/api/schema'
import { ApiError, type Problem } from '@/api/errors'

export type Me = components['schemas']['MeOutputBody']
export type Permission = NonNullable<Me['permissions']>[number]
export type SessionStatus = 'unknown' | 'signed-in' | 'signed-out' | 'expired'

// The header the browser sends so that the server uses the refresh cookie (and refuses a
// cross-site request on that path, which cannot set a custom header).
export const SESSION_HEADER = { 'X-Session': 'cookie' } as const

interface TokenBody {
  access_token: string
  access_expires_at: string
}

interface SessionState {
  status: SessionStatus
  accessToken: string | null
  expiresAt: number | null
  me: Me | null
  signIn: (login: string, password: string) => Promise<void>
  restore: () => Promise<void>
  refresh: () => Promise<boolean>
  signOut: () => Promise<void>
  expire: () => void
  setMe: (me: Me) => void
}

let refreshTimer: ReturnType<typeof setTimeout> | undefined
let inflight: Promise<boolean> | null = null

function schedule(expiresAt: number) {
  clearTimeout(refreshTimer)
  const wait = Math.max(5_000, expiresAt - Date.now() - 60_000)
  refreshTimer = setTimeout(() => {
    void useSession.getState().refresh().then((ok) => {
      if (!ok) useSession.getState().expire()
    })
  }, wait)
}

async function postJSON(path: string, body: unknown, token?: string): Promise<Response> {
  return fetch(path, {
    method: 'POST',
    credentials: 'same-origin',
    headers: {
      'Content-Type': 'application/json',
      ...SESSION_HEADER,
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  })
}

async function problemOf(res: Response): Promise<ApiError> {
  let p: Problem = { title: res.statusText }
  try {
    p = (await res.json()) as Problem
  } catch {
    /* not JSON */
  }
  return new ApiError(res.status, p)
}

async function fetchMe(token: string): Promise<Me> {
  const res = await fetch('/api/v1/auth/me', { headers: { Authorization: `Bearer ${token}` } })
  if (!res.ok) throw await problemOf(res)
  return (await res.json()) as Me
}

export const useSession = create<SessionState>()((set, get) => ({
  status: 'unknown',
  accessToken: null,
  expiresAt: null,
  me: null,

  async signIn(login, password) {
    const res = await postJSON('/api/v1/auth/login', { login, password })
    if (!res.ok) throw await problemOf(res)
    const t = (await res.json()) as TokenBody
    const me = await fetchMe(t.access_token)
    const expiresAt = Date.parse(t.access_expires_at)
    set({ status: 'signed-in', accessToken: t.access_token, expiresAt, me })
    schedule(expiresAt)
  },

  async restore() {
    if (await get().refresh()) {
      try {
        const me = await fetchMe(get().accessToken as string)
        set({ status: 'signed-in', me })
        return
      } catch {
        /* fall through */
      }
    }
    set({ status: 'signed-out', accessToken: null, me: null })
  },

  refresh() {
    if (inflight) return inflight
    inflight = (async () => {
      try {
        const res = await postJSON('/api/v1/auth/refresh', {})
        if (!res.ok) return false
        const t = (await res.json()) as TokenBody
        const expiresAt = Date.parse(t.access_expires_at)
        set({ accessToken: t.access_token, expiresAt })
        schedule(expiresAt)
        return true
      } catch {
        return false
      } finally {
        inflight = null
      }
    })()
    return inflight
  },

  async signOut() {
    clearTimeout(refreshTimer)
    try {
      await postJSON('/api/v1/auth/logout', {}, get().accessToken ?? undefined)
    } finally {
      set({ status: 'signed-out', accessToken: null, expiresAt: null, me: null })
    }
  },

  expire() {
    clearTimeout(refreshTimer)
    if (get().status === 'signed-in') set({ status: 'expired', accessToken: null, expiresAt: null })
  },

  setMe(me) {
    set({ me })
  },
}))

/** can reports whether the signed-in user's role holds permission p (the server's table, from /auth/me). */
export function useCan(): (p: Permission) => boolean {
  const perms = useSession((s) => s.me?.permissions)
  return (p) => !!perms?.includes(p)
}

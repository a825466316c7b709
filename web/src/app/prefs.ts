// Client-side preferences mirrored from /api/v1/me/preferences: theme (light, dark, system), time
// zone and language. The theme is applied by toggling the `dark` class on <html>. localStorage keeps
// the last values so that the first paint is right; after sign-in useServerPrefs loads the saved ones,
// and the profile page saves all three with savePrefs (PUT /api/v1/me/preferences).
import { useEffect } from 'react'
import { create } from 'zustand'
import { api, unwrap } from '@/api/client'
import type { components } from '@/api/schema'
import { useSession } from '@/auth/session'

export type ServerPrefs = components['schemas']['Preferences']

export type Theme = 'light' | 'dark' | 'system'

interface PrefsState {
  theme: Theme
  timeZone: string
  language: string
  setTheme: (t: Theme) => void
  setTimeZone: (tz: string) => void
  setLanguage: (l: string) => void
}

const stored = (k: string) => {
  try {
    return localStorage.getItem(k)
  } catch {
    return null
  }
}

export const usePrefs = create<PrefsState>()((set) => ({
  theme: (stored('agg.theme') as Theme) || 'system',
  timeZone: stored('agg.tz') || '',
  language: stored('agg.lang') || 'en',
  setTheme(theme) {
    try {
      localStorage.setItem('agg.theme', theme)
    } catch {
      /* private mode */
    }
    set({ theme })
    applyTheme(theme)
  },
  setTimeZone(timeZone) {
    try {
      localStorage.setItem('agg.tz', timeZone)
    } catch {
      /* private mode */
    }
    set({ timeZone })
  },
  setLanguage(language) {
    try {
      localStorage.setItem('agg.lang', language)
    } catch {
      /* private mode */
    }
    document.documentElement.lang = language
    set({ language })
  },
}))

/** applyServerPrefs makes the saved preferences the app's (theme applied, times in the zone). */
export function applyServerPrefs(p: Pick<ServerPrefs, 'theme' | 'timezone' | 'language'>) {
  const s = usePrefs.getState()
  if (p.theme && p.theme !== s.theme) s.setTheme(p.theme)
  if (p.timezone !== undefined && p.timezone !== s.timeZone) s.setTimeZone(p.timezone)
  if (p.language && p.language !== s.language) s.setLanguage(p.language)
}

export const prefsQueryKey = ['me', 'preferences'] as const

export function fetchPrefs(): Promise<ServerPrefs> {
  return unwrap(api.GET('/api/v1/me/preferences'))
}

/** savePrefs saves theme, time zone and language on the server and applies them. */
export async function savePrefs(p: { theme: Theme; timezone: string; language: string }): Promise<ServerPrefs> {
  const saved = await unwrap(api.PUT('/api/v1/me/preferences', { body: p }))
  applyServerPrefs(saved)
  return saved
}

/** useServerPrefs loads the signed-in user's saved preferences once per sign-in and applies them. */
export function useServerPrefs() {
  const userId = useSession((s) => s.me?.id)
  // Nothing but the password change is allowed while a temporary password is in use.
  const allowed = useSession((s) => !!s.me?.permissions?.includes('preferences:self') && !s.me.must_change_password)
  useEffect(() => {
    if (!userId || !allowed) return
    let live = true
    fetchPrefs()
      .then((p) => {
        // Until saved, the server answers defaults (UTC): keep the browser's zone then.
        if (live && p.updated_at) applyServerPrefs(p)
      })
      .catch(() => {
        /* keep the local values; the profile page shows the error */
      })
    return () => {
      live = false
    }
  }, [userId, allowed])
}

export function applyTheme(theme: Theme) {
  const dark =
    theme === 'dark' || (theme === 'system' && window.matchMedia?.('(prefers-color-scheme: dark)').matches)
  document.documentElement.classList.toggle('dark', !!dark)
}

export function watchSystemTheme() {
  const mq = window.matchMedia?.('(prefers-color-scheme: dark)')
  mq?.addEventListener('change', () => {
    if (usePrefs.getState().theme === 'system') applyTheme('system')
  })
}

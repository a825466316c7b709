// Client-side preferences mirrored from /api/v1/me/preferences: theme (light, dark, system) and
// time zone. The theme is applied by toggling the `dark` class on <html>.
import { create } from 'zustand'

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
    set({ language })
  },
}))

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

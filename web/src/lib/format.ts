// Formatting shared by every page: times in the user's time zone, durations, counts.
import { usePrefs } from '@/app/prefs'

export function formatTime(iso?: string | null, tz?: string): string {
  if (!iso) return '—'
  const d = new Date(iso)
  if (Number.isNaN(d.getTime()) || d.getFullYear() < 1971) return '—'
  return d.toLocaleString(undefined, {
    timeZone: tz || usePrefs.getState().timeZone || undefined,
    year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit',
  })
}

export function relativeTime(iso?: string | null, now = Date.now()): string {
  if (!iso) return '—'
  const t = Date.parse(iso)
  if (Number.isNaN(t) || t < 31536000000) return '—'
  const s = Math.round((now - t) / 1000)
  const abs = Math.abs(s)
  const fmt = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' })
  if (abs < 60) return fmt.format(-s, 'second')
  if (abs < 3600) return fmt.format(-Math.round(s / 60), 'minute')
  if (abs < 86400) return fmt.format(-Math.round(s / 3600), 'hour')
  return fmt.format(-Math.round(s / 86400), 'day')
}

export function formatDuration(ms?: number | null): string {
  if (ms == null || !Number.isFinite(ms) || ms < 0) return '—'
  if (ms < 1000) return `${Math.round(ms)} ms`
  const s = ms / 1000
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`
  const m = Math.floor(s / 60)
  const rs = Math.round(s % 60)
  if (m < 60) return `${m} min ${rs} s`
  return `${Math.floor(m / 60)} h ${m % 60} min`
}

export function formatCount(n?: number | null): string {
  if (n == null || !Number.isFinite(n)) return '—'
  return new Intl.NumberFormat().format(n)
}

export function formatBytes(n?: number | null): string {
  if (n == null || !Number.isFinite(n)) return '—'
  const units = ['B', 'KB', 'MB', 'GB', 'TB']
  let i = 0
  let v = n
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`
}

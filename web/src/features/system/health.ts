// System page logic: the health statuses and how they read.

export type HealthStatus = 'ok' | 'warn' | 'error' | 'off'

export const statusTone = { ok: 'green', warn: 'amber', error: 'red', off: 'gray' } as const
export const statusLabel = { ok: 'Healthy', warn: 'Attention', error: 'Failing', off: 'Not configured' } as const

/** "3d 4h", "2h 5m", "45s": how long the process has been up. */
export function formatUptime(seconds: number): string {
  if (seconds < 60) return `${Math.max(0, Math.floor(seconds))}s`
  const d = Math.floor(seconds / 86400)
  const h = Math.floor((seconds % 86400) / 3600)
  const m = Math.floor((seconds % 3600) / 60)
  if (d > 0) return `${d}d ${h}h`
  if (h > 0) return `${h}h ${m}m`
  return `${m}m`
}

/** The summary line of the disk card. */
export function diskSummary(d: { free_bytes: number; total_bytes: number }, fmt: (n: number) => string): string {
  if (!d.total_bytes) return 'Unknown'
  const pct = Math.round((d.free_bytes / d.total_bytes) * 100)
  return `${fmt(d.free_bytes)} free of ${fmt(d.total_bytes)} (${pct}%)`
}

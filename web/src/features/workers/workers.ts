import { useQuery } from '@tanstack/react-query'
import { api, unwrap } from '@/api/client'
import type { Worker } from './types'

export const workersKey = ['workers']

/** The workers, refreshed every five seconds (heartbeats are more frequent than that). */
export function useWorkers() {
  return useQuery({
    queryKey: workersKey,
    refetchInterval: 5000,
    queryFn: ({ signal }) => unwrap(api.GET('/api/v1/workers', { signal })),
  })
}

export interface WorkerTotals {
  alive: number
  slots: number
  running: number
  /** running / slots of the alive workers, 0..1 (0 without slots). */
  load: number
}

/** What the live workers add up to. */
export function totals(items: Worker[]): WorkerTotals {
  const alive = items.filter((w) => w.status === 'alive')
  const slots = alive.reduce((n, w) => n + w.concurrency, 0)
  const running = alive.reduce((n, w) => n + w.running, 0)
  return { alive: alive.length, slots, running, load: slots ? Math.min(1, running / slots) : 0 }
}

/** Alive first, then stopped, then dead; within each, by host and pid. */
export function sortWorkers(items: Worker[]): Worker[] {
  const rank = { alive: 0, stopped: 1, dead: 2 } as const
  return [...items].sort((a, b) => rank[a.status] - rank[b.status] || a.host.localeCompare(b.host) || a.pid - b.pid)
}

/** Seconds since the last heartbeat (never negative: clocks differ a little). */
export function heartbeatAge(w: Worker, now: number): number {
  return Math.max(0, Math.round((now - Date.parse(w.last_heartbeat)) / 1000))
}

/** "4 s", "2 min 5 s", "3 h 12 min". */
export function ageText(seconds: number): string {
  if (seconds < 60) return `${seconds} s`
  const m = Math.floor(seconds / 60)
  if (m < 60) return `${m} min ${seconds % 60} s`
  const h = Math.floor(m / 60)
  if (h < 48) return `${h} h ${m % 60} min`
  return `${Math.floor(h / 24)} d`
}

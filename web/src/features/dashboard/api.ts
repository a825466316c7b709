// Server state of the dashboard: the analytics endpoints (summary, pipelines, timeseries), the user's
// saved dashboards (/api/v1/me/dashboards) and the live refresh. Every analytics query is keyed by
// its absolute range; run events on the "dashboard" channel mark them stale so that the widgets
// refetch within a second of a run changing status. Without the socket (a role without runs:read, a
// proxy that drops WebSockets) they poll every 30 s.
import { useEffect } from 'react'
import { useQuery, useQueryClient, keepPreviousData } from '@tanstack/react-query'
import { api, unwrap, type Schemas } from '@/api/client'
import { liveClient } from '@/features/runs/useLive'
import type { Metric } from './model'

export type SavedDashboard = Schemas['DashboardLayout']

export const dashKeys = {
  analytics: ['analytics'] as const,
  summary: (from: string, to: string) => ['analytics', 'summary', from, to] as const,
  pipelines: (from: string, to: string) => ['analytics', 'pipelines', from, to] as const,
  series: (metric: Metric, from: string, to: string) => ['analytics', 'timeseries', metric, from, to] as const,
  saved: ['me', 'dashboards'] as const,
}

const POLL = 30_000

export function useSummary(from: string, to: string, live: boolean) {
  return useQuery({
    queryKey: dashKeys.summary(from, to),
    queryFn: () => unwrap(api.GET('/api/v1/analytics/summary', { params: { query: { from, to } } })),
    placeholderData: keepPreviousData,
    refetchInterval: live ? false : POLL,
  })
}

export function usePipelineStats(from: string, to: string, live: boolean) {
  return useQuery({
    queryKey: dashKeys.pipelines(from, to),
    queryFn: async () => (await unwrap(api.GET('/api/v1/analytics/pipelines', { params: { query: { from, to } } }))).items,
    placeholderData: keepPreviousData,
    refetchInterval: live ? false : POLL,
  })
}

export function useSeries(metric: Metric, from: string, to: string, live: boolean) {
  return useQuery({
    queryKey: dashKeys.series(metric, from, to),
    queryFn: () => unwrap(api.GET('/api/v1/analytics/timeseries', { params: { query: { metric, from, to, step: 'auto' } } })),
    placeholderData: keepPreviousData,
    // the series move with time even without run events (rows/s of a running run, stream lag)
    refetchInterval: live ? 60_000 : POLL,
  })
}

/**
 * Subscribes to the "dashboard" channel while enabled: every run status change (and a resync after
 * a reconnect) refetches the analytics queries, at most once per 750 ms.
 */
export function useLiveAnalytics(enabled: boolean) {
  const qc = useQueryClient()
  useEffect(() => {
    if (!enabled) return
    let timer: ReturnType<typeof setTimeout> | undefined
    const refresh = () => {
      if (timer) return
      timer = setTimeout(() => {
        timer = undefined
        void qc.invalidateQueries({ queryKey: dashKeys.analytics })
      }, 750)
    }
    const offEvents = liveClient.subscribe('dashboard', refresh)
    const offStatus = liveClient.onStatus((s) => {
      if (s === 'open') refresh()
    })
    return () => {
      clearTimeout(timer)
      offEvents()
      offStatus()
    }
  }, [enabled, qc])
}

// ---- saved dashboards ----

export function useSavedDashboards() {
  return useQuery({
    queryKey: dashKeys.saved,
    queryFn: async () => (await unwrap(api.GET('/api/v1/me/dashboards'))).items,
    staleTime: 30_000,
  })
}

type LayoutBody = { name: string; layout: Record<string, unknown>; is_default?: boolean }

export function createDashboard(body: LayoutBody) {
  return unwrap(api.POST('/api/v1/me/dashboards', { body }))
}

export function updateDashboard(id: string, body: LayoutBody) {
  return unwrap(api.PUT('/api/v1/me/dashboards/{id}', { params: { path: { id } }, body }))
}

export function setDefaultDashboard(id: string) {
  return unwrap(api.POST('/api/v1/me/dashboards/{id}/default', { params: { path: { id } } }))
}

export function deleteDashboard(id: string) {
  return unwrap(api.DELETE('/api/v1/me/dashboards/{id}', { params: { path: { id } } }))
}

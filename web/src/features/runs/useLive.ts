// Binds the live-updates client (src/lib/live.ts) to the session and to TanStack Query: one client
// for the app, authenticated with the in-memory access token (reconnecting when it is refreshed),
// whose events update the cached runs, run pages and log tails. A page calls useLiveRun(id) or
// useLiveRuns() and reads the same queries as without live updates; when the socket is not open
// (no WebSocket backend, a proxy that drops it) `live` is false and the page polls instead.
import { useEffect, useSyncExternalStore } from 'react'
import { LiveClient, type LiveStatus, type RunEvent } from '@/lib/live'
import { useSession } from '@/auth/session'
import { queryClient } from '@/app/queryClient'
import { applyToLogs, applyToRun, applyToRunPage, isActive, runKeys, type LogTail, type Run, type RunPage } from './queries'

function resync(channel: string) {
  if (channel === 'runs' || channel === 'dashboard') {
    void queryClient.invalidateQueries({ queryKey: runKeys.lists })
    return
  }
  if (channel.startsWith('run:')) void queryClient.invalidateQueries({ queryKey: runKeys.run(channel.slice(4)) })
}

export const liveClient = new LiveClient({
  token: () => useSession.getState().accessToken,
  onResync: resync,
  onAuthRejected: () => useSession.getState().refresh(),
})

useSession.subscribe((s, prev) => {
  if (s.accessToken !== prev.accessToken) liveClient.tokenChanged()
})

let pendingListRefetch: ReturnType<typeof setTimeout> | undefined
function refetchListsSoon() {
  clearTimeout(pendingListRefetch)
  pendingListRefetch = setTimeout(() => void queryClient.invalidateQueries({ queryKey: runKeys.lists }), 250)
}

/** Folds one event into every cached query it concerns. */
export function applyEvent(ev: RunEvent) {
  const id = ev.run_id
  if (ev.type === 'run.log') {
    queryClient.setQueryData<LogTail>(runKeys.logs(id), (t) => (t ? applyToLogs(t, ev) : t))
    return
  }
  const before = queryClient.getQueryData<Run>(runKeys.run(id))
  if (ev.type === 'run.chunk') {
    // a chunk the cached run does not list yet (the run was read before it was split): re-read it
    if (before && ev.chunk && !before.chunks?.some((c) => c.idx === ev.chunk?.idx)) {
      void queryClient.invalidateQueries({ queryKey: runKeys.run(id) })
      return
    }
    queryClient.setQueryData<Run>(runKeys.run(id), (r) => (r ? applyToRun(r, ev) : r))
    return
  }
  queryClient.setQueryData<Run>(runKeys.run(id), (r) => (r ? applyToRun(r, ev) : r))
  let missing = false
  queryClient.setQueriesData<RunPage>({ queryKey: runKeys.lists }, (p) => {
    if (!p) return p
    const next = applyToRunPage(p, ev)
    if (next === null) {
      missing = true
      return p
    }
    return next
  })
  if (missing) refetchListsSoon()
  if (ev.type === 'run.status' && (!before || !isActive(ev.status))) {
    // Finished: timings, dead-letter count, final counters and outputs come from REST. A status the
    // cache could not take (the run page's first read still in flight, which may answer with the
    // state before this event) is read again too: invalidating restarts that read.
    void queryClient.invalidateQueries({ queryKey: runKeys.run(id) })
    if (!isActive(ev.status)) refetchListsSoon()
  }
}

function subscribeStatus(cb: () => void) {
  return liveClient.onStatus(cb)
}
function getStatus(): LiveStatus {
  return liveClient.status
}

/** The live connection's state. */
export function useLiveStatus(): LiveStatus {
  return useSyncExternalStore(subscribeStatus, getStatus)
}

function useChannel(channel: string | null) {
  useEffect(() => {
    if (!channel) return
    return liveClient.subscribe(channel, applyEvent)
  }, [channel])
}

/** Keeps run id's queries (run, log tail) fresh from its events; true while the socket is open. */
export function useLiveRun(id: string | undefined): boolean {
  useChannel(id ? `run:${id}` : null)
  return useLiveStatus() === 'open'
}

/** Keeps every cached runs list fresh; true while the socket is open. */
export function useLiveRuns(): boolean {
  useChannel('runs')
  return useLiveStatus() === 'open'
}

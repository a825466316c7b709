import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { LiveClient, backoffDelay, type SocketLike, type RunEvent } from './live'

// FakeSocket is a test double of the browser's WebSocket: it records what the client sends and
// lets the test play the server (open, frames, close).
class FakeSocket implements SocketLike {
  static all: FakeSocket[] = []
  readyState = 0
  sent: Array<Record<string, unknown>> = []
  closed = false
  onopen: ((ev: unknown) => void) | null = null
  onmessage: ((ev: { data: unknown }) => void) | null = null
  onclose: ((ev: { code: number; reason: string }) => void) | null = null
  onerror: ((ev: unknown) => void) | null = null
  constructor(readonly url: string) {
    FakeSocket.all.push(this)
  }
  send(data: string) {
    if (this.readyState !== 1) throw new Error('send before open')
    this.sent.push(JSON.parse(data) as Record<string, unknown>)
  }
  close() {
    this.closed = true
    this.readyState = 3
  }
  // The server side.
  open() {
    this.readyState = 1
    this.onopen?.({})
  }
  frame(f: Record<string, unknown>) {
    this.onmessage?.({ data: JSON.stringify(f) })
  }
  drop(code = 1006) {
    this.readyState = 3
    this.onclose?.({ code, reason: '' })
  }
  types() {
    return this.sent.map((f) => `${f.type as string}${f.channel ? ' ' + (f.channel as string) : ''}`)
  }
}

const ev = (seq: number, type = 'run.progress'): RunEvent => ({
  type, run_id: 'r1', seq, pipeline_id: 'p1', status: 'running', time: '2026-01-01T00:00:00Z',
})

let token: string | null
function client(extra: Partial<ConstructorParameters<typeof LiveClient>[0]> = {}) {
  return new LiveClient({
    url: () => 'ws://test/api/v1/ws',
    token: () => token,
    socket: (url) => new FakeSocket(url),
    random: () => 0.5, // jitter factor 0.75
    backoffBase: 1000,
    backoffMax: 8000,
    linger: 0,
    ...extra,
  })
}

beforeEach(() => {
  vi.useFakeTimers()
  FakeSocket.all = []
  token = 'tok-1'
})
afterEach(() => vi.useRealTimers())

describe('LiveClient', () => {
  it('sends the auth frame first, then subscribes, and dispatches events to the channel', () => {
    const c = client()
    const got: number[] = []
    c.subscribe('run:r1', (e) => got.push(e.seq))
    const ws = FakeSocket.all[0]
    expect(ws.url).toBe('ws://test/api/v1/ws')
    expect(ws.url).not.toContain('tok-1')
    ws.open()
    expect(ws.sent[0]).toEqual({ type: 'auth', token: 'tok-1' })
    expect(ws.sent).toHaveLength(1) // nothing before the server accepted the token
    ws.frame({ type: 'authenticated', data: { username: 'a' } })
    expect(ws.types()).toEqual(['auth', 'subscribe run:r1'])
    expect(c.status).toBe('open')
    ws.frame({ type: 'event', channel: 'run:r1', seq: 1, data: ev(1) })
    ws.frame({ type: 'event', channel: 'runs', seq: 2, data: ev(2) }) // not subscribed here
    expect(got).toEqual([1])
  })

  it('reconnects with exponential backoff and jitter, and resubscribes every channel', () => {
    const resynced: string[] = []
    const c = client({ onResync: (ch) => resynced.push(ch) })
    c.subscribe('run:r1', () => {})
    c.subscribe('runs', () => {})
    FakeSocket.all[0].open()
    FakeSocket.all[0].frame({ type: 'authenticated' })
    expect(resynced).toEqual([]) // the first connection needs no refetch

    FakeSocket.all[0].drop()
    expect(c.status).toBe('reconnecting')
    // attempt 0: 1000 ms * 0.75 = 750 ms
    vi.advanceTimersByTime(749)
    expect(FakeSocket.all).toHaveLength(1)
    vi.advanceTimersByTime(1)
    expect(FakeSocket.all).toHaveLength(2)
    // it fails again: attempt 1 waits 2000 * 0.75
    FakeSocket.all[1].drop()
    vi.advanceTimersByTime(1499)
    expect(FakeSocket.all).toHaveLength(2)
    vi.advanceTimersByTime(1)
    expect(FakeSocket.all).toHaveLength(3)

    const ws = FakeSocket.all[2]
    ws.open()
    ws.frame({ type: 'authenticated' })
    expect(ws.types()).toEqual(['auth', 'subscribe run:r1', 'subscribe runs'])
    expect(c.status).toBe('open')
    // Events may have been missed while away: every channel is refetched.
    expect(resynced.sort()).toEqual(['run:r1', 'runs'])

    // A successful connection resets the backoff.
    ws.drop()
    vi.advanceTimersByTime(750)
    expect(FakeSocket.all).toHaveLength(4)
  })

  it('backoff doubles up to the cap with jitter in [0.5, 1)', () => {
    expect(backoffDelay(0, 500, 30000, () => 0)).toBe(250)
    expect(backoffDelay(3, 500, 30000, () => 0.999999)).toBe(4000)
    expect(backoffDelay(20, 500, 30000, () => 0)).toBe(15000)
    expect(backoffDelay(20, 500, 30000, () => 0.999999)).toBe(30000)
  })

  it('a gap in a run channel sequence triggers a refetch of that run', () => {
    const resynced: string[] = []
    const c = client({ onResync: (ch) => resynced.push(ch) })
    const got: number[] = []
    c.subscribe('run:r1', (e) => got.push(e.seq))
    const ws = FakeSocket.all[0]
    ws.open()
    ws.frame({ type: 'authenticated' })
    for (const seq of [4, 5, 6]) ws.frame({ type: 'event', channel: 'run:r1', seq, data: ev(seq) })
    expect(resynced).toEqual([])
    ws.frame({ type: 'event', channel: 'run:r1', seq: 9, data: ev(9) })
    expect(resynced).toEqual(['run:r1'])
    ws.frame({ type: 'event', channel: 'run:r1', seq: 10, data: ev(10) })
    expect(resynced).toEqual(['run:r1'])
    // The server restarted and numbers from 1 again: that is a gap too.
    ws.frame({ type: 'event', channel: 'run:r1', seq: 1, data: ev(1) })
    expect(resynced).toEqual(['run:r1', 'run:r1'])
    expect(got).toEqual([4, 5, 6, 9, 10, 1]) // events are still delivered
  })

  it('pings, and reconnects when nothing comes back', () => {
    const c = client({ pingInterval: 1000, pongTimeout: 500 })
    c.subscribe('runs', () => {})
    const ws = FakeSocket.all[0]
    ws.open()
    ws.frame({ type: 'authenticated' })
    vi.advanceTimersByTime(1000)
    expect(ws.types().at(-1)).toBe('ping')
    ws.frame({ type: 'pong' })
    vi.advanceTimersByTime(1000)
    expect(ws.types().filter((t) => t === 'ping')).toHaveLength(2)
    vi.advanceTimersByTime(500) // no pong
    expect(ws.closed).toBe(true)
    expect(c.status).toBe('reconnecting')
    vi.advanceTimersByTime(750)
    expect(FakeSocket.all).toHaveLength(2)
  })

  it('reconnects with the new token after a session refresh, and closes on sign-out', () => {
    const c = client()
    c.subscribe('runs', () => {})
    FakeSocket.all[0].open()
    FakeSocket.all[0].frame({ type: 'authenticated' })
    token = 'tok-2'
    c.tokenChanged()
    expect(FakeSocket.all[0].closed).toBe(true)
    const ws = FakeSocket.all[1]
    ws.open()
    expect(ws.sent[0]).toEqual({ type: 'auth', token: 'tok-2' })
    token = null
    c.tokenChanged()
    expect(ws.closed).toBe(true)
    expect(c.status).toBe('idle')
  })

  it('a refused token refreshes the session before reconnecting', async () => {
    const refreshed = vi.fn(async () => {
      token = 'tok-new'
      return true
    })
    const c = client({ onAuthRejected: refreshed })
    c.subscribe('runs', () => {})
    FakeSocket.all[0].open()
    FakeSocket.all[0].drop(1008)
    await vi.waitFor(() => expect(refreshed).toHaveBeenCalledOnce())
    vi.advanceTimersByTime(750)
    FakeSocket.all[1].open()
    expect(FakeSocket.all[1].sent[0]).toEqual({ type: 'auth', token: 'tok-new' })
  })

  it('unsubscribes the last listener of a channel and closes when none is left', () => {
    const c = client()
    const stopA = c.subscribe('run:r1', () => {})
    const stopB = c.subscribe('run:r1', () => {})
    const ws = FakeSocket.all[0]
    ws.open()
    ws.frame({ type: 'authenticated' })
    stopA()
    expect(ws.types()).toEqual(['auth', 'subscribe run:r1'])
    stopB()
    expect(ws.types()).toEqual(['auth', 'subscribe run:r1', 'unsubscribe run:r1'])
    vi.advanceTimersByTime(0)
    expect(ws.closed).toBe(true)
    expect(c.status).toBe('idle')
  })

  it('does not connect without a token', () => {
    token = null
    const c = client()
    c.subscribe('runs', () => {})
    expect(FakeSocket.all).toHaveLength(0)
    token = 'tok-1'
    c.tokenChanged()
    expect(FakeSocket.all).toHaveLength(1)
  })
})

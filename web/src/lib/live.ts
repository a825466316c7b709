// The live-updates client: one WebSocket to GET /api/v1/ws (protocol in docs/api.md "Live updates").
//
// - It connects on the first subscription (same origin, ws: or wss:), sends {"type":"auth","token"}
//   with the in-memory access token as its FIRST frame, then subscribes to every channel a listener
//   holds ("run:<id>", "runs", "dashboard"). The token never goes into the URL.
// - Event frames {type:"event", channel, seq, data} go to the channel's listeners. Within a
//   "run:<id>" channel seq numbers the run's events 1, 2, 3, ...: a jump (or a restart from a lower
//   number) means events were missed, and onResync(channel) asks the owner to refetch over REST.
//   After a reconnect every channel is resynced too (events may have been missed while away).
// - It pings every pingInterval and reconnects when no frame came back in time; a closed socket
//   reconnects with exponential backoff and jitter, then resubscribes.
// - When the session's access token changes (silent refresh), it reconnects with the new token
//   (the server accepts one auth frame per connection); when the session ends it closes.
// LiveClient knows nothing of React or TanStack Query: src/features/runs/live.ts binds it to both.

export type LiveStatus = 'idle' | 'connecting' | 'open' | 'reconnecting'

/** A frame the server sends. */
export interface LiveFrame {
  type: 'authenticated' | 'subscribed' | 'unsubscribed' | 'event' | 'error' | 'pong' | string
  channel?: string
  seq?: number
  data?: unknown
}

/** A node's counters as the engine reports them (the same shape as the API's NodeStats). */
export interface LiveNodeStats {
  id: string
  kind: string
  type: string
  in: number
  out: number
  rejected: number
  deduplicated?: number
  filtered?: number
  dropped?: number
  bytes?: number
  /** A stateful transform's state held in memory, and what it spilled to disk, in bytes. */
  state_bytes?: number
  spilled_bytes?: number
}

/** A queue between two nodes: len of cap batches wait in it (engine.BufferStats). */
export interface LiveBuffer {
  from: string
  to: string
  len: number
  cap: number
}

/** The data of an event frame: a run event (runs.Event on the server). */
export interface RunEvent {
  type: 'run.status' | 'run.progress' | 'run.log' | 'run.chunk' | 'run.instance' | 'run.deployment' | string
  run_id: string
  seq: number
  pipeline_id: string
  status: 'queued' | 'running' | 'awaiting_approval' | 'succeeded' | 'failed' | 'cancelled'
  error?: string
  progress?: {
    rows_read: number
    rows_written: number
    rejected: number
    bytes_read: number
    nodes: LiveNodeStats[] | null
    buffers?: LiveBuffer[] | null
    memory_budget?: number
    done: boolean
  }
  rows_per_second?: number
  log?: { level: string; message: string; node?: string; details?: unknown; time: string }
  /** run.chunk: the state of one chunk of a partitioned run. */
  chunk?: {
    idx: number
    status: 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled'
    attempt: number
    worker_id?: string
    rows_read: number
    rows_written: number
    rows_per_second?: number
    error?: string
  }
  /** run.instance: the report of one consumer instance of a streaming run. */
  instance?: {
    idx: number
    worker_id?: string
    attempt: number
    rows_read: number
    rows_written: number
    rows_per_second: number
    partitions: { source: string; partition: string; committed?: string; lag: number; lag_unit: string; rows_per_second: number }[] | null
    partitions_omitted?: number
    errors?: string[]
  }
  /** run.deployment: a deployed run's new state. */
  deployment?: string
  time: string
  counts?: { queued: number; running: number }
}

export type Listener = (ev: RunEvent, frame: LiveFrame) => void

/** The part of the browser's WebSocket the client uses (a test passes a fake class). */
export interface SocketLike {
  readyState: number
  onopen: ((ev: unknown) => void) | null
  onmessage: ((ev: { data: unknown }) => void) | null
  onclose: ((ev: { code: number; reason: string }) => void) | null
  onerror: ((ev: unknown) => void) | null
  send(data: string): void
  close(code?: number, reason?: string): void
}
export type SocketFactory = (url: string) => SocketLike

export interface LiveOptions {
  /** The URL of the endpoint (default: ws(s)://<this origin>/api/v1/ws). */
  url?: () => string
  /** The current access token (null: not signed in, do not connect). */
  token: () => string | null
  /** Opens a socket (default: the browser's WebSocket). */
  socket?: SocketFactory
  /** A channel's state may be stale (gap in seq, or a reconnect): refetch it. */
  onResync?: (channel: string) => void
  /** The server refused the token (close code 1008): try to refresh the session; true when a new token is there. */
  onAuthRejected?: () => Promise<boolean>
  backoffBase?: number // ms, first retry delay (default 500)
  backoffMax?: number // ms (default 30 s)
  pingInterval?: number // ms (default 25 s)
  pongTimeout?: number // ms (default 10 s)
  linger?: number // ms to keep the socket after the last listener left (default 10 s)
  random?: () => number
}

const OPEN = 1

export function defaultLiveURL(): string {
  const l = window.location
  return `${l.protocol === 'https:' ? 'wss:' : 'ws:'}//${l.host}/api/v1/ws`
}

/** The delay before reconnect attempt n (0-based): base*2^n capped at max, times a jitter in [0.5, 1). */
export function backoffDelay(attempt: number, base: number, max: number, random: () => number): number {
  const exp = Math.min(max, base * 2 ** Math.min(attempt, 30))
  return Math.round(exp * (0.5 + random() * 0.5))
}

export class LiveClient {
  private readonly opts: Required<Omit<LiveOptions, 'onResync' | 'onAuthRejected'>> &
    Pick<LiveOptions, 'onResync' | 'onAuthRejected'>
  private ws: SocketLike | null = null
  private wsToken: string | null = null
  private authed = false
  private hadConnection = false
  private attempt = 0
  private retryTimer: ReturnType<typeof setTimeout> | undefined
  private pingTimer: ReturnType<typeof setInterval> | undefined
  private pongTimer: ReturnType<typeof setTimeout> | undefined
  private lingerTimer: ReturnType<typeof setTimeout> | undefined
  private readonly listeners = new Map<string, Set<Listener>>()
  private readonly lastSeq = new Map<string, number>()
  private readonly statusListeners = new Set<(s: LiveStatus) => void>()
  private _status: LiveStatus = 'idle'
  /** The last error frame's message (for diagnostics). */
  lastError: string | null = null

  constructor(opts: LiveOptions) {
    this.opts = {
      url: defaultLiveURL,
      socket: (url) => new WebSocket(url) as unknown as SocketLike,
      backoffBase: 500,
      backoffMax: 30_000,
      pingInterval: 25_000,
      pongTimeout: 10_000,
      linger: 10_000,
      random: Math.random,
      ...opts,
    }
  }

  get status(): LiveStatus {
    return this._status
  }

  /** Calls fn with every status change; returns the unsubscribe function. */
  onStatus(fn: (s: LiveStatus) => void): () => void {
    this.statusListeners.add(fn)
    return () => this.statusListeners.delete(fn)
  }

  /** Listens to a channel's events; connects when needed. Returns the function that stops listening. */
  subscribe(channel: string, fn: Listener): () => void {
    let set = this.listeners.get(channel)
    const fresh = !set
    if (!set) {
      set = new Set()
      this.listeners.set(channel, set)
    }
    set.add(fn)
    clearTimeout(this.lingerTimer)
    if (fresh && this.authed) this.send({ type: 'subscribe', channel })
    this.ensureConnected()
    return () => {
      const s = this.listeners.get(channel)
      if (!s) return
      s.delete(fn)
      if (s.size > 0) return
      this.listeners.delete(channel)
      this.lastSeq.delete(channel)
      if (this.authed) this.send({ type: 'unsubscribe', channel })
      if (this.listeners.size === 0) {
        clearTimeout(this.lingerTimer)
        this.lingerTimer = setTimeout(() => {
          if (this.listeners.size === 0) this.close()
        }, this.opts.linger)
      }
    }
  }

  /** The session's token changed: reconnect with it (or close when signed out). */
  tokenChanged(): void {
    const t = this.opts.token()
    if (t === this.wsToken) return
    if (!t) {
      this.close()
      return
    }
    if (this.ws) {
      this.teardown()
      this.connect()
    } else {
      this.ensureConnected()
    }
  }

  /** Closes the socket and forgets the pending reconnect (listeners stay; a new subscribe reconnects). */
  close(): void {
    clearTimeout(this.retryTimer)
    clearTimeout(this.lingerTimer)
    this.retryTimer = undefined
    this.teardown()
    this.attempt = 0
    this.hadConnection = false
    this.setStatus('idle')
  }

  private ensureConnected() {
    if (this.ws || this.retryTimer || this.listeners.size === 0) return
    if (!this.opts.token()) return
    this.connect()
  }

  private setStatus(s: LiveStatus) {
    if (s === this._status) return
    this._status = s
    for (const fn of this.statusListeners) fn(s)
  }

  private connect() {
    const token = this.opts.token()
    if (!token) {
      this.setStatus('idle')
      return
    }
    this.setStatus(this.hadConnection || this.attempt > 0 ? 'reconnecting' : 'connecting')
    let ws: SocketLike
    try {
      ws = this.opts.socket(this.opts.url())
    } catch {
      this.scheduleReconnect()
      return
    }
    this.ws = ws
    this.wsToken = token
    this.authed = false
    ws.onopen = () => {
      if (this.ws !== ws) return
      ws.send(JSON.stringify({ type: 'auth', token }))
    }
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return
      this.handle(ev.data)
    }
    ws.onerror = () => {
      /* onclose follows */
    }
    ws.onclose = (ev) => {
      if (this.ws !== ws) return
      this.teardown()
      if (ev.code === 1008 && this.opts.onAuthRejected) {
        // The token was refused (expired between refreshes): refresh the session, then retry.
        void this.opts.onAuthRejected().then((ok) => {
          if (ok) this.scheduleReconnect()
          else this.setStatus('idle')
        })
        return
      }
      this.scheduleReconnect()
    }
  }

  private teardown() {
    clearInterval(this.pingTimer)
    clearTimeout(this.pongTimer)
    this.pingTimer = undefined
    this.pongTimer = undefined
    const ws = this.ws
    this.ws = null
    this.wsToken = null
    this.authed = false
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null
      try {
        ws.close(1000, 'client closed')
      } catch {
        /* already closed */
      }
    }
  }

  private scheduleReconnect() {
    if (this.listeners.size === 0) {
      this.setStatus('idle')
      return
    }
    this.setStatus('reconnecting')
    const delay = backoffDelay(this.attempt, this.opts.backoffBase, this.opts.backoffMax, this.opts.random)
    this.attempt++
    clearTimeout(this.retryTimer)
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined
      if (this.listeners.size > 0) this.connect()
      else this.setStatus('idle')
    }, delay)
  }

  private send(frame: Record<string, unknown>) {
    if (this.ws && this.ws.readyState === OPEN) this.ws.send(JSON.stringify(frame))
  }

  private handle(raw: unknown) {
    let f: LiveFrame
    try {
      f = JSON.parse(String(raw)) as LiveFrame
    } catch {
      return
    }
    clearTimeout(this.pongTimer) // any frame shows the connection is alive
    this.pongTimer = undefined
    switch (f.type) {
      case 'authenticated': {
        this.authed = true
        const reconnected = this.hadConnection
        this.hadConnection = true
        this.attempt = 0
        this.setStatus('open')
        for (const ch of this.listeners.keys()) {
          this.lastSeq.delete(ch)
          this.send({ type: 'subscribe', channel: ch })
          if (reconnected) this.opts.onResync?.(ch)
        }
        this.startPing()
        return
      }
      case 'event':
        this.dispatch(f)
        return
      case 'error':
        this.lastError = (f.data as { message?: string } | undefined)?.message ?? 'error'
        return
      default:
        return // subscribed, unsubscribed, pong
    }
  }

  private dispatch(f: LiveFrame) {
    const ch = f.channel ?? ''
    const set = this.listeners.get(ch)
    if (!set) return
    const ev = f.data as RunEvent
    if (ch.startsWith('run:') && typeof f.seq === 'number') {
      const last = this.lastSeq.get(ch)
      this.lastSeq.set(ch, f.seq)
      if (last !== undefined && f.seq !== last + 1) this.opts.onResync?.(ch)
    }
    for (const fn of [...set]) fn(ev, f)
  }

  private startPing() {
    clearInterval(this.pingTimer)
    this.pingTimer = setInterval(() => {
      if (!this.ws) return
      this.send({ type: 'ping' })
      clearTimeout(this.pongTimer)
      this.pongTimer = setTimeout(() => {
        // No answer: the connection is dead even if the socket has not noticed.
        this.teardown()
        this.scheduleReconnect()
      }, this.opts.pongTimeout)
    }, this.opts.pingInterval)
  }
}

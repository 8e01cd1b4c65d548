import { AddrDialError, AllDialsFailedError, DialBackoffError, DialError, errorIs, toError } from '../errors.js'
import { addrKey } from '../swarm/addrs.js'
import { DialPlan } from './plan.js'
import { DialQueue } from './dial-queue.js'
import type { DialBackoff } from './backoff.js'
import type { PlanEntry } from './plan.js'
import type { Clock, TimerHandle } from '../interfaces/clock.js'
import type { DialRanker } from '../interfaces/dial.js'
import type { MuxedConnection } from '../interfaces/transport.js'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** What a dial worker needs from its swarm. `C` is the swarm's connection type. */
export interface DialWorkerDeps<C> {
  readonly clock: Clock
  readonly ranker: DialRanker
  readonly backoff: DialBackoff
  /** How long a public TCP dial whose socket connected may take to finish its handshakes before others start. */
  readonly publicTcpDelay: number
  /** An open connection to the peer, if any (go's bestAcceptableConnToPeer). */
  bestConn(): C | undefined
  /**
   * The addresses worth dialing and the errors of those filtered out. Throws a DialError (NoAddressesError,
   * NoGoodAddressesError) when none is left.
   */
  addrsForDial(signal: AbortSignal, forceDirect: boolean): Promise<{ addrs: Multiaddr[], errors: AddrDialError[], filtered: PlanEntry[] }>
  /** Dials one address (through the limiter, with its timeout); `onProgress` fires once its raw connection is up. */
  dialAddr(addr: Multiaddr, signal: AbortSignal, onProgress: () => void): Promise<MuxedConnection>
  /** Takes a new connection into the swarm; rejects when a gate refuses it. */
  addConn(muxed: MuxedConnection): Promise<C>
  /** Whether the address is public (only public TCP dials get the handshake grace, as in go). */
  isPublicTcp(addr: Multiaddr): boolean
  /** Called with the plan of every request that got a connection, for debugging. */
  onPlan?(peer: PeerId, plan: DialPlan): void
  /** Called once when the worker stops: whether it connected, how many addresses it dialed, how long it ran (ms). */
  onDone?(connected: boolean, dials: number, durationMs: number): void
  /** Called with the rank wait of the address that connected first (ms). */
  onRankingDelay?(delayMs: number): void
}

export interface DialRequestOptions {
  /** Skip backoff (go's ForceDirectDial). */
  forceDirect?: boolean
}

interface TrackedDial<C> {
  readonly addr: Multiaddr
  readonly key: string
  readonly entry: PlanEntry
  readonly forceDirect: boolean
  dialed: boolean
  conn?: C
  err?: Error
  /** Until when new dials wait for this one's handshakes (a public TCP socket that connected). */
  upgradeDeadline?: number
}

interface PendingRequest<C> {
  readonly addrs: Set<string>
  readonly errors: AddrDialError[]
  readonly entries: PlanEntry[]
  resolve(conn: C): void
  reject(err: Error): void
}

/**
 * Dials one peer (go-libp2p's dialWorker). Every `dialPeer` call for the peer becomes a request to the same worker,
 * so each address is dialed at most once however many callers wait (addresses compared by bytes), and a request
 * joins dials already in flight.
 *
 * Addresses are dialed in batches of equal rank delay, counted from when the worker started. When no dial is in
 * flight the next batch starts at once instead of waiting; when a public TCP socket has connected, later batches
 * wait for its handshakes (up to `publicTcpDelay`). The first connection answers every request whose addresses
 * included it; a request whose addresses all failed gets a last look at the swarm's connections (one may have
 * arrived another way) before failing with a DialError that holds each address's error and the dial plan.
 */
export class DialWorker<C> {
  readonly #queue = new DialQueue()
  readonly #tracked = new Map<string, TrackedDial<C>>()
  readonly #pending = new Set<PendingRequest<C>>()
  readonly #startTime: number
  #inFlight = 0
  #dials = 0
  #connected = false
  #timer: TimerHandle | undefined
  /** Bumped on every (re)arming, so a superseded microtask firing does nothing. */
  #arming = 0
  #stopped = false

  constructor (readonly peer: PeerId, private readonly deps: DialWorkerDeps<C>, private readonly signal: AbortSignal) {
    this.#startTime = deps.clock.now()
    signal.addEventListener('abort', () => { this.#stop() }, { once: true })
  }

  async request (options: DialRequestOptions = {}): Promise<C> {
    const existing = this.deps.bestConn()
    if (existing !== undefined) return existing
    const forceDirect = options.forceDirect === true
    const { addrs, errors, filtered } = await this.deps.addrsForDial(this.signal, forceDirect)
    this.signal.throwIfAborted()
    const again = this.deps.bestConn()
    if (again !== undefined) return again

    const ranked = this.deps.ranker.rank(addrs)
    const request: PendingRequest<C> = { addrs: new Set(), errors: [...errors], entries: [...filtered], resolve: () => {}, reject: () => {} }
    const toDial: Array<{ addr: Multiaddr, delay: number, key: string }> = []
    let joined = 0
    for (const { addr, delay } of ranked) {
      const key = addrKey(addr)
      const tracked = this.#tracked.get(key)
      if (tracked === undefined) {
        if (!toDial.some(d => d.key === key)) toDial.push({ addr, delay, key })
        continue
      }
      request.entries.push(tracked.entry)
      if (tracked.conn !== undefined) return tracked.conn
      if (tracked.err !== undefined) {
        request.errors.push(new AddrDialError(addr, tracked.err))
        continue
      }
      request.addrs.add(key)
      joined++
    }
    if (toDial.length === 0 && joined === 0) throw this.#failure(request)

    const result = new Promise<C>((resolve, reject) => {
      request.resolve = resolve
      request.reject = reject
    })
    this.#pending.add(request)
    for (const d of toDial) {
      const entry: PlanEntry = { addr: d.addr, rankDelay: d.delay, outcome: 'scheduled' }
      this.#tracked.set(d.key, { addr: d.addr, key: d.key, entry, forceDirect, dialed: false })
      request.addrs.add(d.key)
      request.entries.push(entry)
      this.#queue.add({ addr: d.addr, delay: d.delay })
    }
    this.#schedule()
    return result
  }

  /** Arms the timer for the next batch: at once when nothing is in flight, else at its delay (go's scheduleNextDial). */
  #schedule (): void {
    this.#disarm()
    const next = this.#queue.top()
    if (next === undefined || this.#stopped) return
    const now = this.deps.clock.now()
    let at: number
    if (this.#inFlight === 0 && !this.#connected) {
      at = now
    } else {
      at = this.#startTime + next.delay
      for (const t of this.#tracked.values()) {
        if (t.upgradeDeadline !== undefined && t.upgradeDeadline > at) at = t.upgradeDeadline
      }
    }
    const arming = this.#arming
    if (at <= now) {
      // Due already: fire in a microtask rather than a zero timer, so a manual clock needs no tick for it.
      queueMicrotask(() => { if (arming === this.#arming) this.#fireBatch() })
    } else {
      this.#timer = this.deps.clock.setTimeout(() => {
        this.#timer = undefined
        this.#fireBatch()
      }, at - now)
    }
  }

  #disarm (): void {
    if (this.#timer !== undefined) this.deps.clock.clearTimeout(this.#timer)
    this.#timer = undefined
    this.#arming++
  }

  #fireBatch (): void {
    this.#arming++
    if (this.#stopped) return
    for (const { addr } of this.#queue.nextBatch()) {
      const tracked = this.#tracked.get(addrKey(addr))
      if (tracked === undefined) continue
      tracked.dialed = true
      tracked.entry.startedAt = this.deps.clock.now() - this.#startTime
      if (!tracked.forceDirect && this.deps.backoff.backoff(this.peer, addr)) {
        tracked.entry.outcome = 'backoff'
        this.#dispatchError(tracked, new DialBackoffError(this.deps.backoff.until(this.peer, addr) ?? this.deps.clock.now()))
        continue
      }
      tracked.entry.outcome = 'dialing'
      this.#inFlight++
      this.#dials++
      const onProgress = (): void => {
        if (tracked.conn === undefined && tracked.err === undefined && this.deps.isPublicTcp(addr)) {
          tracked.upgradeDeadline = this.deps.clock.now() + this.deps.publicTcpDelay
          this.#schedule()
        }
      }
      this.deps.dialAddr(addr, this.signal, onProgress).then(
        muxed => { this.#onConnected(tracked, muxed) },
        err => { this.#onFailed(tracked, toError(err)) }
      )
    }
    this.#schedule()
  }

  #onConnected (tracked: TrackedDial<C>, muxed: MuxedConnection): void {
    this.#inFlight--
    tracked.upgradeDeadline = undefined
    if (this.#stopped) {
      // Every caller left (another dial won, or they gave up) while this one finished: nobody wants it.
      muxed.abort(new Error('dial no longer wanted'))
      tracked.entry.outcome = 'cancelled'
      return
    }
    this.deps.addConn(muxed).then(conn => {
      tracked.conn = conn
      tracked.entry.outcome = 'connected'
      tracked.entry.endedAt = this.deps.clock.now() - this.#startTime
      if (!this.#connected) this.deps.onRankingDelay?.(tracked.entry.startedAt ?? 0)
      this.#connected = true
      for (const request of [...this.#pending]) {
        if (!request.addrs.has(tracked.key)) continue
        this.#pending.delete(request)
        this.deps.onPlan?.(this.peer, new DialPlan(request.entries))
        request.resolve(conn)
      }
    }, err => {
      this.#onFailed(tracked, toError(err), false)
    })
  }

  #onFailed (tracked: TrackedDial<C>, err: Error, countInFlight = true): void {
    if (countInFlight) this.#inFlight--
    tracked.upgradeDeadline = undefined
    const cancelled = this.#stopped || errorIs(err, 'AbortError')
    tracked.entry.outcome = cancelled ? 'cancelled' : 'failed'
    tracked.entry.endedAt = this.deps.clock.now() - this.#startTime
    tracked.entry.error = err
    // A caller that gave up says nothing about the address; a connected peer needs no backoff (go does the same).
    if (!cancelled && !this.#connected && !errorIs(err, 'DialRefusedBlackHoleError')) {
      this.deps.backoff.addBackoff(this.peer, tracked.addr)
    }
    this.#dispatchError(tracked, err)
    this.#schedule()
  }

  #dispatchError (tracked: TrackedDial<C>, err: Error): void {
    tracked.err = err
    for (const request of [...this.#pending]) {
      if (!request.addrs.delete(tracked.key)) continue
      request.errors.push(new AddrDialError(tracked.addr, err))
      if (request.addrs.size > 0) continue
      this.#pending.delete(request)
      const late = this.deps.bestConn()
      if (late !== undefined) request.resolve(late)
      else request.reject(this.#failure(request))
    }
    // A backed-off address is forgotten so that a later request, after the backoff, can dial it again.
    if (errorIs(err, 'DialBackoffError')) this.#tracked.delete(tracked.key)
  }

  #failure (request: PendingRequest<C>): DialError {
    const err = new DialError(this.peer, new AllDialsFailedError(), request.errors)
    err.plan = new DialPlan(request.entries)
    return err
  }

  #stop (): void {
    if (this.#stopped) return
    this.#stopped = true
    this.#disarm()
    this.deps.onDone?.(this.#connected, this.#dials, this.deps.clock.now() - this.#startTime)
    for (const t of this.#tracked.values()) {
      if (t.entry.outcome === 'scheduled' || t.entry.outcome === 'dialing') t.entry.outcome = 'cancelled'
    }
    const reason = toError(this.signal.reason)
    for (const request of this.#pending) request.reject(reason)
    this.#pending.clear()
  }
}

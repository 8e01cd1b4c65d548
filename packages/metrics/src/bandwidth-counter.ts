import { CLOCK, inject, injectable } from '@tswarm/core'
import { METRICS_CONFIG } from './tokens.js'
import { DEFAULT_IDLE_TIMEOUT, DEFAULT_TICK_INTERVAL, resolveMetricsOptions } from './options.js'
import type { PeerId } from '@libp2p/interface'
import type { BandwidthStats, Clock, Reporter, TimerHandle } from '@tswarm/core'

/** Options of a {@link BandwidthCounter}, as in {@link MetricsOptions}. */
export interface BandwidthCounterOptions {
  /**
   * How long (ms) a peer's or protocol's meter may see no bytes before it is dropped. `Infinity` keeps every meter.
   *
   * @default 300000
   */
  idleTimeout?: number
  /**
   * How often (ms) rates are recomputed.
   *
   * @default 1000
   */
  tickInterval?: number
}

/** The smoothing time constant: go-flow-metrics' alpha (1 - e^-1) for its 1 s tick. */
const TIME_CONSTANT_MS = 1_000
/**
 * Below this a rate is reported as 0 (go-flow-metrics' IdleRate): a decaying average never reaches 0 by itself, and
 * an idle meter should read 0, not 1e-300.
 */
const IDLE_RATE = 1e-13

/** Bytes in and out for one key (a peer, a protocol, or everything) and their smoothed rates (bytes/s). */
class Meter {
  totalIn = 0
  totalOut = 0
  rateIn = 0
  rateOut = 0
  // the totals at the previous tick: what moved since is the tick's instantaneous rate
  seenIn = 0
  seenOut = 0
  /** The last tick (clock ms) that saw bytes, or when the meter was made. */
  lastActive: number

  constructor (now: number) {
    this.lastActive = now
  }

  update (now: number, perSecond: number, alpha: number): void {
    const dIn = this.totalIn - this.seenIn
    const dOut = this.totalOut - this.seenOut
    if (dIn > 0 || dOut > 0) this.lastActive = now
    this.rateIn = smooth(this.rateIn, dIn * perSecond, alpha)
    this.rateOut = smooth(this.rateOut, dOut * perSecond, alpha)
    this.seenIn = this.totalIn
    this.seenOut = this.totalOut
  }

  stats (): BandwidthStats {
    return { totalIn: this.totalIn, totalOut: this.totalOut, rateIn: this.rateIn, rateOut: this.rateOut }
  }
}

function smooth (rate: number, instant: number, alpha: number): number {
  // The first sample after silence is taken whole, as go-flow-metrics does: ramping up from 0 would under-report a
  // transfer that ran at full speed for the whole tick.
  const next = rate === 0 ? instant : rate + alpha * (instant - rate)
  return next < IDLE_RATE ? 0 : next
}

const ZERO: BandwidthStats = Object.freeze({ totalIn: 0, totalOut: 0, rateIn: 0, rateOut: 0 })

/**
 * Counts the bytes a swarm moves, in total, per peer and per protocol, with rates (go-libp2p's metrics.BandwidthCounter
 * over go-flow-metrics). It is the swarm's {@link Reporter}: `metrics()` registers it as `REPORTER`.
 *
 * The Reporter methods run for every chunk a stream reads or writes, so each is a few additions and at most two map
 * lookups; a meter is only allocated the first time a peer or protocol is seen. Rates are computed on a tick of
 * `tickInterval` on the swarm's clock: the bytes moved during the tick give an instantaneous rate, folded into an
 * exponentially weighted average with a 1 s time constant. The same tick drops peer and protocol meters that have
 * seen nothing for `idleTimeout`. The tick runs between {@link BandwidthCounter.start} and
 * {@link BandwidthCounter.stop}, which the metrics service calls when the swarm starts and closes.
 *
 * @example
 * ```ts
 * import { SystemClock } from '@tswarm/core'
 * import { BandwidthCounter } from '@tswarm/metrics'
 *
 * const counter = new BandwidthCounter(new SystemClock())
 * counter.start()
 * counter.logSentMessage(1024)
 * console.log(counter.getBandwidthTotals()) // { totalIn: 0, totalOut: 1024, rateIn: 0, rateOut: 0 }
 * counter.stop()
 * ```
 */
@injectable()
export class BandwidthCounter implements Reporter {
  readonly #clock: Clock
  readonly #idleTimeout: number
  readonly #tickInterval: number
  readonly #totals: Meter
  readonly #peers = new Map<string, Meter>()
  readonly #protocols = new Map<string, Meter>()
  #timer: TimerHandle | undefined
  #lastTick = 0

  /**
   * @param clock - the swarm's clock (`CLOCK`): ticks are timers on it, so a ManualClock drives them in tests
   * @param options - the idle timeout and tick interval (`METRICS_CONFIG`); defaults as in {@link MetricsOptions}
   */
  constructor (
    @inject(CLOCK) clock: Clock,
    @inject(METRICS_CONFIG) options: BandwidthCounterOptions = {}
  ) {
    const config = resolveMetricsOptions({
      idleTimeout: options.idleTimeout ?? DEFAULT_IDLE_TIMEOUT,
      tickInterval: options.tickInterval ?? DEFAULT_TICK_INTERVAL
    })
    this.#clock = clock
    this.#idleTimeout = config.idleTimeout
    this.#tickInterval = config.tickInterval
    this.#totals = new Meter(clock.now())
  }

  // ---- Reporter: the data path ----

  logSentMessage (size: number): void {
    this.#totals.totalOut += size
  }

  logRecvMessage (size: number): void {
    this.#totals.totalIn += size
  }

  logSentMessageStream (size: number, protocol: string, peer: PeerId): void {
    let p = this.#protocols.get(protocol)
    if (p === undefined) p = this.#add(this.#protocols, protocol)
    p.totalOut += size
    // PeerId caches its string form, so after the first call this is a property read
    const key = peer.toString()
    let m = this.#peers.get(key)
    if (m === undefined) m = this.#add(this.#peers, key)
    m.totalOut += size
  }

  logRecvMessageStream (size: number, protocol: string, peer: PeerId): void {
    let p = this.#protocols.get(protocol)
    if (p === undefined) p = this.#add(this.#protocols, protocol)
    p.totalIn += size
    const key = peer.toString()
    let m = this.#peers.get(key)
    if (m === undefined) m = this.#add(this.#peers, key)
    m.totalIn += size
  }

  // ---- reading ----

  /** Everything sent and received, whatever the peer or protocol. */
  getBandwidthTotals (): BandwidthStats {
    return this.#totals.stats()
  }

  /** What was exchanged with `peer` (a PeerId or its string form); zeros for a peer not seen, or trimmed. */
  getBandwidthForPeer (peer: PeerId | string): BandwidthStats {
    return this.#peers.get(typeof peer === 'string' ? peer : peer.toString())?.stats() ?? { ...ZERO }
  }

  /** What was exchanged on `protocol` (`''` for streams with none negotiated); zeros for one not seen, or trimmed. */
  getBandwidthForProtocol (protocol: string): BandwidthStats {
    return this.#protocols.get(protocol)?.stats() ?? { ...ZERO }
  }

  /** Every peer with a meter, keyed by the peer ID's string form. A copy: O(peers). */
  getBandwidthByPeer (): Map<string, BandwidthStats> {
    return snapshot(this.#peers)
  }

  /** Every protocol with a meter. A copy: O(protocols). */
  getBandwidthByProtocol (): Map<string, BandwidthStats> {
    return snapshot(this.#protocols)
  }

  /** Forgets everything: totals back to zero, every peer and protocol meter dropped. */
  reset (): void {
    const t = this.#totals
    t.totalIn = t.totalOut = t.rateIn = t.rateOut = t.seenIn = t.seenOut = 0
    this.#peers.clear()
    this.#protocols.clear()
  }

  /** Drops the peer and protocol meters that have seen no bytes since `since` (clock ms), as go's TrimIdle. */
  trimIdle (since: number): void {
    for (const [key, m] of this.#peers) if (m.lastActive < since) this.#peers.delete(key)
    for (const [key, m] of this.#protocols) if (m.lastActive < since) this.#protocols.delete(key)
  }

  // ---- the tick ----

  /** Starts the rate tick. Idempotent. */
  start (): void {
    if (this.#timer !== undefined) return
    this.#lastTick = this.#clock.now()
    this.#schedule()
  }

  /** Stops the rate tick; counting goes on, rates freeze. Idempotent. */
  stop (): void {
    if (this.#timer === undefined) return
    this.#clock.clearTimeout(this.#timer)
    this.#timer = undefined
  }

  /** Whether the tick is running. */
  get running (): boolean {
    return this.#timer !== undefined
  }

  #schedule (): void {
    const timer = this.#clock.setTimeout(this.#onTick, this.#tickInterval)
    // Node's timers keep the process alive; a rate tick should not be what stops a finished program from exiting
    if (typeof timer === 'object' && timer !== null && 'unref' in timer && typeof timer.unref === 'function') timer.unref()
    this.#timer = timer
  }

  readonly #onTick = (): void => {
    this.#tick()
    this.#schedule()
  }

  #tick (): void {
    const now = this.#clock.now()
    // elapsed time, not the nominal interval: a tick delayed by a busy event loop still gives the true rate
    const elapsed = now - this.#lastTick
    if (elapsed <= 0) return
    this.#lastTick = now
    const perSecond = 1_000 / elapsed
    const alpha = 1 - Math.exp(-elapsed / TIME_CONSTANT_MS)
    this.#totals.update(now, perSecond, alpha)
    for (const m of this.#peers.values()) m.update(now, perSecond, alpha)
    for (const m of this.#protocols.values()) m.update(now, perSecond, alpha)
    if (this.#idleTimeout !== Infinity) this.trimIdle(now - this.#idleTimeout)
  }

  #add (meters: Map<string, Meter>, key: string): Meter {
    const m = new Meter(this.#clock.now())
    meters.set(key, m)
    return m
  }
}

function snapshot (meters: Map<string, Meter>): Map<string, BandwidthStats> {
  const out = new Map<string, BandwidthStats>()
  for (const [key, m] of meters) out.set(key, m.stats())
  return out
}

import { InvalidOptionError } from '../errors.js'
import { stripPeerId } from '../swarm/addrs.js'
import type { Clock, TimerHandle } from '../interfaces/clock.js'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** Options of a {@link DialBackoff}, all in milliseconds. */
export interface DialBackoffOptions {
  /** The backoff after an address's first failure, and the constant term afterwards. Positive. Default 5000 (5 s). */
  base?: number
  /** The coefficient of the square of prior failures. Zero or more. Default 1000 (1 s). */
  coef?: number
  /**
   * The longest backoff, at least `base`. Default 300000 (5 min). Also the period of the background cleanup, as in go.
   */
  max?: number
}

interface BackoffRecord {
  /** Failures recorded since the record was created. */
  tries: number
  /** Clock time at which the backoff ends. */
  until: number
}

/**
 * Per peer and address dial backoff (go-libp2p's DialBackoff), so that dead addresses are not dialed again and again.
 *
 * An address's first failure backs it off for `base`; each later one for `base + coef × tries²` where `tries` counts
 * the failures before it, capped at `max`: with the defaults 5 s, 6 s, 9 s, 14 s, 21 s, 30 s, … then 300 s from the
 * 19th failure on. Addresses are compared by their string form without a trailing `/p2p/<peer>`.
 *
 * The failure count never resets by itself while the record exists: a failure after the backoff ended still
 * lengthens the next backoff, as in go. Records go away only with {@link clear} (the swarm calls it when it connects
 * to the peer) or {@link cleanup}, which drops a peer once every one of its addresses has been out of backoff for
 * longer than the backoff it would get next; an address failing again after that starts from `base`.
 *
 * go runs cleanup every `max` (5 min) in the background; here {@link start} does so on the clock and {@link stop}
 * ends it, leaving no timer behind.
 */
export class DialBackoff {
  readonly base: number
  readonly coef: number
  readonly max: number

  readonly #clock: Clock
  readonly #entries = new Map<string, Map<string, BackoffRecord>>()
  #timer: TimerHandle | undefined
  #running = false

  /** Times come from `clock`, so tests can drive backoffs with a ManualClock. Throws InvalidOptionError on bad options. */
  constructor (clock: Clock, options: DialBackoffOptions = {}) {
    const { base = 5000, coef = 1000, max = 300_000 } = options
    if (!Number.isFinite(base) || base <= 0) throw new InvalidOptionError('base', base, 'a positive number of milliseconds')
    if (!Number.isFinite(coef) || coef < 0) throw new InvalidOptionError('coef', coef, 'a number of milliseconds, zero or more')
    if (!Number.isFinite(max) || max < base) throw new InvalidOptionError('max', max, `a number of milliseconds no smaller than base (${base})`)
    this.#clock = clock
    this.base = base
    this.coef = coef
    this.max = max
  }

  /** Whether `addr` of `peer` is backed off now. */
  backoff (peer: PeerId, addr: Multiaddr): boolean {
    return this.until(peer, addr) !== undefined
  }

  /** When the backoff of `addr` of `peer` ends (clock milliseconds), or undefined if it is not backed off now. */
  until (peer: PeerId, addr: Multiaddr): number | undefined {
    const record = this.#entries.get(peer.toString())?.get(addrKey(addr))
    return record !== undefined && this.#clock.now() < record.until ? record.until : undefined
  }

  /** Records a failed dial of `addr` of `peer`, backing it off for longer each time (see {@link DialBackoff}). */
  addBackoff (peer: PeerId, addr: Multiaddr): void {
    const peerKey = peer.toString()
    let records = this.#entries.get(peerKey)
    if (records === undefined) {
      records = new Map()
      this.#entries.set(peerKey, records)
    }
    const key = addrKey(addr)
    const record = records.get(key)
    const now = this.#clock.now()
    if (record === undefined) {
      records.set(key, { tries: 1, until: now + this.base })
      return
    }
    record.until = now + this.#duration(record.tries)
    record.tries++
  }

  /** Forgets every backoff of `peer`; call it after connecting to the peer. */
  clear (peer: PeerId): void {
    this.#entries.delete(peer.toString())
  }

  /**
   * Drops the records of every peer none of whose addresses has been backed off recently, i.e. each address's backoff
   * ended longer ago than the backoff it would get next. A peer with one recent address keeps all its records, as in go.
   */
  cleanup (): void {
    const now = this.#clock.now()
    for (const [peerKey, records] of this.#entries) {
      let recent = false
      for (const record of records.values()) {
        if (now < record.until + this.#duration(record.tries)) {
          recent = true
          break
        }
      }
      if (!recent) this.#entries.delete(peerKey)
    }
  }

  /** Number of peers with backoff records, expired or not (until cleanup or clear removes them). */
  get size (): number {
    return this.#entries.size
  }

  /** Starts running {@link cleanup} every `max` milliseconds on the clock. Does nothing if already started. */
  start (): void {
    if (this.#running) return
    this.#running = true
    this.#schedule()
  }

  /** Stops the background cleanup, clearing its timer. The records are kept. */
  stop (): void {
    this.#running = false
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #schedule (): void {
    // The clock has no interval timer: re-arm after each run.
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined
      if (!this.#running) return
      this.cleanup()
      this.#schedule()
    }, this.max)
  }

  /** The backoff after `tries` prior failures. */
  #duration (tries: number): number {
    return Math.min(this.base + this.coef * tries * tries, this.max)
  }
}

function addrKey (addr: Multiaddr): string {
  return stripPeerId(addr).toString()
}

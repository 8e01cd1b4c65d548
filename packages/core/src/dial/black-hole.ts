import { isPublicAddr } from '../net/addr-class.js'
import { InvalidOptionError } from '../errors.js'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * What a {@link BlackHoleSuccessCounter} says about its class of addresses:
 *
 * - `'probing'`: too few results to judge yet (fewer than `n` since the last reset); dials go ahead.
 * - `'allowed'`: at least `minSuccesses` of the last `n` dials succeeded; dials go ahead.
 * - `'blocked'`: fewer than `minSuccesses` of the last `n` dials succeeded; dials are refused, except a probe now and then.
 */
export type BlackHoleState = 'probing' | 'allowed' | 'blocked'

/** Options of a {@link BlackHoleSuccessCounter}. */
export interface BlackHoleSuccessCounterOptions {
  /**
   * How many recent results are kept; also how many results are needed before judging, and how often (every `n`-th
   * request) a probe is let through while blocked. A positive integer. Default 100.
   */
  n?: number
  /** How many of the last `n` results must be successes for the class to be allowed. An integer in [0, n]. Default 5. */
  minSuccesses?: number
  /** A name for logs and metrics, e.g. `'UDP'` or `'IPv6'`. Default `''`. */
  name?: string
}

/** A snapshot of a {@link BlackHoleSuccessCounter} for metrics (go-libp2p's `black_hole_filter_*` gauges). */
export interface BlackHoleStats {
  name: string
  state: BlackHoleState
  /** Successes among the recorded results (at most `n`), from 0 to 1; 0 when nothing is recorded. */
  successFraction: number
  /** While blocked, how many more requests until the next probe is let through; 0 otherwise. */
  nextRequestAllowedAfter: number
}

/** go-libp2p's default `n` for both the UDP and the IPv6 counter. */
export const DEFAULT_BLACK_HOLE_N = 100
/** go-libp2p's default `minSuccesses` for both the UDP and the IPv6 counter. */
export const DEFAULT_BLACK_HOLE_MIN_SUCCESSES = 5

/**
 * Detects a black hole, a class of addresses (UDP, IPv6) that this network silently drops, from the results of recent
 * dials (go-libp2p's BlackHoleSuccessCounter).
 *
 * It keeps the last `n` results. Until it has `n` it is probing; then it is allowed if at least `minSuccesses` of
 * them succeeded, and blocked otherwise. While blocked every `n`-th request is let through as a probe, and a success
 * resets the counter to probing: reachability is a yes-or-no property of the network, so one success is evidence enough
 * to look again rather than waiting for the successes to climb back over the threshold.
 *
 * Requests are counted per peer dial ({@link handleRequest}) while results are recorded per address dial
 * ({@link recordResult}), as in go. Dials cancelled because another dial to the same peer won should be recorded as
 * failures; a large enough `n` keeps that from blocking a class that works.
 */
export class BlackHoleSuccessCounter {
  readonly n: number
  readonly minSuccesses: number
  readonly name: string

  #requests = 0
  /** The last `n` results, oldest first; true for a success. */
  readonly #results: boolean[] = []
  #successes = 0
  #state: BlackHoleState = 'probing'

  constructor (options: BlackHoleSuccessCounterOptions = {}) {
    const { n = DEFAULT_BLACK_HOLE_N, minSuccesses = DEFAULT_BLACK_HOLE_MIN_SUCCESSES, name = '' } = options
    if (!Number.isSafeInteger(n) || n < 1) throw new InvalidOptionError('n', n, 'a positive integer')
    // More than n could never be reached, which would block the class for good.
    if (!Number.isSafeInteger(minSuccesses) || minSuccesses < 0 || minSuccesses > n) {
      throw new InvalidOptionError('minSuccesses', minSuccesses, `an integer from 0 to n (${n})`)
    }
    this.n = n
    this.minSuccesses = minSuccesses
    this.name = name
  }

  /**
   * Counts a dial request and says whether it may go ahead: `'allowed'` or `'probing'` mean dial, `'blocked'` means
   * refuse. While blocked, every `n`-th request (counted since the last reset) answers `'probing'`.
   */
  handleRequest (): BlackHoleState {
    this.#requests++
    if (this.#state === 'allowed') return 'allowed'
    if (this.#state === 'probing' || this.#requests % this.n === 0) return 'probing'
    return 'blocked'
  }

  /** Counts a dial request like {@link handleRequest}; true when it may go ahead (allowed or a probe). */
  hasPassedRequest (): boolean {
    return this.handleRequest() !== 'blocked'
  }

  /** Records the outcome of one address dial. A success while blocked resets the counter to probing. */
  recordResult (success: boolean): void {
    if (this.#state === 'blocked' && success) {
      this.#reset()
      return
    }
    this.#results.push(success)
    if (success) this.#successes++
    if (this.#results.length > this.n && this.#results.shift() === true) this.#successes--
    this.#updateState()
  }

  /** The current state, without counting a request. */
  state (): BlackHoleState {
    return this.#state
  }

  /** A snapshot for metrics. */
  stats (): BlackHoleStats {
    return {
      name: this.name,
      state: this.#state,
      successFraction: this.#results.length === 0 ? 0 : this.#successes / this.#results.length,
      nextRequestAllowedAfter: this.#state === 'blocked' ? this.n - (this.#requests % this.n) : 0
    }
  }

  #reset (): void {
    this.#results.length = 0
    this.#successes = 0
    this.#requests = 0
    this.#updateState()
  }

  #updateState (): void {
    if (this.#results.length < this.n) this.#state = 'probing'
    else if (this.#successes >= this.minSuccesses) this.#state = 'allowed'
    else this.#state = 'blocked'
  }
}

/** Options of a {@link BlackHoleDetector}. */
export interface BlackHoleDetectorOptions {
  /**
   * The counter for public UDP addresses; `null` disables UDP detection. Default: a new counter with n=100,
   * minSuccesses=5, name `'UDP'`. Pass a shared counter to share what is learnt between detectors.
   */
  udp?: BlackHoleSuccessCounter | null
  /**
   * The counter for public IPv6 addresses; `null` disables IPv6 detection. Default: a new counter with n=100,
   * minSuccesses=5, name `'IPv6'`.
   */
  ipv6?: BlackHoleSuccessCounter | null
  /**
   * Read-only mode, for swarms that must report reachability accurately (AutoNAT dialers): addresses are refused
   * unless their class is allowed (no probes), and results are never recorded. Default false.
   */
  readOnly?: boolean
}

/** The outcome of {@link BlackHoleDetector.filterAddrs}, in input order. */
export interface BlackHoleFilterResult {
  allowed: Multiaddr[]
  blackHoled: Multiaddr[]
}

/**
 * Filters out addresses of a class (UDP, IPv6) that looks black-holed, using one {@link BlackHoleSuccessCounter} per
 * class (go-libp2p's blackHoleDetector).
 *
 * Only public addresses count (go's `manet.IsPublicAddr`, see {@link isPublicAddr}): a private, loopback, link-local,
 * unroutable or special-use-name address, or one that does not start with an IP or DNS component, is never filtered
 * and its result never recorded, since a local network tells nothing about the internet's. An address is UDP if any
 * component is `udp`, and IPv6 if any component is `ip6`, as in go.
 *
 * Filtering is per peer dial, not per address, so that the periodic probes are really dialed rather than lost to
 * address ranking: each {@link filterAddrs} call counts one request on each counter that has an applicable address.
 */
export class BlackHoleDetector {
  readonly udp: BlackHoleSuccessCounter | null
  readonly ipv6: BlackHoleSuccessCounter | null
  readonly readOnly: boolean

  constructor (options: BlackHoleDetectorOptions = {}) {
    this.udp = options.udp === undefined ? new BlackHoleSuccessCounter({ name: 'UDP' }) : options.udp
    this.ipv6 = options.ipv6 === undefined ? new BlackHoleSuccessCounter({ name: 'IPv6' }) : options.ipv6
    this.readOnly = options.readOnly ?? false
  }

  /** Splits a peer's addresses into those to dial and those refused as black-holed. */
  filterAddrs (addrs: readonly Multiaddr[]): BlackHoleFilterResult {
    let hasUDP = false
    let hasIPv6 = false
    const classes = addrs.map(addr => {
      const c = classify(addr)
      hasUDP ||= c.udp
      hasIPv6 ||= c.ipv6
      return c
    })

    // Ask each counter only when an address of its class is present, so requests that cannot be probes do not move
    // the probe schedule.
    const udpState = this.udp !== null && hasUDP ? this.#requestState(this.udp) : 'allowed'
    const ipv6State = this.ipv6 !== null && hasIPv6 ? this.#requestState(this.ipv6) : 'allowed'

    const allowed: Multiaddr[] = []
    const blackHoled: Multiaddr[] = []
    addrs.forEach((addr, i) => {
      const { udp, ipv6 } = classes[i]
      // A probe of either class lets an address of that class through whatever the other class says: a UDP-over-IPv6
      // address is the only kind the probe may have to go on.
      const probe = (udp && udpState === 'probing') || (ipv6 && ipv6State === 'probing')
      const blocked = (udp && udpState === 'blocked') || (ipv6 && ipv6State === 'blocked')
      if (!probe && blocked) blackHoled.push(addr)
      else allowed.push(addr)
    })
    return { allowed, blackHoled }
  }

  /** Records the outcome of a dial to `addr` on the counters of its classes (nothing in read-only mode). */
  recordResult (addr: Multiaddr, success: boolean): void {
    if (this.readOnly) return
    const { udp, ipv6 } = classify(addr)
    if (udp) this.udp?.recordResult(success)
    if (ipv6) this.ipv6?.recordResult(success)
  }

  #requestState (counter: BlackHoleSuccessCounter): BlackHoleState {
    // Read-only refuses anything not known to work, and must not count requests: that would shift the probe schedule
    // of counters shared with a read-write detector.
    if (this.readOnly) return counter.state() === 'allowed' ? 'allowed' : 'blocked'
    return counter.handleRequest()
  }
}

// Whether the address is public: go's manet.IsPublicAddr, from the one address classifier; re-exported here, where
// it always was.
export { isPublicAddr }

/** The black-hole classes of `addr` (go's isProtocolAddr: `/udp`, `/ip6` anywhere); a non-public address is in none. */
function classify (addr: Multiaddr): { udp: boolean, ipv6: boolean } {
  if (!isPublicAddr(addr)) return { udp: false, ipv6: false }
  const parts = addr.getComponents()
  return { udp: parts.some(p => p.name === 'udp'), ipv6: parts.some(p => p.name === 'ip6') }
}

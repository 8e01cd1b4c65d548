import type { IpAddress } from './ip.js'
import type { Clock } from '@tswarm/core'

/** A token bucket for the subnets of one prefix length: `burst` connections at once, refilled at `perSecond`. */
export interface RateLimit {
  /** Addresses sharing this many leading bits share a bucket (32 for one IPv4 address). */
  prefixLength: number
  /** Tokens added per second; 0 means the burst is all there ever is. */
  perSecond: number
  /** The bucket's size: how many connections may arrive at once after a quiet spell. */
  burst: number
}

/** Rate limits per address family; a source must find a token in every bucket it falls in. */
export interface RateLimits {
  readonly ipv4: readonly RateLimit[]
  readonly ipv6: readonly RateLimit[]
}

/**
 * go-libp2p's resource manager defaults (conn_rate_limiter.go): one IPv4 address, or one IPv6 /56 (what one host is
 * commonly given), may open 16 connections at once and then one every 5 s; an IPv6 /48 (one site), 80 at once and
 * then one every 2 s.
 */
export const DEFAULT_RATE_LIMITS: RateLimits = Object.freeze({
  ipv4: Object.freeze([{ prefixLength: 32, perSecond: 0.2, burst: 16 }]),
  ipv6: Object.freeze([{ prefixLength: 56, perSecond: 0.2, burst: 16 }, { prefixLength: 48, perSecond: 0.5, burst: 80 }])
})

interface Bucket {
  tokens: number
  /** When `tokens` was last brought up to date (clock ms). */
  at: number
  readonly limit: RateLimit
}

/** How often (clock ms) full buckets are dropped. */
const SWEEP_INTERVAL = 60_000

/**
 * New-connection rate limiting per source subnet, with token buckets on an injected clock (tests drive time by
 * hand). A bucket that has refilled is the same as no bucket, so full buckets are dropped once a minute: memory
 * follows the number of sources seen recently, not ever.
 */
export class ConnectionRateLimiter {
  readonly #buckets = new Map<string, Bucket>()
  #lastSweep: number

  constructor (private readonly limits: RateLimits, private readonly clock: Clock) {
    this.#lastSweep = clock.now()
  }

  /** Takes a token from every bucket `ip` falls in and answers true; when one is empty, takes none and answers false. */
  allow (ip: IpAddress): boolean {
    const now = this.clock.now()
    if (now - this.#lastSweep >= SWEEP_INTERVAL) this.#sweep(now)
    const limits = ip.family === 4 ? this.limits.ipv4 : this.limits.ipv6
    const buckets: Bucket[] = []
    for (let i = 0; i < limits.length; i++) {
      const limit = limits[i]
      const key = `${i}|${ip.prefixKey(limit.prefixLength)}`
      let b = this.#buckets.get(key)
      if (b === undefined) {
        b = { tokens: limit.burst, at: now, limit }
        this.#buckets.set(key, b)
      } else {
        refill(b, now)
      }
      if (b.tokens < 1) return false
      buckets.push(b)
    }
    for (const b of buckets) b.tokens -= 1
    return true
  }

  /** How many buckets are held (sources seen within the last minute or so that have not refilled). */
  get size (): number {
    return this.#buckets.size
  }

  #sweep (now: number): void {
    this.#lastSweep = now
    for (const [key, b] of this.#buckets) {
      refill(b, now)
      if (b.tokens >= b.limit.burst) this.#buckets.delete(key)
    }
  }
}

function refill (b: Bucket, now: number): void {
  if (now > b.at) b.tokens = Math.min(b.limit.burst, b.tokens + (now - b.at) / 1000 * b.limit.perSecond)
  b.at = Math.max(b.at, now)
}

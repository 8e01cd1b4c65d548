import { InvalidOptionError } from './errors.js'

/** A black-hole counter's window: over the last `n` public dials of a class, fewer than `minSuccesses` blocks it. */
export interface BlackHoleCounterOptions {
  n: number
  minSuccesses: number
}

/** Swarm options. Every field is optional; each says its default. Times are in milliseconds. */
export interface SwarmOptions {
  /** Time allowed for one address's dial, handshakes included. Default 15 000 (go's defaultDialTimeout). */
  dialTimeout?: number
  /** The same for private, loopback and link-local addresses. Default 5 000. */
  dialTimeoutLocal?: number
  /** Time allowed for a whole `dialPeer` when the caller gives no signal. Default 60 000. */
  dialPeerTimeout?: number
  /** Time allowed for `newStream` (dial included) when the caller gives no signal. Default 15 000. */
  newStreamTimeout?: number
  /** Time an inbound connection has to finish its security and muxer handshakes. Default 15 000. */
  inboundUpgradeTimeout?: number
  /** Time a stream has to agree on a protocol with multistream-select. Default 10 000. */
  protocolNegotiationTimeout?: number
  /** Backoff after an address's first failure. Default 5 000. */
  backoffBase?: number
  /** Backoff grows by this × (failures so far)². Default 1 000. */
  backoffCoef?: number
  /** Backoff never exceeds this. Default 300 000. */
  backoffMax?: number
  /** Dials that take a file descriptor (TCP) in flight at once, across peers. Default 160. */
  fdDialLimit?: number
  /** Dials in flight at once to one peer. Default 8. */
  perPeerDialLimit?: number
  /** How deep `/dnsaddr` records are followed. Default 4. */
  maxDnsRecursion?: number
  /** At most this many addresses come out of resolving one peer's addresses. Default 100. */
  maxResolvedAddrs?: number
  /** The UDP black-hole counter; `null` disables detection for UDP. Default `{ n: 100, minSuccesses: 5 }`. */
  udpBlackHole?: BlackHoleCounterOptions | null
  /** The IPv6 black-hole counter; `null` disables detection for IPv6. Default `{ n: 100, minSuccesses: 5 }`. */
  ipv6BlackHole?: BlackHoleCounterOptions | null
  /**
   * How often every connection whose muxer can ping (Yamux) is pinged to check the peer is still there; 0 disables.
   * These pings are also the connections' keep-alive (Yamux's own is off): at 0 an idle connection sends nothing.
   * Default 30 000.
   */
  livenessInterval?: number
  /** A connection whose ping gets no answer within this is aborted as a vanished peer. Default 10 000. */
  livenessTimeout?: number
  /** A connection with no stream for this long is closed; 0 keeps idle connections (the default). */
  idleConnectionTimeout?: number
}

/** The options with every default filled in, frozen. */
export type SwarmConfig = Readonly<Required<SwarmOptions>>

export const DEFAULT_SWARM_CONFIG: SwarmConfig = Object.freeze({
  dialTimeout: 15_000,
  dialTimeoutLocal: 5_000,
  dialPeerTimeout: 60_000,
  newStreamTimeout: 15_000,
  inboundUpgradeTimeout: 15_000,
  protocolNegotiationTimeout: 10_000,
  backoffBase: 5_000,
  backoffCoef: 1_000,
  backoffMax: 300_000,
  fdDialLimit: 160,
  perPeerDialLimit: 8,
  maxDnsRecursion: 4,
  maxResolvedAddrs: 100,
  udpBlackHole: Object.freeze({ n: 100, minSuccesses: 5 }),
  ipv6BlackHole: Object.freeze({ n: 100, minSuccesses: 5 }),
  livenessInterval: 30_000,
  livenessTimeout: 10_000,
  idleConnectionTimeout: 0
})

const BLACK_HOLE_KEYS = new Set(['udpBlackHole', 'ipv6BlackHole'])
/** Options where 0 means "off". */
const ZERO_DISABLES = new Set(['livenessInterval', 'idleConnectionTimeout'])

/** Fills in defaults and validates; a bad value throws an InvalidOptionError naming the option. */
export function resolveSwarmConfig (options: SwarmOptions = {}): SwarmConfig {
  const config: Record<string, unknown> = { ...DEFAULT_SWARM_CONFIG }
  for (const [key, value] of Object.entries(options)) {
    if (!(key in DEFAULT_SWARM_CONFIG)) {
      throw new InvalidOptionError(`options.${key}`, value, `one of ${Object.keys(DEFAULT_SWARM_CONFIG).join(', ')}`)
    }
    if (value === undefined) continue
    if (BLACK_HOLE_KEYS.has(key)) {
      config[key] = value === null ? null : Object.freeze(validateCounter(key, value))
      continue
    }
    const min = ZERO_DISABLES.has(key) ? 0 : Number.MIN_VALUE
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
      throw new InvalidOptionError(`options.${key}`, value, ZERO_DISABLES.has(key) ? 'a number >= 0 (0 disables)' : 'a positive number')
    }
    config[key] = value
  }
  return Object.freeze(config) as SwarmConfig
}

function validateCounter (key: string, value: unknown): BlackHoleCounterOptions {
  const v = value as Partial<BlackHoleCounterOptions>
  if (typeof v !== 'object' || !Number.isInteger(v.n) || !Number.isInteger(v.minSuccesses) ||
    (v.n ?? 0) <= 0 || (v.minSuccesses ?? 0) <= 0 || (v.minSuccesses ?? 0) > (v.n ?? 0)) {
    throw new InvalidOptionError(`options.${key}`, JSON.stringify(value), '{ n, minSuccesses } with integers 0 < minSuccesses <= n, or null to disable')
  }
  return { n: v.n as number, minSuccesses: v.minSuccesses as number }
}

import { InvalidOptionError } from './errors.js'

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
}

/** The options with every default filled in, frozen. */
export type SwarmConfig = Readonly<Required<SwarmOptions>>

export const DEFAULT_SWARM_CONFIG: SwarmConfig = Object.freeze({
  dialTimeout: 15_000,
  dialTimeoutLocal: 5_000,
  dialPeerTimeout: 60_000,
  newStreamTimeout: 15_000,
  inboundUpgradeTimeout: 15_000,
  protocolNegotiationTimeout: 10_000
})

/** Fills in defaults and validates; a bad value throws an InvalidOptionError naming the option. */
export function resolveSwarmConfig (options: SwarmOptions = {}): SwarmConfig {
  const config: Record<string, number> = { ...DEFAULT_SWARM_CONFIG }
  for (const [key, value] of Object.entries(options)) {
    if (!(key in DEFAULT_SWARM_CONFIG)) {
      throw new InvalidOptionError(`options.${key}`, value, `one of ${Object.keys(DEFAULT_SWARM_CONFIG).join(', ')}`)
    }
    if (value === undefined) continue
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new InvalidOptionError(`options.${key}`, value, 'a positive number of milliseconds')
    }
    config[key] = value
  }
  return Object.freeze(config) as SwarmConfig
}

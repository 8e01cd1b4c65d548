import { InvalidCidrError, InvalidOptionError, ResourceLimitError } from '../errors.js'
import { ipOfMultiaddr, parseCidr } from '../net/ip.js'
import type { Cidr } from '../net/ip.js'
import type { Direction } from '../interfaces/gater.js'
import type { ConnectionScope, ResourceManager, ResourceStats, StreamScope } from '../interfaces/resources.js'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** Resource limits. Every field is optional; each says its default. */
export interface ResourceLimits {
  /** Connections at once, pending included. Default 1024. */
  connections?: number
  /** Inbound connections at once. Default 512. */
  connectionsInbound?: number
  /** Outbound connections at once. Default 512. */
  connectionsOutbound?: number
  /** Connections to one peer at once. Default 8 (go's per-peer default). */
  connectionsPerPeer?: number
  /** Streams at once. Default 16 384. */
  streams?: number
  /** Inbound streams at once. Default 8 192. */
  streamsInbound?: number
  /** Outbound streams at once. Default 8 192. */
  streamsOutbound?: number
  /** Streams with one peer at once. Default 2 048. */
  streamsPerPeer?: number
  /** Streams of one protocol at once, across peers. Default 8 192. */
  streamsPerProtocol?: number
  /** Bytes that stream buffers may reserve in all. Default 1 GiB. */
  memory?: number
  /** Bytes each stream reserves for its buffers. Default 64 KiB. */
  streamMemory?: number
  /** Peers (as strings) and subnets (`10.0.0.0/8`, `2001:db8::/32`) exempt from every limit. */
  allowList?: { peers?: readonly string[], subnets?: readonly string[] }
}

export const DEFAULT_RESOURCE_LIMITS = Object.freeze({
  connections: 1024,
  connectionsInbound: 512,
  connectionsOutbound: 512,
  connectionsPerPeer: 8,
  streams: 16_384,
  streamsInbound: 8192,
  streamsOutbound: 8192,
  streamsPerPeer: 2048,
  streamsPerProtocol: 8192,
  memory: 1024 * 1024 * 1024,
  streamMemory: 64 * 1024
})

/** Every numeric limit, filled in. */
export type ResolvedResourceLimits = typeof DEFAULT_RESOURCE_LIMITS

/** Counts by key that never go below zero and forget keys at zero, so they do not grow with every peer seen. */
class Counter {
  readonly #counts = new Map<string, number>()
  get (key: string): number { return this.#counts.get(key) ?? 0 }
  add (key: string, n: number): void {
    const v = this.get(key) + n
    if (v <= 0) this.#counts.delete(key)
    else this.#counts.set(key, v)
  }
}

/** {@link ResourceLimits} validated and frozen: every limit filled in, the allow list parsed. */
export interface ResourceLimitsConfig {
  readonly limits: ResolvedResourceLimits
  readonly allowList: { readonly peers: readonly string[], readonly subnets: readonly Cidr[] }
}

/** The configs {@link resolveResourceLimits} made, so that one handed back to it is not checked twice. */
const resolvedConfigs = new WeakSet<object>()

/**
 * Validates resource limits (an InvalidOptionError naming the limit) and fills in the defaults. `resourceLimits()`
 * calls it once, when the module is made; a config it returned is handed back unchanged.
 */
export function resolveResourceLimits (limits: ResourceLimits | ResourceLimitsConfig = {}): ResourceLimitsConfig {
  if (resolvedConfigs.has(limits)) return limits as ResourceLimitsConfig
  const options = limits as ResourceLimits
  const resolved: Record<string, number> = { ...DEFAULT_RESOURCE_LIMITS }
  for (const [key, value] of Object.entries(options)) {
    if (key === 'allowList') continue
    if (!(key in DEFAULT_RESOURCE_LIMITS)) throw new InvalidOptionError(`limits.${key}`, value, `one of ${Object.keys(DEFAULT_RESOURCE_LIMITS).join(', ')}, allowList`)
    if (value === undefined) continue
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new InvalidOptionError(`limits.${key}`, value, 'a whole number >= 0')
    resolved[key] = value
  }
  const subnets: Cidr[] = []
  for (const subnet of options.allowList?.subnets ?? []) {
    try {
      subnets.push(parseCidr(subnet))
    } catch (err) {
      const problem = err instanceof InvalidCidrError ? `; ${err.problem}` : ''
      throw new InvalidOptionError('limits.allowList.subnets', subnet, `a CIDR such as 10.0.0.0/8 or 2001:db8::/32${problem}`)
    }
  }
  const config: ResourceLimitsConfig = Object.freeze({
    limits: Object.freeze(resolved) as ResolvedResourceLimits,
    allowList: Object.freeze({ peers: Object.freeze([...options.allowList?.peers ?? []]), subnets: Object.freeze(subnets) })
  })
  resolvedConfigs.add(config)
  return config
}

/**
 * The default resource manager: counters for connections (total, per direction, per peer), streams (total, per
 * direction, per peer, per protocol) and stream buffer memory, checked before anything is opened. Allow-listed peers
 * and subnets are counted apart and never refused (go's allowlist, simplified: no separate allowlist limits).
 */
export class LimitResourceManager implements ResourceManager {
  readonly #limits: ResolvedResourceLimits
  readonly #allowedPeers: Set<string>
  readonly #allowedSubnets: readonly Cidr[]
  #conns = 0
  readonly #connsByDir = new Counter()
  readonly #connsByPeer = new Counter()
  #streams = 0
  readonly #streamsByDir = new Counter()
  readonly #streamsByPeer = new Counter()
  readonly #streamsByProtocol = new Counter()
  #memory = 0

  /** @param limits - options (validated here), or a config {@link resolveResourceLimits} returned (used as is) */
  constructor (limits: ResourceLimits | ResourceLimitsConfig = {}) {
    const config = resolveResourceLimits(limits)
    this.#limits = config.limits
    this.#allowedPeers = new Set(config.allowList.peers)
    this.#allowedSubnets = config.allowList.subnets
  }

  get limits (): Readonly<ResolvedResourceLimits> {
    return this.#limits
  }

  stat (): ResourceStats {
    return {
      connections: { total: this.#conns, inbound: this.#connsByDir.get('inbound'), outbound: this.#connsByDir.get('outbound') },
      streams: { total: this.#streams, inbound: this.#streamsByDir.get('inbound'), outbound: this.#streamsByDir.get('outbound') },
      memory: this.#memory
    }
  }

  openConnection (direction: Direction, remoteAddr: Multiaddr): ConnectionScope {
    const ip = this.#allowedSubnets.length === 0 ? undefined : ipOfMultiaddr(remoteAddr)
    if (ip !== undefined && this.#allowedSubnets.some(subnet => subnet.contains(ip))) return { setPeer: () => {}, done: () => {} }
    const dirLimit = direction === 'inbound' ? this.#limits.connectionsInbound : this.#limits.connectionsOutbound
    if (this.#conns >= this.#limits.connections) throw new ResourceLimitError('connections', this.#limits.connections)
    if (this.#connsByDir.get(direction) >= dirLimit) throw new ResourceLimitError(`${direction} connections`, dirLimit)
    this.#conns++
    this.#connsByDir.add(direction, 1)
    let peerKey: string | undefined
    let released = false
    const release = (): void => {
      if (released) return
      released = true
      this.#conns--
      this.#connsByDir.add(direction, -1)
      if (peerKey !== undefined) this.#connsByPeer.add(peerKey, -1)
    }
    return {
      setPeer: (peer: PeerId) => {
        if (released || peerKey !== undefined) return
        const key = peer.toString()
        // An allow-listed peer is not held to any limit: release what was counted for it at open.
        if (this.#allowedPeers.has(key)) {
          release()
          return
        }
        if (this.#connsByPeer.get(key) >= this.#limits.connectionsPerPeer) {
          release()
          throw new ResourceLimitError(`connections to peer ${key}`, this.#limits.connectionsPerPeer)
        }
        peerKey = key
        this.#connsByPeer.add(key, 1)
      },
      done: release
    }
  }

  openStream (peer: PeerId, direction: Direction): StreamScope {
    const peerKey = peer.toString()
    if (this.#allowedPeers.has(peerKey)) return { setProtocol: () => {}, done: () => {} }
    const l = this.#limits
    const dirLimit = direction === 'inbound' ? l.streamsInbound : l.streamsOutbound
    if (this.#streams >= l.streams) throw new ResourceLimitError('streams', l.streams)
    if (this.#streamsByDir.get(direction) >= dirLimit) throw new ResourceLimitError(`${direction} streams`, dirLimit)
    if (this.#streamsByPeer.get(peerKey) >= l.streamsPerPeer) throw new ResourceLimitError(`streams with peer ${peerKey}`, l.streamsPerPeer)
    if (this.#memory + l.streamMemory > l.memory) throw new ResourceLimitError('stream buffer memory (bytes)', l.memory)
    this.#streams++
    this.#streamsByDir.add(direction, 1)
    this.#streamsByPeer.add(peerKey, 1)
    this.#memory += l.streamMemory
    let protocol: string | undefined
    let released = false
    return {
      setProtocol: (p: string) => {
        if (released || p === protocol) return
        if (this.#streamsByProtocol.get(p) >= l.streamsPerProtocol) throw new ResourceLimitError(`streams of protocol ${p}`, l.streamsPerProtocol)
        if (protocol !== undefined) this.#streamsByProtocol.add(protocol, -1)
        protocol = p
        this.#streamsByProtocol.add(p, 1)
      },
      done: () => {
        if (released) return
        released = true
        this.#streams--
        this.#streamsByDir.add(direction, -1)
        this.#streamsByPeer.add(peerKey, -1)
        this.#memory -= l.streamMemory
        if (protocol !== undefined) this.#streamsByProtocol.add(protocol, -1)
      }
    }
  }
}

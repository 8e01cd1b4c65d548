import { InvalidOptionError } from '../errors.js'
import type { Clock, TimerHandle } from '../interfaces/clock.js'
import type { Conn } from '../interfaces/connection.js'
import type { Network, SwarmService } from '../interfaces/network.js'
import type { Logger } from '@libp2p/logger'
import type { PeerId } from '@libp2p/interface'

/** Connection manager options; each says its default. Times in ms. */
export interface ConnectionManagerOptions {
  /** Trimming closes connections down to this many. Default 160 (go-libp2p's default). */
  lowWater?: number
  /** Above this many connections, the manager trims. Default 192. */
  highWater?: number
  /** New connections are not trimmed for this long. Default 60 000. */
  gracePeriod?: number
  /** At most one trim per this period. Default 10 000. */
  silencePeriod?: number
}

/** {@link ConnectionManagerOptions} validated, every default filled in, frozen. */
export type ConnectionManagerConfig = Readonly<Required<ConnectionManagerOptions>>

/**
 * Validates connection manager options (an InvalidOptionError naming the option) and fills in the defaults.
 * `connectionManager()` calls it once, when the module is made; the constructor calls it for direct use (on a
 * config it returned, it only checks again).
 */
export function resolveConnectionManagerOptions (options: ConnectionManagerOptions = {}): ConnectionManagerConfig {
  const cfg = { lowWater: 160, highWater: 192, gracePeriod: 60_000, silencePeriod: 10_000, ...options }
  for (const [k, v] of Object.entries(cfg)) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new InvalidOptionError(`connectionManager.${k}`, v, 'a number >= 0')
  }
  if (cfg.lowWater > cfg.highWater) throw new InvalidOptionError('connectionManager.lowWater', cfg.lowWater, `at most highWater (${cfg.highWater})`)
  return Object.freeze(cfg)
}

/** What the manager knows of a peer (go's TagInfo). */
export interface TagInfo {
  firstSeen: number
  /** The sum of the peer's tag values. */
  value: number
  tags: Map<string, number>
  conns: Conn[]
}

interface PeerInfo {
  id: PeerId
  tags: Map<string, number>
  value: number
  /** Created by tagging a peer with no connection; dropped first, like go's temporary entries. */
  temp: boolean
  firstSeen: number
  conns: Set<Conn>
}

/**
 * Keeps the number of connections between watermarks (go-libp2p's BasicConnMgr). When there are more than
 * `highWater` connections, it closes connections down to `lowWater`, least valuable peers first in go's order:
 * temporary entries, lower total tag value, peers with no streams, inbound-only peers, fewer streams. Protected peers
 * and connections younger than the grace period are never trimmed. Register it with `connectionManager()`; reach it
 * with `pluginInstance(swarm, CONNECTION_MANAGER)`.
 */
export class BasicConnectionManager implements SwarmService {
  readonly name = 'connection-manager'
  readonly #cfg: ConnectionManagerConfig
  readonly #peers = new Map<string, PeerInfo>()
  readonly #protected = new Map<string, Set<string>>()
  readonly #trimListeners = new Set<(closed: Conn[]) => void>()
  #network?: Network
  #lastTrim = -Infinity
  #timer: TimerHandle | undefined
  #connCount = 0
  readonly #notifiee = {
    connected: (conn: Conn) => { this.#onConnected(conn) },
    disconnected: (conn: Conn) => { this.#onDisconnected(conn) }
  }

  constructor (private readonly clock: Clock, options: ConnectionManagerOptions = {}, private readonly log?: Logger) {
    this.#cfg = resolveConnectionManagerOptions(options)
  }

  start (network: Network): void {
    this.#network = network
    network.notify(this.#notifiee)
    for (const c of network.conns()) this.#onConnected(c)
  }

  stop (): void {
    this.#network?.stopNotify(this.#notifiee)
    if (this.#timer !== undefined) this.clock.clearTimeout(this.#timer)
    this.#timer = undefined
  }

  /** Called with the connections each trim closed. Returns a function that removes the listener. */
  onTrim (listener: (closed: Conn[]) => void): () => void {
    this.#trimListeners.add(listener)
    return () => { this.#trimListeners.delete(listener) }
  }

  tagPeer (peer: PeerId, tag: string, value: number): void {
    const info = this.#info(peer, true)
    info.value += value - (info.tags.get(tag) ?? 0)
    info.tags.set(tag, value)
  }

  untagPeer (peer: PeerId, tag: string): void {
    const info = this.#peers.get(peer.toString())
    if (info === undefined) return
    info.value -= info.tags.get(tag) ?? 0
    info.tags.delete(tag)
  }

  upsertTag (peer: PeerId, tag: string, update: (old: number) => number): void {
    this.tagPeer(peer, tag, update(this.#peers.get(peer.toString())?.tags.get(tag) ?? 0))
  }

  getTagInfo (peer: PeerId): TagInfo | undefined {
    const info = this.#peers.get(peer.toString())
    if (info === undefined) return undefined
    return { firstSeen: info.firstSeen, value: info.value, tags: new Map(info.tags), conns: [...info.conns] }
  }

  /** Protects the peer from trimming under `tag` (protections are per tag, not counted). */
  protect (peer: PeerId, tag: string): void {
    const key = peer.toString()
    const tags = this.#protected.get(key) ?? new Set()
    tags.add(tag)
    this.#protected.set(key, tags)
  }

  /** Removes one protection; returns whether the peer is still protected under another tag. */
  unprotect (peer: PeerId, tag: string): boolean {
    const key = peer.toString()
    const tags = this.#protected.get(key)
    tags?.delete(tag)
    if (tags?.size === 0) this.#protected.delete(key)
    return this.#protected.has(key)
  }

  isProtected (peer: PeerId, tag?: string): boolean {
    const tags = this.#protected.get(peer.toString())
    return tag === undefined ? tags !== undefined : tags?.has(tag) === true
  }

  /** Trims now, whatever the silence period; resolves with the connections it closed. */
  async trimOpenConns (): Promise<Conn[]> {
    this.#lastTrim = this.clock.now()
    const victims = this.connsToClose()
    await Promise.allSettled(victims.map(async c => { await c.close() }))
    if (victims.length > 0) {
      this.log?.('trimmed %d connections', victims.length)
      for (const l of this.#trimListeners) l(victims)
    }
    return victims
  }

  /** The connections a trim would close now, in go's order (exposed for tests and diagnostics). */
  connsToClose (): Conn[] {
    const { lowWater, highWater, gracePeriod } = this.#cfg
    if (lowWater === 0 || highWater === 0 || this.#connCount <= lowWater) return []
    const graceStart = this.clock.now() - gracePeriod
    const candidates: PeerInfo[] = []
    let count = 0
    for (const [key, info] of this.#peers) {
      if (this.#protected.has(key) || info.firstSeen > graceStart) continue
      candidates.push(info)
      count += info.conns.size
    }
    // go: when too many connections are still in their grace period, do nothing rather than trim the rest too deep.
    if (count < lowWater) return []
    candidates.sort(compareForTrim)
    let target = count - lowWater
    const selected: Conn[] = []
    for (const info of candidates) {
      if (target <= 0) break
      if (info.conns.size === 0 && info.temp) {
        this.#peers.delete(info.id.toString())
        continue
      }
      selected.push(...info.conns)
      target -= info.conns.size
    }
    return selected
  }

  #info (peer: PeerId, temp: boolean): PeerInfo {
    const key = peer.toString()
    let info = this.#peers.get(key)
    if (info === undefined) {
      info = { id: peer, tags: new Map(), value: 0, temp, firstSeen: this.clock.now(), conns: new Set() }
      this.#peers.set(key, info)
    }
    return info
  }

  #onConnected (conn: Conn): void {
    const info = this.#info(conn.remotePeer, false)
    if (info.temp) {
      // A tagged peer that connects becomes a real entry (go's TestTemporaryEntryConvertedOnConnection).
      info.temp = false
      info.firstSeen = this.clock.now()
    }
    if (info.conns.has(conn)) return
    info.conns.add(conn)
    this.#connCount++
    if (this.#connCount > this.#cfg.highWater) this.#scheduleTrim()
  }

  #onDisconnected (conn: Conn): void {
    const key = conn.remotePeer.toString()
    const info = this.#peers.get(key)
    if (info?.conns.delete(conn) !== true) return
    this.#connCount--
    if (info.conns.size === 0) this.#peers.delete(key)
  }

  /** One trim per silence period: now if the last was long enough ago, else when the period ends. */
  #scheduleTrim (): void {
    if (this.#timer !== undefined) return
    const wait = Math.max(0, this.#lastTrim + this.#cfg.silencePeriod - this.clock.now())
    this.#timer = this.clock.setTimeout(() => {
      this.#timer = undefined
      if (this.#connCount > this.#cfg.highWater) void this.trimOpenConns()
    }, wait)
  }
}

function streamsAndInbound (info: PeerInfo): { streams: number, inbound: boolean } {
  let streams = 0
  let inbound = false
  for (const c of info.conns) {
    const stat = c.stat()
    streams += stat.numStreams
    if (stat.direction === 'inbound') inbound = true
  }
  return { streams, inbound }
}

/** go's SortByValueAndStreams: least valuable first. */
function compareForTrim (a: PeerInfo, b: PeerInfo): number {
  if (a.temp !== b.temp) return a.temp ? -1 : 1
  if (a.value !== b.value) return a.value - b.value
  const left = streamsAndInbound(a)
  const right = streamsAndInbound(b)
  if (left.streams !== right.streams && (left.streams === 0 || right.streams === 0)) return left.streams - right.streams
  if (left.inbound !== right.inbound) return left.inbound ? -1 : 1
  return left.streams - right.streams
}

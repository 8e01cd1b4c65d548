import { publicKeyFromProtobuf, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { AddrTTL, CLOCK, LOGGER, MemoryPeerstore, addrKey, describe, inject, injectable, stripPeerId } from '@tswarm/core'
import { Key } from 'interface-datastore'
import { PeerstoreOpenError, PeerstoreWriteError } from '../errors.js'
import { PEERSTORE_DATASTORE, PERSISTENT_PEERSTORE_CONFIG } from '../tokens.js'
import { MetadataEntry, PeerEntry } from './pb/peerstore.js'
import type { AddrEntry } from './pb/peerstore.js'
import type { ComponentLogger, Logger, PeerId, PublicKey } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Clock, Network, Peerstore, SwarmService, TimerHandle } from '@tswarm/core'
import type { Datastore } from 'interface-datastore'

/** The layout of the entries this version writes (`PeerEntry.version`). */
const ENTRY_VERSION = 1

const utf8 = new TextEncoder()
const utf8Decoder = new TextDecoder()

/** The persistent peerstore's options, validated, with defaults filled in, frozen. */
export interface PersistentPeerstoreConfig {
  /** The LevelDB directory, when the module was given `path`. */
  readonly path?: string
  /** The datastore the module was given instead of `path`. */
  readonly datastore?: Datastore
  /** Key prefix of the entries, e.g. `/peers`. */
  readonly prefix: string
  readonly writeDelay: number
  readonly maxPendingPeers: number
  /** Whether the peerstore opens and closes the datastore (it does for the LevelDB it creates from `path`). */
  readonly ownsDatastore: boolean
}

/** What is known of one peer's addresses and metadata beyond what MemoryPeerstore answers, to write it out. */
interface PeerIndex {
  /** Lifetime of each address, keyed as MemoryPeerstore keys it (the bytes without /p2p). */
  lifetimes: Map<string, { ttl: number, expires: number }>
  metadataKeys: Set<string>
  keyRecorded: boolean
}

/** A clock that can be set back, so loading restores each address with its original TTL and expiry. */
class ShiftedClock implements Clock {
  offset = 0
  constructor (private readonly inner: Clock) {}
  now (): number { return this.inner.now() + this.offset }
  setTimeout (fn: () => void, ms: number): TimerHandle { return this.inner.setTimeout(fn, ms) }
  clearTimeout (handle: TimerHandle): void { this.inner.clearTimeout(handle) }
}

/**
 * A peerstore that survives restarts: addresses with their TTLs, public keys, protocols and metadata, kept in a
 * datastore (`interface-datastore`; LevelDB on disk by default) as one protobuf entry per peer under `/peers/<id>`.
 *
 * Every read and write is answered by an in-memory {@link MemoryPeerstore}, so its semantics hold exactly and the
 * dial path never waits on storage. Changes mark the peer dirty; dirty peers are written behind, in one batch,
 * `writeDelay` ms after the first change (at once past `maxPendingPeers`), and on `stop()`/`close()`. Everything is
 * loaded into memory when the swarm starts (this class is also a `SwarmService`), before the swarm can dial or accept.
 *
 * After a restart, addresses saved as CONNECTED come back as RECENTLY_CONNECTED: the peer is no longer connected.
 * Metadata values survive when they are a Uint8Array, a string, or JSON-serialisable (as JSON); others stay in
 * memory only.
 */
@injectable()
export class PersistentPeerstore implements Peerstore, SwarmService {
  readonly name = 'persistent-peerstore'
  readonly #memory: MemoryPeerstore
  readonly #clock: Clock
  readonly #loadClock: ShiftedClock
  readonly #config: PersistentPeerstoreConfig
  readonly #datastore: Datastore
  readonly #log: Logger
  readonly #index = new Map<string, PeerIndex>()
  readonly #ids = new Map<string, PeerId>()
  #dirty = new Set<string>()
  #timer: TimerHandle | undefined
  #writing: Promise<void> | undefined
  #started: Promise<void> | undefined
  /** True once the datastore is open and loaded: only then can anything be written. */
  #open = false
  /** While loading, restoring entries is not a change to write back. */
  #loading = false
  #closing: Promise<void> | undefined
  #closed = false

  constructor (
    @inject(CLOCK) clock: Clock,
    @inject(PERSISTENT_PEERSTORE_CONFIG) config: PersistentPeerstoreConfig,
    @inject(PEERSTORE_DATASTORE) datastore: Datastore,
    @inject(LOGGER) logger: ComponentLogger
  ) {
    this.#clock = clock
    this.#loadClock = new ShiftedClock(clock)
    this.#memory = new MemoryPeerstore(this.#loadClock)
    this.#config = config
    this.#datastore = datastore
    this.#log = logger.forComponent('tswarm:host:peerstore')
  }

  // ---- SwarmService ----

  /** Opens the datastore (when owned) and loads every stored peer. Runs once; the swarm calls it at start. */
  async start (_network?: Network): Promise<void> {
    this.#started ??= this.#load()
    await this.#started
  }

  /** Writes what is pending; the swarm calls it once its connections closed. */
  async stop (): Promise<void> {
    await this.flush()
  }

  // ---- addresses ----

  addAddrs (peer: PeerId, addrs: readonly Multiaddr[], ttl: number): void {
    this.#memory.addAddrs(peer, addrs, ttl)
    if (ttl <= 0 || addrs.length === 0) return
    // the memory store's clock: set back while loading
    const now = this.#loadClock.now()
    const lifetimes = this.#indexOf(peer).lifetimes
    const expires = expiry(now, ttl)
    for (const a of addrs) {
      const key = ownKey(peer, a)
      if (key === undefined) continue
      const entry = lifetimes.get(key)
      if (entry === undefined || entry.expires <= now) lifetimes.set(key, { ttl, expires })
      else lifetimes.set(key, { ttl: Math.max(entry.ttl, ttl), expires: Math.max(entry.expires, expires) })
    }
    this.#changed(peer)
  }

  setAddrs (peer: PeerId, addrs: readonly Multiaddr[], ttl: number): void {
    this.#memory.setAddrs(peer, addrs, ttl)
    const lifetimes = this.#indexOf(peer).lifetimes
    const expires = expiry(this.#loadClock.now(), ttl)
    for (const a of addrs) {
      const key = ownKey(peer, a)
      if (key === undefined) continue
      if (ttl > 0) lifetimes.set(key, { ttl, expires })
      else lifetimes.delete(key)
    }
    this.#changed(peer)
  }

  updateAddrs (peer: PeerId, oldTtl: number, newTtl: number): void {
    this.#memory.updateAddrs(peer, oldTtl, newTtl)
    const index = this.#index.get(peer.toString())
    if (index === undefined) return
    const now = this.#loadClock.now()
    let changed = false
    for (const [key, entry] of index.lifetimes) {
      if (entry.expires <= now || (entry.ttl === oldTtl && newTtl <= 0)) {
        index.lifetimes.delete(key)
        changed = true
      } else if (entry.ttl === oldTtl) {
        index.lifetimes.set(key, { ttl: newTtl, expires: expiry(now, newTtl) })
        changed = true
      }
    }
    if (changed) this.#changed(peer)
  }

  addrs (peer: PeerId): Multiaddr[] {
    return this.#memory.addrs(peer)
  }

  clearAddrs (peer: PeerId): void {
    this.#memory.clearAddrs(peer)
    this.#index.get(peer.toString())?.lifetimes.clear()
    this.#changed(peer)
  }

  peersWithAddrs (): PeerId[] {
    return this.#memory.peersWithAddrs()
  }

  // ---- keys ----

  addPubKey (peer: PeerId, key: PublicKey): void {
    this.#memory.addPubKey(peer, key)
    this.#indexOf(peer).keyRecorded = true
    this.#changed(peer)
  }

  pubKey (peer: PeerId): PublicKey | undefined {
    return this.#memory.pubKey(peer)
  }

  // ---- protocols ----

  addProtocols (peer: PeerId, protocols: readonly string[]): void {
    this.#memory.addProtocols(peer, protocols)
    if (protocols.length > 0) this.#changed(peer)
  }

  setProtocols (peer: PeerId, protocols: readonly string[]): void {
    this.#memory.setProtocols(peer, protocols)
    this.#changed(peer)
  }

  removeProtocols (peer: PeerId, protocols: readonly string[]): void {
    this.#memory.removeProtocols(peer, protocols)
    if (protocols.length > 0) this.#changed(peer)
  }

  getProtocols (peer: PeerId): string[] {
    return this.#memory.getProtocols(peer)
  }

  supportsProtocols (peer: PeerId, protocols: readonly string[]): string[] {
    return this.#memory.supportsProtocols(peer, protocols)
  }

  // ---- metadata ----

  get (peer: PeerId, key: string): unknown {
    return this.#memory.get(peer, key)
  }

  put (peer: PeerId, key: string, value: unknown): void {
    this.#memory.put(peer, key, value)
    if (value === undefined) this.#index.get(peer.toString())?.metadataKeys.delete(key)
    else this.#indexOf(peer).metadataKeys.add(key)
    this.#changed(peer)
  }

  // ---- peers ----

  peers (): PeerId[] {
    return this.#memory.peers()
  }

  removePeer (peer: PeerId): void {
    this.#memory.removePeer(peer)
    this.#index.delete(peer.toString())
    this.#changed(peer)
  }

  // ---- persistence ----

  /** Peers changed since the last write. */
  get pendingPeers (): number {
    return this.#dirty.size
  }

  /**
   * Writes every pending change now and resolves when it is stored. Throws a PeerstoreWriteError when the datastore
   * refuses (the changes stay pending and are tried again). Before the swarm started the store, nothing can be
   * written: changes stay pending until then.
   */
  async flush (): Promise<void> {
    if (!this.#open) return
    this.#clearTimer()
    // a write in flight may have started before the latest changes: wait for it, then write the rest
    while (this.#writing !== undefined) await this.#writing.catch(() => {})
    if (this.#dirty.size === 0) return
    this.#writing = this.#write()
    try {
      await this.#writing
    } finally {
      this.#writing = undefined
    }
  }

  /** Writes what is pending, then closes the datastore when the peerstore opened it. Idempotent. */
  async close (): Promise<void> {
    this.#closing ??= this.#close()
    await this.#closing
  }

  async #close (): Promise<void> {
    await this.#started?.catch(() => {})
    try {
      if (this.#open) await this.flush()
    } finally {
      this.#closed = true
      this.#clearTimer()
      if (this.#open && this.#config.ownsDatastore) await closeDatastore(this.#datastore)
      this.#open = false
    }
  }

  #changed (peer: PeerId): void {
    if (this.#loading) return
    const key = peer.toString()
    this.#ids.set(key, peer)
    this.#dirty.add(key)
    this.#schedule()
  }

  /** Arms the write-behind: after `writeDelay`, or at once when many peers are pending. */
  #schedule (): void {
    if (!this.#open || this.#closed || this.#dirty.size === 0) return
    if (this.#dirty.size >= this.#config.maxPendingPeers) {
      this.#clearTimer()
      this.#background()
      return
    }
    this.#timer ??= this.#clock.setTimeout(() => {
      this.#timer = undefined
      this.#background()
    }, this.#config.writeDelay)
  }

  /** A write nobody awaits: a failure is logged, and its peers stay pending for the retry #write schedules. */
  #background (): void {
    this.flush().catch((err: unknown) => { this.#log.error('%s', describe(err)) })
  }

  async #write (): Promise<void> {
    const keys = [...this.#dirty]
    this.#dirty = new Set()
    const batch = this.#datastore.batch()
    let puts = 0
    let deletes = 0
    for (const key of keys) {
      const peer = this.#ids.get(key)
      if (peer === undefined) continue
      const entry = this.#encode(peer)
      const dsKey = new Key(`${this.#config.prefix}/${key}`)
      if (entry === undefined) {
        batch.delete(dsKey)
        deletes++
        this.#ids.delete(key)
      } else {
        batch.put(dsKey, PeerEntry.encode(entry))
        puts++
      }
    }
    try {
      await batch.commit()
    } catch (err) {
      for (const key of keys) this.#dirty.add(key)
      // retried after writeDelay; from close() the error is the caller's to see
      this.#schedule()
      throw new PeerstoreWriteError(`could not write ${keys.length} changed peers to the datastore: ${describe(err)}`, { cause: err })
    }
    this.#log.trace('wrote %d peers, deleted %d', puts, deletes)
  }

  /** The stored form of a peer, or undefined when nothing is known about it any more. */
  #encode (peer: PeerId): PeerEntry | undefined {
    // protocols need no index entry, so a peer may have none
    const index = this.#index.get(peer.toString()) ?? { lifetimes: new Map(), metadataKeys: new Set<string>(), keyRecorded: false }
    const now = this.#clock.now()
    const addrs: AddrEntry[] = []
    const live = new Set<string>()
    for (const addr of this.#memory.addrs(peer)) {
      const key = addrKey(addr)
      live.add(key)
      // the index follows every address call; an address it lacks would be a bug, so keep it rather than lose it
      const life = index.lifetimes.get(key) ?? { ttl: AddrTTL.RECENTLY_CONNECTED, expires: now + AddrTTL.RECENTLY_CONNECTED }
      addrs.push({ multiaddr: addr.bytes, ttl: life.ttl, expires: Number.isFinite(life.expires) ? life.expires : 0 })
    }
    // forget lifetimes of addresses the memory store dropped (expired, over its cap, or naming another peer)
    for (const key of index.lifetimes.keys()) if (!live.has(key)) index.lifetimes.delete(key)

    const metadata: MetadataEntry[] = []
    for (const key of index.metadataKeys) {
      const encoded = encodeValue(key, this.#memory.get(peer, key))
      if (encoded !== undefined) metadata.push(encoded)
    }
    const protocols = this.#memory.getProtocols(peer)
    const pubKey = index.keyRecorded ? this.#memory.pubKey(peer) : undefined
    if (addrs.length === 0 && protocols.length === 0 && pubKey === undefined) {
      // values that cannot be stored keep the index entry alive, but there is nothing to write
      if (index.metadataKeys.size === 0) this.#index.delete(peer.toString())
      if (metadata.length === 0) return undefined
    }
    return {
      version: ENTRY_VERSION,
      addrs,
      publicKey: pubKey === undefined ? undefined : publicKeyToProtobuf(pubKey),
      protocols,
      metadata
    }
  }

  async #load (): Promise<void> {
    if (this.#config.ownsDatastore) {
      try {
        await openDatastore(this.#datastore)
      } catch (err) {
        throw new PeerstoreOpenError(`could not open the peerstore datastore: ${describe(err)}; ` +
          'another process may hold the same path (LevelDB allows one at a time)', { cause: err })
      }
    }
    let loaded = 0
    let skipped = 0
    this.#loading = true
    try {
      for await (const { key, value } of this.#datastore.query({ prefix: `${this.#config.prefix}/` })) {
        let peer: PeerId
        let rewrite: boolean
        try {
          peer = peerIdFromString(key.baseNamespace())
          rewrite = this.#restore(peer, PeerEntry.decode(value))
          loaded++
        } catch (err) {
          // one unreadable entry must not cost every other peer
          skipped++
          this.#log.error('skipping unreadable peerstore entry %s: %e', key.toString(), err)
          continue
        }
        if (rewrite) {
          this.#ids.set(peer.toString(), peer)
          this.#dirty.add(peer.toString())
        }
      }
    } catch (err) {
      if (this.#config.ownsDatastore) await closeDatastore(this.#datastore).catch(() => {})
      throw new PeerstoreOpenError(`could not read the peerstore datastore: ${describe(err)}`, { cause: err })
    } finally {
      this.#loading = false
      this.#loadClock.offset = 0
    }
    this.#open = true
    this.#log('loaded %d peers (%d unreadable entries skipped)', loaded, skipped)
    // changes made before the start, and entries the load rewrote
    this.#schedule()
  }

  /** Puts a stored entry into memory; true when memory now differs from it, so that it is written back. */
  #restore (peer: PeerId, entry: PeerEntry): boolean {
    if (entry.version !== ENTRY_VERSION) throw new Error(`entry version ${entry.version} is not ${ENTRY_VERSION}`)
    const now = this.#clock.now()
    let rewrite = false
    for (const a of entry.addrs) {
      const addr = multiaddr(a.multiaddr)
      if (a.ttl === AddrTTL.PERMANENT) {
        this.addAddrs(peer, [addr], AddrTTL.PERMANENT)
      } else if (a.ttl >= AddrTTL.CONNECTED) {
        // a restart ends every connection: this is what go's swarm does when a peer disconnects
        this.addAddrs(peer, [addr], AddrTTL.RECENTLY_CONNECTED)
        rewrite = true
      } else if (a.expires <= now) {
        rewrite = true
      } else {
        // added at (expires - ttl) on a clock set back that far, the address gets exactly its stored TTL and expiry
        this.#loadClock.offset = (a.expires - a.ttl) - now
        try {
          this.addAddrs(peer, [addr], a.ttl)
        } finally {
          this.#loadClock.offset = 0
        }
      }
    }
    if (entry.publicKey !== undefined) this.addPubKey(peer, publicKeyFromProtobuf(entry.publicKey))
    if (entry.protocols.length > 0) this.setProtocols(peer, entry.protocols)
    for (const m of entry.metadata) this.put(peer, m.key, decodeValue(m))
    return rewrite
  }

  #indexOf (peer: PeerId): PeerIndex {
    const key = peer.toString()
    let index = this.#index.get(key)
    if (index === undefined) {
      index = { lifetimes: new Map(), metadataKeys: new Set(), keyRecorded: false }
      this.#index.set(key, index)
    }
    return index
  }

  #clearTimer (): void {
    if (this.#timer === undefined) return
    this.#clock.clearTimeout(this.#timer)
    this.#timer = undefined
  }
}

/**
 * The key MemoryPeerstore files `addr` under for `peer`, or undefined when it ignores the address: one whose last
 * component names another peer, or that is nothing but `/p2p/<peer>`.
 */
function ownKey (peer: PeerId, addr: Multiaddr): string | undefined {
  const components = addr.getComponents()
  const last = components.at(-1)
  if (last?.name !== 'p2p') return components.length > 0 ? addrKey(addr) : undefined
  if (components.length === 1 || last.value === undefined) return undefined
  try {
    if (!peerIdFromString(last.value).equals(peer)) return undefined
  } catch {
    return undefined
  }
  return addrKey(stripPeerId(addr))
}

/** As MemoryPeerstore: TTLs from CONNECTED up never expire. */
function expiry (now: number, ttl: number): number {
  return ttl >= AddrTTL.CONNECTED ? Infinity : now + ttl
}

function encodeValue (key: string, value: unknown): MetadataEntry | undefined {
  if (value instanceof Uint8Array) return { key, kind: MetadataEntry.Kind.BYTES, value }
  if (typeof value === 'string') return { key, kind: MetadataEntry.Kind.STRING, value: utf8.encode(value) }
  let json: string | undefined
  try {
    json = JSON.stringify(value)
  } catch {
    json = undefined
  }
  // functions, symbols, bigints and cycles cannot be stored: they stay in memory only
  if (json === undefined) return undefined
  return { key, kind: MetadataEntry.Kind.JSON, value: utf8.encode(json) }
}

function decodeValue (entry: MetadataEntry): unknown {
  switch (entry.kind) {
    case MetadataEntry.Kind.BYTES: return entry.value
    case MetadataEntry.Kind.STRING: return utf8Decoder.decode(entry.value)
    default: return JSON.parse(utf8Decoder.decode(entry.value))
  }
}

/** Datastores that need opening (LevelDB) have `open()`; the interface does not declare it. */
async function openDatastore (ds: Datastore): Promise<void> {
  const open = (ds as Datastore & { open?: () => Promise<void> }).open
  if (typeof open === 'function') await open.call(ds)
}

async function closeDatastore (ds: Datastore): Promise<void> {
  const close = (ds as Datastore & { close?: () => Promise<void> }).close
  if (typeof close === 'function') await close.call(ds)
}

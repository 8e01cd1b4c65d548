import { peerIdFromString } from '@libp2p/peer-id'
import { inject, injectable } from '../di.js'
import { InvalidOptionError, PeerIdMismatchError } from '../errors.js'
import { peerIdOf } from '../identity.js'
import { AddrTTL } from '../interfaces/peerstore.js'
import { CLOCK } from '../tokens.js'
import type { Clock } from '../interfaces/clock.js'
import type { Peerstore } from '../interfaces/peerstore.js'
import type { PeerId, PublicKey } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * Most addresses kept per peer. Other peers tell us addresses (identify, DHT, gossip), so without a bound a remote
 * could grow our memory without limit; no honest peer has anywhere near this many. Beyond it, the addresses that
 * would expire first are dropped.
 */
export const MAX_ADDRS_PER_PEER = 1000

/**
 * Most protocols kept per peer, for the same reason: identify fills the list from what the remote claims. Protocols
 * beyond it are ignored.
 */
export const MAX_PROTOCOLS_PER_PEER = 1024

const P2P_CODE = 421

interface AddrEntry {
  addr: Multiaddr
  /** The TTL it was given, so that updateAddrs can find it by TTL. */
  ttl: number
  /** Milliseconds since the epoch; Infinity for CONNECTED and PERMANENT. */
  expires: number
}

interface PeerRecord {
  id: PeerId
  /** Keyed by the address bytes, so that two spellings of one address are one entry. */
  addrs: Map<string, AddrEntry>
  pubKey?: PublicKey
  /** A Set keeps insertion order and drops duplicates. */
  protocols: Set<string>
  metadata: Map<string, unknown>
}

/**
 * The default peerstore: everything in memory, lost on exit. Address lifetimes follow go-libp2p: adding never
 * shortens an address's life, setting does, and TTLs from `AddrTTL.CONNECTED` up never expire. Expired addresses
 * are dropped when next read, so the store needs no timers.
 *
 * Bounded per peer by {@link MAX_ADDRS_PER_PEER} and {@link MAX_PROTOCOLS_PER_PEER}.
 */
@injectable()
export class MemoryPeerstore implements Peerstore {
  readonly #clock: Clock
  readonly #peers = new Map<string, PeerRecord>()

  constructor (@inject(CLOCK) clock: Clock) {
    this.#clock = clock
  }

  addAddrs (peer: PeerId, addrs: readonly Multiaddr[], ttl: number): void {
    checkTtl(ttl)
    if (ttl <= 0) return
    const now = this.#clock.now()
    const expires = expiry(now, ttl)
    let rec: PeerRecord | undefined
    for (const input of addrs) {
      const addr = ownAddr(peer, input)
      if (addr === undefined) continue
      rec ??= this.#record(peer)
      const key = addrKey(addr)
      const entry = rec.addrs.get(key)
      if (entry === undefined || entry.expires <= now) {
        rec.addrs.set(key, { addr, ttl, expires })
      } else {
        // go-libp2p keeps the larger TTL too, so that updateAddrs(CONNECTED, …) still finds an address that was
        // also learned in passing while connected.
        entry.ttl = Math.max(entry.ttl, ttl)
        entry.expires = Math.max(entry.expires, expires)
      }
    }
    if (rec !== undefined) this.#bound(rec, now)
  }

  setAddrs (peer: PeerId, addrs: readonly Multiaddr[], ttl: number): void {
    checkTtl(ttl)
    const now = this.#clock.now()
    const expires = expiry(now, ttl)
    const rec = ttl > 0 ? this.#record(peer) : this.#peers.get(peer.toString())
    if (rec === undefined) return
    for (const input of addrs) {
      const addr = ownAddr(peer, input)
      if (addr === undefined) continue
      if (ttl > 0) rec.addrs.set(addrKey(addr), { addr, ttl, expires })
      else rec.addrs.delete(addrKey(addr))
    }
    this.#bound(rec, now)
    this.#dropIfEmpty(rec)
  }

  updateAddrs (peer: PeerId, oldTtl: number, newTtl: number): void {
    checkTtl(oldTtl)
    checkTtl(newTtl)
    const rec = this.#peers.get(peer.toString())
    if (rec === undefined) return
    const now = this.#clock.now()
    const expires = expiry(now, newTtl)
    for (const [key, entry] of rec.addrs) {
      if (entry.expires <= now) {
        rec.addrs.delete(key)
      } else if (entry.ttl === oldTtl) {
        if (newTtl <= 0) {
          rec.addrs.delete(key)
        } else {
          entry.ttl = newTtl
          entry.expires = expires
        }
      }
    }
    this.#dropIfEmpty(rec)
  }

  addrs (peer: PeerId): Multiaddr[] {
    const rec = this.#peers.get(peer.toString())
    if (rec === undefined) return []
    this.#expire(rec, this.#clock.now())
    const out = [...rec.addrs.values()].map(e => e.addr)
    this.#dropIfEmpty(rec)
    return out
  }

  clearAddrs (peer: PeerId): void {
    const rec = this.#peers.get(peer.toString())
    if (rec === undefined) return
    rec.addrs.clear()
    this.#dropIfEmpty(rec)
  }

  peersWithAddrs (): PeerId[] {
    const now = this.#clock.now()
    const out: PeerId[] = []
    for (const rec of [...this.#peers.values()]) {
      this.#expire(rec, now)
      if (rec.addrs.size > 0) out.push(rec.id)
      else this.#dropIfEmpty(rec)
    }
    return out
  }

  addPubKey (peer: PeerId, key: PublicKey): void {
    const actual = peerIdOf(key)
    if (!actual.equals(peer)) throw new PeerIdMismatchError(peer, actual)
    this.#record(peer).pubKey = key
  }

  /** The peer's public key: the one recorded, else the one embedded in its peer ID (Ed25519, secp256k1). */
  pubKey (peer: PeerId): PublicKey | undefined {
    return this.#peers.get(peer.toString())?.pubKey ?? peer.publicKey
  }

  addProtocols (peer: PeerId, protocols: readonly string[]): void {
    if (protocols.length === 0) return
    addBounded(this.#record(peer).protocols, protocols)
  }

  setProtocols (peer: PeerId, protocols: readonly string[]): void {
    const rec = protocols.length > 0 ? this.#record(peer) : this.#peers.get(peer.toString())
    if (rec === undefined) return
    rec.protocols.clear()
    addBounded(rec.protocols, protocols)
    this.#dropIfEmpty(rec)
  }

  removeProtocols (peer: PeerId, protocols: readonly string[]): void {
    const rec = this.#peers.get(peer.toString())
    if (rec === undefined) return
    for (const p of protocols) rec.protocols.delete(p)
    this.#dropIfEmpty(rec)
  }

  getProtocols (peer: PeerId): string[] {
    return [...(this.#peers.get(peer.toString())?.protocols ?? [])]
  }

  supportsProtocols (peer: PeerId, protocols: readonly string[]): string[] {
    const known = this.#peers.get(peer.toString())?.protocols
    if (known === undefined) return []
    return protocols.filter(p => known.has(p))
  }

  get (peer: PeerId, key: string): unknown {
    return this.#peers.get(peer.toString())?.metadata.get(key)
  }

  /** Stores a value; storing `undefined` removes the key. */
  put (peer: PeerId, key: string, value: unknown): void {
    if (value === undefined) {
      const rec = this.#peers.get(peer.toString())
      if (rec === undefined) return
      rec.metadata.delete(key)
      this.#dropIfEmpty(rec)
      return
    }
    this.#record(peer).metadata.set(key, value)
  }

  peers (): PeerId[] {
    const now = this.#clock.now()
    const out: PeerId[] = []
    for (const rec of [...this.#peers.values()]) {
      this.#expire(rec, now)
      if (this.#dropIfEmpty(rec)) continue
      out.push(rec.id)
    }
    return out
  }

  removePeer (peer: PeerId): void {
    this.#peers.delete(peer.toString())
  }

  #record (peer: PeerId): PeerRecord {
    const key = peer.toString()
    let rec = this.#peers.get(key)
    if (rec === undefined) {
      rec = { id: peer, addrs: new Map(), protocols: new Set(), metadata: new Map() }
      this.#peers.set(key, rec)
    }
    return rec
  }

  #expire (rec: PeerRecord, now: number): void {
    for (const [key, entry] of rec.addrs) {
      if (entry.expires <= now) rec.addrs.delete(key)
    }
  }

  /** Drops expired addresses, then, over the cap, those that expire first. */
  #bound (rec: PeerRecord, now: number): void {
    if (rec.addrs.size <= MAX_ADDRS_PER_PEER) return
    this.#expire(rec, now)
    const excess = rec.addrs.size - MAX_ADDRS_PER_PEER
    if (excess <= 0) return
    // Compare rather than subtract: Infinity - Infinity is NaN.
    const soonest = [...rec.addrs].sort((a, b) => a[1].expires < b[1].expires ? -1 : a[1].expires > b[1].expires ? 1 : 0).slice(0, excess)
    for (const [key] of soonest) rec.addrs.delete(key)
  }

  /** Forgets a peer nothing is known about any more, so that peers() lists only peers with something. */
  #dropIfEmpty (rec: PeerRecord): boolean {
    if (rec.addrs.size > 0 || rec.pubKey !== undefined || rec.protocols.size > 0 || rec.metadata.size > 0) return false
    this.#peers.delete(rec.id.toString())
    return true
  }
}

function checkTtl (ttl: number): void {
  if (Number.isNaN(ttl)) throw new InvalidOptionError('ttl', ttl, 'a number of milliseconds (see AddrTTL)')
}

// TTLs of CONNECTED and above never expire; adding them to now would also lose precision past 2^53.
function expiry (now: number, ttl: number): number {
  return ttl >= AddrTTL.CONNECTED ? Infinity : now + ttl
}

/** Dedup key: the binary form, which is canonical where the text form is not (e.g. a /p2p value as CID or base58). */
function addrKey (addr: Multiaddr): string {
  return Buffer.from(addr.bytes.buffer, addr.bytes.byteOffset, addr.bytes.byteLength).toString('base64')
}

/**
 * `addr` without a trailing `/p2p/<peer>`, or undefined when it names another peer (as go-libp2p does: only the last
 * component counts, so a relay address `/…/p2p/<relay>/p2p-circuit` is kept as is) or is nothing but `/p2p/<peer>`.
 */
function ownAddr (peer: PeerId, addr: Multiaddr): Multiaddr | undefined {
  const components = addr.getComponents()
  const last = components.at(-1)
  if (last?.code !== P2P_CODE) return components.length > 0 ? addr : undefined
  if (last.value === undefined || !samePeer(peer, last.value)) return undefined
  const bare = addr.decapsulateCode(P2P_CODE)
  return bare.getComponents().length > 0 ? bare : undefined
}

function samePeer (peer: PeerId, value: string): boolean {
  if (value === peer.toString()) return true
  // The value may be spelled as a CID rather than base58.
  try {
    return peerIdFromString(value).equals(peer)
  } catch {
    return false
  }
}

function addBounded (set: Set<string>, protocols: readonly string[]): void {
  for (const p of protocols) {
    if (set.size >= MAX_PROTOCOLS_PER_PEER) return
    set.add(p)
  }
}

import type { PeerId, PublicKey } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * Address lifetimes in milliseconds, with go-libp2p's meanings. `PERMANENT` and `CONNECTED` never expire; the
 * swarm moves a peer's addresses from `CONNECTED` to `RECENTLY_CONNECTED` when its last connection closes.
 */
export const AddrTTL = Object.freeze({
  /** Addresses we learned in passing (e.g. resolved from DNS for one dial). */
  TEMP: 2 * 60 * 1000,
  PROVIDER: 30 * 60 * 1000,
  RECENTLY_CONNECTED: 15 * 60 * 1000,
  OWN_OBSERVED: 30 * 60 * 1000,
  /** Addresses of a peer we are connected to. */
  CONNECTED: Number.MAX_SAFE_INTEGER - 1,
  /** Addresses that never expire (bootstrap peers, addresses the user gave). */
  PERMANENT: Number.MAX_SAFE_INTEGER
})

/**
 * What the swarm knows of other peers: addresses with lifetimes, public keys, protocols and metadata
 * (go-libp2p's peerstore.Peerstore). Token: `PEERSTORE`. Methods are synchronous so that the dial path never waits
 * on storage; persistent implementations write behind.
 */
export interface Peerstore {
  /** Adds addresses; an address already known keeps the later of its old and new expiry. */
  addAddrs(peer: PeerId, addrs: readonly Multiaddr[], ttl: number): void
  /** Sets addresses to exactly this lifetime; `ttl <= 0` removes them. */
  setAddrs(peer: PeerId, addrs: readonly Multiaddr[], ttl: number): void
  /** Gives every address of `peer` whose lifetime is `oldTtl` the lifetime `newTtl`, counted from now. */
  updateAddrs(peer: PeerId, oldTtl: number, newTtl: number): void
  /** The peer's unexpired addresses. */
  addrs(peer: PeerId): Multiaddr[]
  clearAddrs(peer: PeerId): void
  /** Peers with at least one unexpired address. */
  peersWithAddrs(): PeerId[]

  /** Records a peer's public key; throws a PeerIdMismatchError when the key does not belong to `peer`. */
  addPubKey(peer: PeerId, key: PublicKey): void
  pubKey(peer: PeerId): PublicKey | undefined

  addProtocols(peer: PeerId, protocols: readonly string[]): void
  setProtocols(peer: PeerId, protocols: readonly string[]): void
  removeProtocols(peer: PeerId, protocols: readonly string[]): void
  getProtocols(peer: PeerId): string[]
  /** The subset of `protocols` the peer supports, in the order given. */
  supportsProtocols(peer: PeerId, protocols: readonly string[]): string[]

  get(peer: PeerId, key: string): unknown
  put(peer: PeerId, key: string, value: unknown): void

  /** Every peer the store holds anything about. */
  peers(): PeerId[]
  /** Forgets everything about a peer. */
  removePeer(peer: PeerId): void
  /** Releases timers and storage handles. */
  close?(): Promise<void>
}

import type { Direction } from './gater.js'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** A reservation held while a connection or stream lives; `done()` releases it (idempotent). */
export interface ResourceScope {
  done(): void
}

/** A connection's reservation. `setPeer` charges it to the peer once known, and throws a ResourceLimitError over a limit. */
export interface ConnectionScope extends ResourceScope {
  setPeer(peer: PeerId): void
}

/** A stream's reservation. `setProtocol` charges it to the protocol, and throws a ResourceLimitError over a limit. */
export interface StreamScope extends ResourceScope {
  setProtocol(protocol: string): void
}

/** What is in use now, for tests, metrics and diagnostics. */
export interface ResourceStats {
  connections: { total: number, inbound: number, outbound: number }
  streams: { total: number, inbound: number, outbound: number }
  /** Bytes reserved for stream buffers. */
  memory: number
}

/**
 * Caps what the swarm holds (go-libp2p's network.ResourceManager, reduced to what tswarm tracks). Token:
 * `RESOURCE_MANAGER`. The swarm opens a connection scope before dialing and at accept (before any handshake), and
 * a stream scope for every stream; a refusal throws a ResourceLimitError and nothing already established is touched.
 */
export interface ResourceManager {
  /** Throws a ResourceLimitError when the connection would exceed a limit. */
  openConnection(direction: Direction, remoteAddr: Multiaddr): ConnectionScope
  /** Throws a ResourceLimitError when the stream would exceed a limit. */
  openStream(peer: PeerId, direction: Direction): StreamScope
  stat(): ResourceStats
}

import type { Conn, Connectedness, Stream } from './connection.js'
import type { Notifiee } from './notifiee.js'
import type { Peerstore } from './peerstore.js'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** The state of one black-hole counter (go's blackHoleInfo), for metrics. */
export interface BlackHoleCounterStats {
  name: string
  state: 'probing' | 'allowed' | 'blocked'
  /** Successes over the window. */
  successFraction: number
  /** Requests still refused before the next probe goes through (0 unless blocked). */
  nextRequestAllowedAfter: number
}

/**
 * The swarm as seen by services (go-libp2p's network.Network, the read side plus closing): what a gater, a metrics
 * exporter or a connection manager needs, without depending on the Swarm class.
 */
export interface Network {
  readonly localPeer: PeerId
  readonly peerstore: Peerstore
  conns(): Conn[]
  connsToPeer(peer: PeerId): Conn[]
  peers(): PeerId[]
  connectedness(peer: PeerId): Connectedness
  closePeer(peer: PeerId): Promise<void>
  listenAddresses(): Multiaddr[]
  notify(notifiee: Notifiee): void
  stopNotify(notifiee: Notifiee): void
  /** Every open stream, for gauges (streams by protocol). */
  streams(): Stream[]
  /** The black-hole counters' state, one entry per enabled class. */
  blackHoleStats(): BlackHoleCounterStats[]
}

/**
 * Something that runs alongside a swarm (multi-binding `SWARM_SERVICE`): started once the swarm is assembled and
 * its transports started, before it listens; stopped when the swarm closes, after its connections closed.
 */
export interface SwarmService {
  /** Shown in errors. */
  readonly name?: string
  start?(network: Network): void | Promise<void>
  stop?(): void | Promise<void>
}

import type { Conn } from './connection.js'
import type { Multiaddr } from '@multiformats/multiaddr'

/** Swarm event signals, as go-libp2p's network.Notifiee. Every method is optional. */
export interface Notifiee {
  /** A listener opened on `addr`. */
  listen?(addr: Multiaddr): void
  /** A listener on `addr` closed. */
  listenClose?(addr: Multiaddr): void
  /**
   * A connection was added. For a given connection this is always delivered before `disconnected`. Handlers may call
   * back into the swarm (close the connection, dial, open streams): delivery is asynchronous, so nothing deadlocks.
   */
  connected?(conn: Conn): void
  /** A connection closed; it is the same object `connected` received. */
  disconnected?(conn: Conn): void
}

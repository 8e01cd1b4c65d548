import type { Conn } from './connection.js'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** The two ends of a connection as known before or after the security handshake. */
export interface ConnectionAddrs {
  readonly localAddr?: Multiaddr
  readonly remoteAddr: Multiaddr
}

export type Direction = 'inbound' | 'outbound'

/** A gate's answer: `true` allows, `false` denies. Hooks may answer synchronously or with a promise. */
export type GateResult = boolean | Promise<boolean>

/**
 * Decides which connections the swarm makes and keeps (go-libp2p's connmgr.ConnectionGater).
 *
 * Every hook is optional; a missing hook allows. Several gaters may be registered (multi-binding `CONNECTION_GATER`):
 * the first one that denies wins and the refusal names it. A hook that throws counts as a denial.
 *
 * Where each hook runs:
 * - `interceptPeerDial` in `dialPeer`, before any address is considered.
 * - `interceptAddrDial` for every address about to be dialed.
 * - `interceptAccept` for every inbound raw connection, before any handshake byte is read. Transports that secure
 *   the connection themselves (QUIC) MUST still cause this hook to run, through the upgrader.
 * - `interceptSecured` after the security handshake, in both directions, once the remote peer is known.
 * - `interceptUpgraded` when the multiplexed connection is about to join the swarm.
 */
export interface ConnectionGater {
  /** A name shown in refusal errors, so a user can tell one gater from another. */
  readonly name?: string
  interceptPeerDial?(peer: PeerId): GateResult
  interceptAddrDial?(peer: PeerId, addr: Multiaddr): GateResult
  interceptAccept?(addrs: ConnectionAddrs): GateResult
  interceptSecured?(direction: Direction, peer: PeerId, addrs: ConnectionAddrs): GateResult
  interceptUpgraded?(conn: Conn): GateResult
  /**
   * Called once for every inbound connection that reached the accept gate, when its handshakes ended: `upgraded`
   * true when it became a secured, multiplexed connection, false when it was refused or failed. Gaters that count
   * pending inbound connections release them here. Called on every gater, whether or not this one was asked.
   */
  inboundSettled?(addrs: ConnectionAddrs, upgraded: boolean): void
}

/** The gate points, as named in refusal errors. */
export type GateHook = 'interceptPeerDial' | 'interceptAddrDial' | 'interceptAccept' | 'interceptSecured' | 'interceptUpgraded'

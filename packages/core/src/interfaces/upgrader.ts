import type { Direction } from './gater.js'
import type { MuxedConnection } from './transport.js'
import type { MultiaddrConnection, PeerId, StreamMuxerFactory } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export type { MultiaddrConnection }

export interface UpgradeOptions {
  /** Aborts the upgrade; the raw connection is then closed. */
  signal?: AbortSignal
  /** The transport's name, recorded on the connection. */
  transport: string
  /** Our end of the raw connection, where the transport knows it. */
  localAddr?: Multiaddr
}

export interface OutboundUpgradeOptions extends UpgradeOptions {
  /** The peer we dialed: any other peer on the far end is refused with a PeerIdMismatchError. */
  remotePeer?: PeerId
}

export interface AdoptOptions extends UpgradeOptions {
  direction: Direction
  /** The peer the transport's own handshake authenticated. */
  remotePeer: PeerId
  /** The peer we dialed, for outbound connections. */
  expectedPeer?: PeerId
  /** The transport's native multiplexer over the connection. */
  muxerFactory: StreamMuxerFactory
  /** The security the transport applied, e.g. `tls` for QUIC. */
  security: string
  /** When the transport's own handshake began, on the swarm's clock; gives the connection's handshake duration. */
  handshakeStartedAt?: number
}

/**
 * Turns raw connections into secured, multiplexed ones (go-libp2p's upgrader). Token: `UPGRADER`.
 *
 * The default runs multistream-select `/noise`, Noise, the muxer (Noise's early negotiation when it returns one,
 * else multistream-select `/yamux/1.0.0`), and Yamux; it applies the gater's accept and secured hooks and an upgrade
 * timeout.
 */
export interface Upgrader {
  upgradeOutbound(maConn: MultiaddrConnection, options: OutboundUpgradeOptions): Promise<MuxedConnection>
  upgradeInbound(maConn: MultiaddrConnection, options: UpgradeOptions): Promise<MuxedConnection>
  /**
   * For transports that secure and multiplex on their own (QUIC): runs the accept (inbound) and secured gates the
   * transport skipped and wraps the connection, with no handshake of ours.
   */
  adoptSecured(maConn: MultiaddrConnection, options: AdoptOptions): Promise<MuxedConnection>
}

import type { Direction } from './gater.js'
import type { Upgrader } from './upgrader.js'
import type { AbortOptions, PeerId, PublicKey, Stream as MuxedStream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export type { MuxedStream }

/**
 * A secured, multiplexed connection as a transport hands it to the swarm (go-libp2p's transport.CapableConn).
 * The swarm wraps it into a {@link Conn}; users never see this type unless they write a transport.
 */
export interface MuxedConnection {
  readonly direction: Direction
  readonly localPeer: PeerId
  readonly remotePeer: PeerId
  readonly remotePublicKey: PublicKey
  /** Our end of the connection, where the transport knows it. */
  readonly localAddr: Multiaddr | undefined
  readonly remoteAddr: Multiaddr
  /** The transport's name, e.g. `tcp`. */
  readonly transport: string
  /** The security protocol, e.g. `/noise`. */
  readonly security: string
  /** The stream multiplexer, e.g. `/yamux/1.0.0`. */
  readonly muxer: string
  /**
   * True when the muxer was agreed inside the security handshake (Noise's extensions) rather than by a
   * multistream-select round of its own (go-libp2p's `UsedEarlyMuxerNegotiation`); absent where the transport
   * brings its own muxer (QUIC).
   */
  readonly usedEarlyMuxerNegotiation?: boolean
  readonly status: 'open' | 'closing' | 'closed'
  /** How long the handshakes took (ms), from the raw connection being up to this connection being ready. */
  readonly handshakeDuration?: number
  /**
   * A muxer-level ping's round trip (ms), where the muxer has one (Yamux; QUIC keeps itself alive natively). The swarm
   * uses it to notice peers that vanished without closing.
   */
  ping?(options?: AbortOptions): Promise<number>
  /** Opens a new outbound stream. */
  openStream(options?: AbortOptions): Promise<MuxedStream>
  /**
   * Sets the handler for inbound streams. Streams that arrived before a handler was set are buffered and delivered
   * as soon as it is set, so none is lost between the upgrade and the swarm taking the connection.
   */
  onStream(handler: (stream: MuxedStream) => void): void
  /** Called once when the connection has closed, with the error that closed it if any. */
  onClose(handler: (err?: Error) => void): void
  /** Closes gracefully: streams are closed, then the connection. */
  close(options?: AbortOptions): Promise<void>
  /** Closes at once: streams are reset and the socket destroyed. */
  abort(err: Error): void
}

export interface TransportDialOptions {
  /** Aborts the dial; the transport MUST release every resource it took when this fires. */
  signal: AbortSignal
  /** Secures and multiplexes the raw connection; transports call it themselves, as in go-libp2p. */
  upgrader: Upgrader
  /** The peer we expect on the other end; the upgrader refuses any other. */
  remotePeer?: PeerId
  /**
   * Called once when the raw connection is up and the handshakes begin (go's UpdateKindHandshakeProgressed), so
   * the dialer can give a connected TCP socket time to finish instead of starting more dials. Optional to call.
   */
  onProgress?(): void
}

export interface TransportListenOptions {
  upgrader: Upgrader
  /** Receives every inbound connection that upgraded and passed the accept and secured gates. */
  onConnection(conn: MuxedConnection): void
  /** Receives the error of every inbound connection that failed before reaching `onConnection`. */
  onError?(err: Error): void
}

/** One bound listening socket (or socket group) of a transport. */
export interface Listener {
  /** The addresses actually bound: port 0 is replaced by the real port. */
  getAddrs(): Multiaddr[]
  /** Called once when the listener has closed, whether by `close()` or by an error. */
  onClose(handler: (err?: Error) => void): void
  /**
   * Stops accepting. Whether connections it accepted stay open depends on the transport: TCP's do (the swarm closes
   * them itself); QUIC's share the listener's UDP socket and close with it.
   */
  close(): Promise<void>
}

/**
 * A way of making raw connections (go-libp2p's transport.Transport). Registered with the multi-binding `TRANSPORT`.
 *
 * Implementations MUST:
 * - call `upgrader.upgradeOutbound`/`upgradeInbound` on every raw connection (or `upgrader.adoptSecured` when the
 *   transport secures and multiplexes itself), so the swarm's gates and timeouts apply to every connection;
 * - release every socket and timer when a dial is aborted, a listener closed, or `close()` called.
 */
export interface Transport {
  /** Short name used in stats, errors and metric labels, e.g. `tcp`. */
  readonly name: string
  /** The multiaddr protocol names this transport owns, e.g. `['tcp']`; two transports may not share one. */
  readonly protocols: readonly string[]
  canDial(addr: Multiaddr): boolean
  canListen(addr: Multiaddr): boolean
  dial(addr: Multiaddr, options: TransportDialOptions): Promise<MuxedConnection>
  listen(addr: Multiaddr, options: TransportListenOptions): Promise<Listener>
  /** Acquires shared resources; called once by the swarm before first use. */
  start?(): void | Promise<void>
  /** Releases every resource; called once by `Swarm.close()`. */
  close?(): Promise<void>
}

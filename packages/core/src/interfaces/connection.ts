import type { Direction } from './gater.js'
import type { AbortOptions, PeerId, PublicKey } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Duplex } from 'node:stream'

/** Whether we hold a usable connection to a peer. */
export type Connectedness = 'notConnected' | 'connected'

export type ConnStatus = 'open' | 'closing' | 'closed'

export interface ConnStats {
  direction: Direction
  /** When the connection joined the swarm, in ms since the epoch (the swarm's clock). */
  opened: number
  numStreams: number
  transport: string
  security: string
  muxer: string
  /** The muxer was agreed inside the security handshake, saving a round trip; absent on QUIC (see MuxedConnection). */
  usedEarlyMuxerNegotiation?: boolean
  /** How long the security and muxer handshakes took (ms), where the transport could tell. */
  handshakeDuration?: number
}

export interface StreamStats {
  direction: Direction
  /** When the stream opened, in ms since the epoch (the swarm's clock). */
  opened: number
  protocol: string
}

export interface NewStreamOptions extends AbortOptions {
  /**
   * Protocols to negotiate with multistream-select, in order of preference. When given, the stream comes back with
   * `protocol` set to the one the remote accepted; when omitted, the stream is raw.
   */
  protocols?: readonly string[]
}

/** A connection to a peer, owned by the swarm (go-libp2p's network.Conn). */
export interface Conn {
  /** Unique within the swarm. */
  readonly id: string
  readonly localPeer: PeerId
  readonly remotePeer: PeerId
  readonly remotePublicKey: PublicKey
  readonly localMultiaddr: Multiaddr | undefined
  readonly remoteMultiaddr: Multiaddr
  readonly status: ConnStatus
  stat(): ConnStats
  newStream(options?: NewStreamOptions): Promise<Stream>
  getStreams(): Stream[]
  /** Closes the connection and every stream on it. Idempotent. */
  close(): Promise<void>
}

export type StreamStatus = 'open' | 'closing' | 'closed' | 'reset'

/** A deadline: an absolute time (ms since the epoch or a Date), or `null` for none. */
export type Deadline = number | Date | null

/**
 * A bidirectional byte stream over a connection (go-libp2p's network.Stream), with backpressure both ways.
 *
 * - Read with `for await (const chunk of stream)` or `await stream.read()` (`null` at end of stream). Reading is
 *   pull-based: while nobody reads, the remote is told to stop sending once the local buffer is full.
 * - Write with `await stream.write(bytes)`: it resolves once the bytes are accepted, waiting while the remote is
 *   not reading.
 * - `closeWrite()` half-closes (the remote reads end of stream), `closeRead()` stops reading, `close()` does both
 *   and resolves once our side is done, `reset()` aborts both directions at once.
 * - Deadlines make pending and later reads or writes fail with a DeadlineExceededError once passed.
 * - `toDuplex()` gives a Node.js Duplex for `stream.pipeline`.
 */
export interface Stream extends AsyncIterable<Uint8Array> {
  /** `<peer>-<conn>-<stream>`, unique within the swarm. */
  readonly id: string
  readonly conn: Conn
  readonly direction: Direction
  /** The negotiated protocol, `''` until one is set. */
  readonly protocol: string
  readonly status: StreamStatus
  setProtocol(protocol: string): void
  read(options?: AbortOptions): Promise<Uint8Array | null>
  write(data: Uint8Array | string, options?: AbortOptions): Promise<void>
  closeWrite(options?: AbortOptions): Promise<void>
  closeRead(): Promise<void>
  close(options?: AbortOptions): Promise<void>
  reset(err?: Error): void
  setDeadline(deadline: Deadline): void
  setReadDeadline(deadline: Deadline): void
  setWriteDeadline(deadline: Deadline): void
  stat(): StreamStats
  toDuplex(): Duplex
}

/** Receives every inbound stream. Errors it throws or rejects with reset the stream. */
export type StreamHandler = (stream: Stream) => void | Promise<void>

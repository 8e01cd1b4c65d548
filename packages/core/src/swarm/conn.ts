import { timeoutSignal } from '../clock.js'
import { ConnectionClosedError, toError } from '../errors.js'
import { negotiate } from './negotiate.js'
import { DEFAULT_WRITE_BUFFER_HIGH_WATER, SwarmStream } from './stream.js'
import type { SwarmConfig } from '../config.js'
import type { Clock } from '../interfaces/clock.js'
import type { Conn, ConnStats, ConnStatus, NewStreamOptions, Stream } from '../interfaces/connection.js'
import type { Direction } from '../interfaces/gater.js'
import type { Reporter } from '../interfaces/reporter.js'
import type { ResourceManager, StreamScope } from '../interfaces/resources.js'
import type { MuxedConnection, MuxedStream } from '../interfaces/transport.js'
import type { PeerId, PublicKey } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** What the streams of one connection may have waiting in the muxer, shared evenly (see writeBufferHighWater). */
const CONNECTION_WRITE_BUDGET = DEFAULT_WRITE_BUFFER_HIGH_WATER
/**
 * The least one stream may have waiting, however many share the connection. With 64 streams an even share is 16 KiB,
 * less than one 64 KiB write, so every write became a Yamux frame of its own and the receiver answered each with a
 * window update: 4 300 frames for 256 MiB (stock js-libp2p: 590) and 2.1 ms of dialer CPU per MiB (stock: 1.7-1.9).
 * With this floor: 1 600 frames and 1.7-1.8 ms per MiB.
 */
const STREAM_WRITE_FLOOR = 256 * 1024

/** The write high-water mark of each of `streams` streams on one connection: 1 MiB shared, at least 256 KiB each. */
export function streamWriteShare (streams: number): number {
  return Math.max(STREAM_WRITE_FLOOR, CONNECTION_WRITE_BUDGET / Math.max(1, streams))
}

/** How long a graceful connection close may take before the connection is aborted. */
const CLOSE_TIMEOUT_MS = 1_000

/** What a connection needs from its swarm. */
export interface ConnContext {
  readonly clock: Clock
  readonly reporter: Reporter
  readonly config: SwarmConfig
  readonly resources: ResourceManager
  /** Hands an inbound stream to the swarm's stream handler. */
  onInboundStream(stream: SwarmStream): void
}

/** A connection owned by the swarm: the muxed connection plus its stream bookkeeping. */
export class SwarmConn implements Conn {
  readonly opened: number
  /** Since when the connection has had no stream (clock ms), or undefined while it has one. */
  idleSince: number | undefined
  readonly #streams = new Set<SwarmStream>()
  /** Each stream's part of the connection's write budget, read at every write. */
  readonly #writeShare = (): number => streamWriteShare(this.#streams.size)
  #nextStream = 0
  #closing?: Promise<void>

  constructor (readonly muxed: MuxedConnection, readonly id: string, private readonly ctx: ConnContext) {
    this.opened = ctx.clock.now()
    this.idleSince = this.opened
  }

  get localPeer (): PeerId { return this.muxed.localPeer }
  get remotePeer (): PeerId { return this.muxed.remotePeer }
  get remotePublicKey (): PublicKey { return this.muxed.remotePublicKey }
  get localMultiaddr (): Multiaddr | undefined { return this.muxed.localAddr }
  get remoteMultiaddr (): Multiaddr { return this.muxed.remoteAddr }
  get direction (): Direction { return this.muxed.direction }
  get status (): ConnStatus { return this.#closing !== undefined && this.muxed.status === 'open' ? 'closing' : this.muxed.status }

  stat (): ConnStats {
    return {
      direction: this.muxed.direction,
      opened: this.opened,
      numStreams: this.#streams.size,
      transport: this.muxed.transport,
      security: this.muxed.security,
      muxer: this.muxed.muxer,
      // absent, not undefined, where the transport brought its own muxer (QUIC)
      ...(this.muxed.usedEarlyMuxerNegotiation === undefined ? {} : { usedEarlyMuxerNegotiation: this.muxed.usedEarlyMuxerNegotiation }),
      handshakeDuration: this.muxed.handshakeDuration
    }
  }

  /** Open streams, without building the stats (the best-connection choice asks on every dial). */
  get numStreams (): number {
    return this.#streams.size
  }

  getStreams (): Stream[] {
    return [...this.#streams]
  }

  /** Starts taking inbound streams; the swarm calls it once the connection has joined. */
  acceptStreams (): void {
    this.muxed.onStream(inner => {
      let scope: StreamScope
      try {
        scope = this.ctx.resources.openStream(this.remotePeer, 'inbound')
      } catch (err) {
        // Over a stream limit: refuse this stream only; the connection and its other streams go on.
        inner.abort(toError(err))
        return
      }
      this.ctx.onInboundStream(this.#wrap(inner, 'inbound', scope))
    })
  }

  async newStream (options: NewStreamOptions = {}): Promise<Stream> {
    if (this.status !== 'open') throw new ConnectionClosedError(`connection ${this.id} to ${this.remotePeer.toString()} is ${this.status}: open a new one`)
    const scope = this.ctx.resources.openStream(this.remotePeer, 'outbound')
    let inner: MuxedStream
    try {
      inner = await this.muxed.openStream({ signal: options.signal })
    } catch (err) {
      scope.done()
      throw err
    }
    const stream = this.#wrap(inner, 'outbound', scope)
    if (options.protocols !== undefined) {
      try {
        await negotiate(stream, 'select', options.protocols, this.ctx.clock, this.ctx.config.protocolNegotiationTimeout, options.signal)
      } catch (err) {
        stream.reset(toError(err))
        throw err
      }
    }
    return stream
  }

  /** Closes every stream and the connection; resolves once it is closed. Idempotent. */
  async close (): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close (): Promise<void> {
    const timeout = timeoutSignal(this.ctx.clock, CLOSE_TIMEOUT_MS, undefined, () => new ConnectionClosedError('graceful close timed out'))
    try {
      await this.muxed.close({ signal: timeout.signal })
    } finally {
      timeout.clear()
    }
    if (this.muxed.status !== 'closed') this.muxed.abort(new ConnectionClosedError('connection closed'))
  }

  #wrap (inner: MuxedStream, direction: Direction, scope: StreamScope): SwarmStream {
    const stream = new SwarmStream({
      inner,
      scope,
      conn: this,
      id: `${this.remotePeer.toString().slice(0, 10)}-${this.id}-${this.#nextStream++}`,
      direction,
      reporter: this.ctx.reporter,
      clock: this.ctx.clock,
      writeBufferHighWater: this.#writeShare,
      onEnd: s => {
        this.#streams.delete(s)
        if (this.#streams.size === 0) this.idleSince = this.ctx.clock.now()
      }
    })
    this.#streams.add(stream)
    this.idleSince = undefined
    return stream
  }
}

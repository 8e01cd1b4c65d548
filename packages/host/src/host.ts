import { AddrTTL, CLOCK, InvalidOptionError, LOGGER, NoConnectionError, PRIVATE_KEY, Swarm, SwarmError, inject, injectable, parseMultiaddr, raceAbort, toError } from '@tswarm/core'
import { positiveInt } from './config.js'
import { DuplicateProtocolHandlerError, HostClosedError, StreamLimitExceededError } from './errors.js'
import { IdentifyMetadata, IdentifyService } from './identify/identify.js'
import { PerfService } from './perf/perf.js'
import { PingService } from './ping/ping.js'
import { OptimisticStream, quicEndOfStreamDelay } from './stream/optimistic-stream.js'
import { HOST_CONFIG } from './tokens.js'
import type { HostConfig } from './config.js'
import type { PerfResult, PerfRunOptions } from './perf/perf.js'
import type { AbortOptions, ComponentLogger, Logger, PeerId, PrivateKey } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Clock, Conn, Direction, Peerstore, Stream } from '@tswarm/core'

/** Serves one protocol: gets each inbound stream once the protocol is agreed. A throw or rejection resets the stream. */
export type ProtocolHandler = (stream: Stream) => void | Promise<void>

export interface HandleOptions {
  /**
   * Inbound streams of this protocol allowed at once per connection; a stream beyond it is reset with a
   * StreamLimitExceededError.
   *
   * @default the host's `maxInboundStreams` (32)
   */
  maxInboundStreams?: number
  /**
   * Outbound streams of this protocol allowed at once per connection; `newStream` beyond it throws a
   * StreamLimitExceededError.
   *
   * @default the host's `maxOutboundStreams` (64)
   */
  maxOutboundStreams?: number
  /**
   * Replace an existing handler instead of throwing a DuplicateProtocolHandlerError.
   *
   * @default false
   */
  force?: boolean
}

export interface OpenStreamOptions extends AbortOptions {
  /**
   * Wait for the remote to confirm the protocol before returning (one round trip more).
   *
   * @default the host's `negotiateFully` (false)
   */
  negotiateFully?: boolean
  /**
   * Outbound streams of the protocol allowed at once on the connection.
   *
   * @default the protocol's `maxOutboundStreams` from `handle`, else the host's (64)
   */
  maxOutboundStreams?: number
}

export interface HostNewStreamOptions extends OpenStreamOptions {
  /**
   * Fail with a NoConnectionError instead of dialing when there is no connection.
   *
   * @default false
   */
  noDial?: boolean
}

/** What a protocol service (ping, perf) needs from its host: to serve its protocol and to open streams by protocol. */
export interface ProtocolHost {
  handle(protocol: string, handler: ProtocolHandler, options?: HandleOptions): void
  newStream(peer: PeerId, protocols: string | readonly string[], options?: HostNewStreamOptions): Promise<Stream>
}

interface HandlerEntry {
  handler: ProtocolHandler
  maxInboundStreams: number
  maxOutboundStreams: number
}

/**
 * A libp2p host over a tswarm {@link Swarm} (go-libp2p's basic host): per-protocol stream handlers with
 * multistream-select, streams to peers by protocol, identify (and push), ping and perf. Build one with
 * `createHost`; the host installs itself as the swarm's stream handler and as a swarm notifiee.
 *
 * Outbound streams select a single protocol optimistically (the proposal travels with the first bytes written; see
 * {@link OptimisticStream}). With several protocols, the host waits for identify on the connection and selects
 * optimistically the first one the peerstore says the peer supports (as go does); when it knows none, it negotiates
 * fully.
 */
@injectable()
export class Host {
  readonly swarm: Swarm
  readonly peerId: PeerId
  readonly config: HostConfig
  readonly identify: IdentifyService
  readonly #ping: PingService
  readonly #perf: PerfService
  readonly #handlers = new Map<string, HandlerEntry>()
  readonly #clock: Clock
  readonly #log: Logger
  #closed = false
  #closing: Promise<void> | undefined

  constructor (
    @inject(Swarm) swarm: Swarm,
    @inject(PRIVATE_KEY) privateKey: PrivateKey,
    @inject(HOST_CONFIG) config: HostConfig,
    @inject(CLOCK) clock: Clock,
    @inject(LOGGER) logger: ComponentLogger
  ) {
    this.swarm = swarm
    this.peerId = swarm.localPeer
    this.config = config
    this.#clock = clock
    this.#log = logger.forComponent('tswarm:host')
    this.identify = new IdentifyService(this, privateKey, config, clock, logger.forComponent('tswarm:host:identify'))
    this.#ping = new PingService(this, config.ping, clock, logger.forComponent('tswarm:host:ping'))
    this.#perf = new PerfService(this, config.perf, logger.forComponent('tswarm:host:perf'))
    swarm.setStreamHandler(this.#onStream)
    this.identify.start()
    this.#ping.start()
    if (config.perf.enabled) this.#perf.start()
  }

  /** The peerstore of the swarm (in-memory by default; see `persistentPeerstore`). */
  get peerstore (): Peerstore {
    return this.swarm.peerstore
  }

  get closed (): boolean {
    return this.#closed
  }

  /** The addresses advertised to peers: the `announce` option, else the swarm's interface listen addresses. */
  addrs (): Multiaddr[] {
    return [...this.config.announce ?? this.swarm.interfaceListenAddresses()]
  }

  // ---- protocols ----

  /**
   * Serves `protocol`: each inbound stream that selects it goes to `handler`. Peers connected now learn of the new
   * protocol through identify push. Throws a DuplicateProtocolHandlerError when one is registered (unless `force`).
   */
  handle (protocol: string, handler: ProtocolHandler, options: HandleOptions = {}): void {
    this.#assertOpen('handle')
    if (typeof protocol !== 'string' || protocol === '' || protocol.length > 1023 || protocol.includes('\n')) {
      throw new InvalidOptionError('protocol', protocol, 'a non-empty protocol ID of at most 1023 characters without newlines')
    }
    if (this.#handlers.has(protocol) && options.force !== true) throw new DuplicateProtocolHandlerError(protocol)
    const maxInboundStreams = options.maxInboundStreams ?? this.config.maxInboundStreams
    const maxOutboundStreams = options.maxOutboundStreams ?? this.config.maxOutboundStreams
    positiveInt('maxInboundStreams', maxInboundStreams)
    positiveInt('maxOutboundStreams', maxOutboundStreams)
    const changed = !this.#handlers.has(protocol)
    this.#handlers.set(protocol, { handler, maxInboundStreams, maxOutboundStreams })
    if (changed) this.identify.localChanged()
  }

  /** Stops serving `protocol`; streams already handed to its handler go on. Connected peers learn it through push. */
  unhandle (protocol: string): void {
    if (this.#handlers.delete(protocol)) this.identify.localChanged()
  }

  /** The protocols we serve, in registration order. */
  getProtocols (): string[] {
    return [...this.#handlers.keys()]
  }

  readonly #onStream = async (stream: Stream): Promise<void> => {
    const protocols = this.getProtocols()
    if (protocols.length === 0) {
      stream.reset(new SwarmError('no protocol is handled'))
      return
    }
    let protocol: string
    try {
      protocol = await this.swarm.negotiateInbound(stream, protocols)
    } catch (err) {
      // negotiateInbound has reset the stream; a peer probing for protocols we lack is routine
      this.#log('inbound negotiation with %p failed: %e', stream.conn.remotePeer, err)
      return
    }
    const entry = this.#handlers.get(protocol)
    if (entry === undefined) {
      stream.reset(new SwarmError(`${protocol} was unhandled during negotiation`))
      return
    }
    // the new stream already counts: its protocol was set by the negotiation
    if (countStreams(stream.conn, protocol, 'inbound') > entry.maxInboundStreams) {
      const err = new StreamLimitExceededError(protocol, 'inbound', entry.maxInboundStreams, stream.conn.remotePeer)
      this.#log('%s', err.message)
      stream.reset(err)
      return
    }
    try {
      await entry.handler(stream)
    } catch (err) {
      this.#log('handler for %s failed on a stream from %p: %e', protocol, stream.conn.remotePeer, err)
      stream.reset(toError(err))
    }
  }

  // ---- streams and connections ----

  /**
   * Opens a stream to `peer` speaking one of `protocols` (in order of preference), dialing when there is no
   * connection (unless `noDial`). Without a signal, the whole call is bounded by the swarm's `newStreamTimeout`.
   * Throws a StreamLimitExceededError when the protocol's outbound limit is reached on the connection.
   */
  async newStream (peer: PeerId, protocols: string | readonly string[], options: HostNewStreamOptions = {}): Promise<Stream> {
    this.#assertOpen('newStream')
    const list = typeof protocols === 'string' ? [protocols] : [...protocols]
    if (list.length === 0) throw new InvalidOptionError('protocols', '[]', 'at least one protocol')
    const { signal, clear } = this.swarm.newStreamSignal(peer, options.signal)
    try {
      const conn = options.noDial === true ? this.#openConn(peer) : await this.swarm.dialPeer(peer, { signal })
      return await this.openStream(conn, list, { ...options, signal })
    } finally {
      clear()
    }
  }

  /**
   * Opens a stream on a given connection; {@link Host.newStream} without the dial. Used by identify, which must run
   * on the connection it identifies.
   */
  async openStream (conn: Conn, protocols: readonly string[], options: OpenStreamOptions = {}): Promise<Stream> {
    this.#assertOpen('openStream')
    if (protocols.length === 0) throw new InvalidOptionError('protocols', '[]', 'at least one protocol')
    let chosen: string | undefined
    if (!(options.negotiateFully ?? this.config.negotiateFully)) {
      if (protocols.length === 1) {
        chosen = protocols[0]
      } else {
        // go's basic host: identify first (cheaper than negotiating), then pick what the peer is known to support
        await raceAbort(this.identify.identifyWait(conn), options.signal)
        chosen = this.peerstore.supportsProtocols(conn.remotePeer, protocols)[0]
      }
    }
    if (chosen !== undefined) {
      const limit = this.#outboundLimit(chosen, options)
      if (countStreams(conn, chosen, 'outbound') >= limit) throw new StreamLimitExceededError(chosen, 'outbound', limit, conn.remotePeer)
      const raw = await conn.newStream({ signal: options.signal })
      const protocol = chosen
      return new OptimisticStream(raw, protocol, {
        clock: this.#clock,
        negotiationTimeout: this.swarm.config.protocolNegotiationTimeout,
        // js-libp2p's QUIC listener hands the stream to its handler a native write completion after it confirmed;
        // an end of stream arriving before that is lost to the handler (see OptimisticStream). Other stacks' are not.
        endOfStreamDelay: conn.stat().muxer === 'quic'
          ? quicEndOfStreamDelay(this.peerstore.get(conn.remotePeer, IdentifyMetadata.AGENT_VERSION))
          : 0,
        onFailure: err => { this.#log('optimistic selection of %s with %p failed: %e', protocol, conn.remotePeer, err) }
      })
    }
    const stream = await conn.newStream({ signal: options.signal, protocols })
    const limit = this.#outboundLimit(stream.protocol, options)
    if (countStreams(conn, stream.protocol, 'outbound') > limit) {
      const err = new StreamLimitExceededError(stream.protocol, 'outbound', limit, conn.remotePeer)
      stream.reset(err)
      throw err
    }
    return stream
  }

  /**
   * Connects to `peer` (go's host.Connect): adds `addrs` to the peerstore for a short while (identify then records
   * the peer's own listen addresses), dials unless already connected, and waits for identify on the connection.
   */
  async connect (peer: PeerId, addrs: ReadonlyArray<Multiaddr | string> = [], options: AbortOptions = {}): Promise<Conn> {
    this.#assertOpen('connect')
    if (addrs.length > 0) this.peerstore.addAddrs(peer, addrs.map(parseMultiaddr), AddrTTL.TEMP)
    const conn = await this.swarm.dialPeer(peer, options)
    await raceAbort(this.identify.identifyWait(conn), options.signal)
    return conn
  }

  // ---- ping and perf ----

  /** Pings `peer` once over `/ipfs/ping/1.0.0` and returns the round-trip time in milliseconds. */
  async ping (peer: PeerId, options: AbortOptions = {}): Promise<number> {
    this.#assertOpen('ping')
    const [rtt] = await this.#ping.ping(peer, 1, options)
    return rtt
  }

  /** Pings `peer` `count` times on one stream, one after the other; the round-trip time of each, in ms. */
  async pings (peer: PeerId, count: number, options: AbortOptions = {}): Promise<number[]> {
    this.#assertOpen('ping')
    return await this.#ping.ping(peer, count, options)
  }

  /**
   * Runs one `/perf/1.0.0` exchange with `peer` (its host must have perf enabled): uploads `uploadBytes`, then
   * downloads `downloadBytes`, and reports the timings.
   */
  async perf (peer: PeerId, options: PerfRunOptions): Promise<PerfResult> {
    this.#assertOpen('perf')
    return await this.#perf.run(peer, options)
  }

  // ---- lifecycle ----

  /**
   * Closes the swarm (listeners, connections, transports, the peerstore) and stops identify. Idempotent; every later
   * operation fails with a HostClosedError.
   */
  async close (): Promise<void> {
    this.#closing ??= this.#close()
    return await this.#closing
  }

  async #close (): Promise<void> {
    this.#closed = true
    this.identify.stop()
    try {
      await this.swarm.close()
    } finally {
      await this.identify.settled()
      this.swarm.setStreamHandler(undefined)
    }
  }

  #outboundLimit (protocol: string, options: OpenStreamOptions): number {
    const limit = options.maxOutboundStreams ?? this.#handlers.get(protocol)?.maxOutboundStreams ?? this.config.maxOutboundStreams
    positiveInt('maxOutboundStreams', limit)
    return limit
  }

  /** The connection the swarm would use for `peer`, without dialing. */
  #openConn (peer: PeerId): Conn {
    const best = this.swarm.bestConn(peer)
    if (best === undefined) throw new NoConnectionError(peer)
    return best
  }

  #assertOpen (what: string): void {
    if (this.#closed) throw new HostClosedError(what)
  }
}

/** Streams on `conn` in `direction` that carry `protocol` (js-libp2p counts the same way for its limits). */
export function countStreams (conn: Conn, protocol: string, direction: Direction): number {
  let n = 0
  for (const s of conn.getStreams()) {
    if (s.direction === direction && s.protocol === protocol) n++
  }
  return n
}


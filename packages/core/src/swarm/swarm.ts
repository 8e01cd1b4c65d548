import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { inject, injectAll, injectable } from '../di.js'
import { timeoutSignal } from '../clock.js'
import {
  DialError, DialTimeoutError, DialToSelfError, ListenError, NoConnectionError, NoTransportError, SwarmAssemblyError,
  SwarmClosedError, describe, errorIs, toError
} from '../errors.js'
import { checkGates } from '../gating.js'
import { AddrTTL } from '../interfaces/peerstore.js'
import { CLOCK, CONNECTION_GATER, DIAL_RANKER, DNS_RESOLVER, LOGGER, METRICS_TRACER, PEERSTORE, PRIVATE_KEY, REPORTER, RESOURCE_MANAGER, SWARM_CONFIG, SWARM_SERVICE, TRANSPORT, UPGRADER } from '../tokens.js'
import { parseMultiaddr } from './addrs.js'
import { SwarmConn } from './conn.js'
import { ConnectionSet } from './connections.js'
import { ListenerSet } from './listeners.js'
import { SwarmDialer } from './dialer.js'
import { ConnectionMonitor } from './monitor.js'
import { negotiate } from './negotiate.js'
import { Notifier } from './notifier.js'
import { TransportRegistry } from './transports.js'
import { SwarmStream } from './stream.js'
import type { DialPlan } from '../dial/plan.js'
import type { DialBackoff } from '../dial/backoff.js'
import type { SwarmConfig } from '../config.js'
import type { DialRanker, DnsResolver } from '../interfaces/dial.js'
import type { MetricsTracer } from '../interfaces/metrics.js'
import type { BlackHoleCounterStats, Network, SwarmService } from '../interfaces/network.js'
import type { Clock } from '../interfaces/clock.js'
import type { Conn, Connectedness, NewStreamOptions, Stream, StreamHandler } from '../interfaces/connection.js'
import type { ConnectionGater } from '../interfaces/gater.js'
import type { Notifiee } from '../interfaces/notifiee.js'
import type { Peerstore } from '../interfaces/peerstore.js'
import type { Reporter } from '../interfaces/reporter.js'
import type { ResourceManager } from '../interfaces/resources.js'
import type { MuxedConnection, Transport } from '../interfaces/transport.js'
import type { Upgrader } from '../interfaces/upgrader.js'
import type { AbortOptions, PeerId, PrivateKey } from '@libp2p/interface'
import type { ComponentLogger, Logger } from '@libp2p/logger'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface DialPeerOptions extends AbortOptions {
  /** Skip backoff and relayed addresses (go's WithForceDirectDial). */
  forceDirect?: boolean
}

export interface SwarmNewStreamOptions extends NewStreamOptions {
  /** Fail with a NoConnectionError instead of dialing when there is no connection. */
  noDial?: boolean
}

/**
 * The swarm: listens, dials, upgrades, and tracks every connection and stream (go-libp2p's swarm.Swarm).
 * Build one with `createSwarm`; every collaborator comes from the container.
 */
@injectable()
export class Swarm implements Network {
  readonly localPeer: PeerId
  readonly #log: Logger
  readonly #transports = new TransportRegistry()
  readonly #listeners: ListenerSet
  readonly #conns = new ConnectionSet()
  readonly #notifier: Notifier
  readonly #dialer: SwarmDialer
  readonly #monitor: ConnectionMonitor
  #streamHandler?: StreamHandler
  #nextConnId = 1
  #closed = false
  #closing?: Promise<void>

  constructor (
    @inject(PRIVATE_KEY) privateKey: PrivateKey,
    @inject(PEERSTORE) readonly peerstore: Peerstore,
    @injectAll(TRANSPORT) transports: Transport[],
    @injectAll(CONNECTION_GATER, { isOptional: true }) private readonly gaters: ConnectionGater[],
    @inject(UPGRADER) private readonly upgrader: Upgrader,
    @inject(REPORTER) private readonly reporter: Reporter,
    @inject(CLOCK) private readonly clock: Clock,
    @inject(SWARM_CONFIG) readonly config: SwarmConfig,
    @inject(LOGGER) logger: ComponentLogger,
    @inject(DIAL_RANKER) ranker: DialRanker,
    @inject(DNS_RESOLVER) dnsResolver: DnsResolver,
    @injectAll(SWARM_SERVICE, { isOptional: true }) private readonly services: SwarmService[],
    @injectAll(METRICS_TRACER, { isOptional: true }) tracers: MetricsTracer[],
    @inject(RESOURCE_MANAGER) readonly resources: ResourceManager
  ) {
    this.localPeer = peerIdFromPrivateKey(privateKey)
    this.#log = logger.forComponent('tswarm:swarm')
    this.#notifier = new Notifier(this.#log)
    this.#listeners = new ListenerSet(this.#notifier)
    this.#dialer = new SwarmDialer({
      clock,
      config,
      ranker,
      resolver: dnsResolver,
      peerstore,
      gaters,
      upgrader,
      resources,
      tracers,
      log: this.#log,
      transportFor: addr => this.#transports.forDialing(addr),
      ownAddrs: () => this.interfaceListenAddresses(),
      bestConn: peer => this.#conns.best(peer),
      addConn: async muxed => this.#addConn(muxed)
    })
    this.#monitor = new ConnectionMonitor(clock, config, () => this.#conns.all(), this.#log)
    for (const t of transports) this.#transports.add(t)
  }

  /** Starts the transports. `createSwarm` calls this; call it yourself only for a swarm resolved by hand. */
  async start (): Promise<void> {
    for (const t of this.#transports.all()) await t.start?.()
    this.#dialer.start()
    this.#monitor.start()
    for (const service of this.services) {
      try {
        await service.start?.(this)
      } catch (err) {
        throw new SwarmAssemblyError(`service "${service.name ?? service.constructor.name}" failed to start: ${describe(err)}`, { cause: err })
      }
    }
  }

  // ---- transports ----

  /** Adds a transport after construction; refused after close and when it claims another's protocol. */
  addTransport (transport: Transport): void {
    this.#assertOpen('addTransport')
    this.#transports.add(transport)
  }

  transportForDialing (addr: Multiaddr | string): Transport | undefined {
    return this.#transports.forDialing(parseMultiaddr(addr))
  }

  transportForListening (addr: Multiaddr | string): Transport | undefined {
    return this.#transports.forListening(parseMultiaddr(addr))
  }

  // ---- listening ----

  /**
   * Listens on every address given. Succeeds when at least one works; when none does, throws a ListenError that
   * lists each address's failure.
   */
  async listen (...addrs: Array<Multiaddr | string>): Promise<void> {
    if (addrs.length === 0) return
    const results = await Promise.allSettled(addrs.map(async a => { await this.addListenAddr(a) }))
    const errors = results.flatMap((r, i) => r.status === 'rejected' ? [{ addr: String(addrs[i]), error: toError(r.reason) }] : [])
    if (errors.length === addrs.length) throw new ListenError(errors)
    for (const e of errors) this.#log('listen on %s failed: %e', e.addr, e.error)
  }

  /** Listens on one address; throws NoTransportError when no transport can, SwarmClosedError after close. */
  async addListenAddr (input: Multiaddr | string): Promise<void> {
    this.#assertOpen('listen')
    const addr = parseMultiaddr(input)
    const transport = this.#transports.forListening(addr)
    if (transport === undefined) throw new NoTransportError(addr.toString(), 'no registered transport can listen on it')
    const listener = await transport.listen(addr, {
      upgrader: this.upgrader,
      onConnection: conn => { this.#addConn(conn).catch(err => { this.#log('inbound connection refused: %e', err) }) },
      onError: err => { this.#log('inbound connection failed: %e', err) }
    })
    if (this.#closed) {
      await listener.close()
      throw new SwarmClosedError('listen')
    }
    this.#listeners.add(listener)
  }

  /** Closes the listeners bound to any of these addresses (compared by value). */
  async listenClose (...addrs: Array<Multiaddr | string>): Promise<void> {
    await this.#listeners.close(addrs.map(parseMultiaddr))
  }

  /** The addresses we listen on, as bound (`0.0.0.0` stays unspecified; see interfaceListenAddresses). */
  listenAddresses (): Multiaddr[] {
    return this.#listeners.addrs()
  }

  /**
   * The listen addresses with `0.0.0.0` and `::` replaced by this machine's interface addresses. IPv6 link-local
   * addresses are left out, whoever reported them (some transports expand listeners themselves): they are not
   * dialable without a zone.
   */
  interfaceListenAddresses (): Multiaddr[] {
    return this.#listeners.interfaceAddrs()
  }

  // ---- dialing ----

  /**
   * Returns a connection to `peer`, dialing its peerstore addresses when there is none. Concurrent calls for one peer
   * share one dial worker. Fails with a DialError whose cause says why (DialToSelfError, NoAddressesError,
   * NoGoodAddressesError, AllDialsFailedError, GaterDisallowedError, DialTimeoutError), whose `errors` hold each
   * address's failure, and whose `plan` shows what was done with every address.
   */
  async dialPeer (peer: PeerId, options: DialPeerOptions = {}): Promise<Conn> {
    this.#assertOpen('dialPeer')
    if (peer.equals(this.localPeer)) throw new DialError(peer, new DialToSelfError())
    const existing = this.#conns.best(peer)
    if (existing !== undefined) return existing
    try {
      await checkGates(this.gaters, 'interceptPeerDial', `dial to ${peer.toString()}`, g => g.interceptPeerDial?.(peer))
    } catch (err) {
      throw new DialError(peer, toError(err))
    }
    // go bounds every DialPeer by its dial-peer timeout, whatever the caller's own deadline.
    const overall = timeoutSignal(this.clock, this.config.dialPeerTimeout, options.signal,
      () => new DialTimeoutError(`dial to ${peer.toString()} did not finish within ${this.config.dialPeerTimeout} ms`))
    try {
      return await this.#dialer.dial(peer, { forceDirect: options.forceDirect }, overall.signal)
    } catch (err) {
      if (this.#closed) throw new SwarmClosedError('dialPeer')
      if (errorIs(err, 'DialError')) throw err
      // The caller's signal or the overall timeout fired while the dial was still going.
      throw new DialError(peer, toError(err))
    } finally {
      overall.clear()
    }
  }

  /** The dial backoff: which addresses failed recently and are not dialed again until their backoff expires. */
  backoff (): DialBackoff {
    return this.#dialer.backoff
  }

  /** Receives the plan of every successful dial, for debugging; failed dials carry theirs in the DialError. */
  onDialPlan (listener: ((peer: PeerId, plan: DialPlan) => void) | undefined): void {
    this.#dialer.onDialPlan(listener)
  }

  /** Whether the swarm would try `addr` for `peer` now (go's CanDial): a transport, not filtered, not backed off. */
  async canDial (peer: PeerId, addr: Multiaddr | string): Promise<boolean> {
    return this.#dialer.canDial(peer, parseMultiaddr(addr))
  }

  // ---- connections ----

  /** Takes an upgraded connection into the swarm: upgraded gate, bookkeeping, stream handling, notifications. */
  async #addConn (muxed: MuxedConnection): Promise<SwarmConn> {
    if (this.#closed) {
      muxed.abort(new SwarmClosedError('accepting connections'))
      throw new SwarmClosedError('accepting connections')
    }
    const conn = new SwarmConn(muxed, String(this.#nextConnId++), {
      clock: this.clock,
      reporter: this.reporter,
      config: this.config,
      resources: this.resources,
      onInboundStream: stream => { this.#handleInboundStream(stream) }
    })
    try {
      await checkGates(this.gaters, 'interceptUpgraded', `${muxed.direction} connection with ${muxed.remotePeer.toString()}`,
        g => g.interceptUpgraded?.(conn))
    } catch (err) {
      muxed.abort(toError(err))
      throw err
    }
    if (muxed.status === 'closed' || this.#closed) {
      muxed.abort(new SwarmClosedError('accepting connections'))
      throw new SwarmClosedError('accepting connections')
    }
    this.#conns.add(conn)
    // A connection proves the peer reachable: its failed addresses may be tried again (go's addConn does this).
    this.#dialer.backoff.clear(muxed.remotePeer)
    try {
      this.peerstore.addPubKey(muxed.remotePeer, muxed.remotePublicKey)
    } catch (err) {
      this.#log.error('could not record the public key of %p: %e', muxed.remotePeer, err)
    }
    muxed.onClose(() => { this.#removeConn(conn) })
    conn.acceptStreams()
    await this.#notifier.connected(conn)
    return conn
  }

  #removeConn (conn: SwarmConn): void {
    const { removed, last } = this.#conns.remove(conn)
    if (!removed) return
    if (last) {
      // go-libp2p keeps a disconnected peer's addresses for a while so a reconnect does not need discovery.
      this.peerstore.updateAddrs(conn.remotePeer, AddrTTL.CONNECTED, AddrTTL.RECENTLY_CONNECTED)
    }
    this.#notifier.disconnected(conn).catch(err => { this.#log.error('disconnected notification failed: %e', err) })
  }

  /** The connection streams to `peer` go over: open, most streams, newest on a tie (go's bestConnToPeer). */
  bestConn (peer: PeerId): Conn | undefined {
    return this.#conns.best(peer)
  }

  connectedness (peer: PeerId): Connectedness {
    return this.#conns.best(peer) !== undefined ? 'connected' : 'notConnected'
  }

  /** Every connection, open or closing. */
  conns (): Conn[] {
    return this.#conns.all()
  }

  connsToPeer (peer: PeerId): Conn[] {
    return this.#conns.toPeer(peer)
  }

  /** Peers we hold at least one connection to. */
  peers (): PeerId[] {
    return this.#conns.peers()
  }

  /** Every open stream on every connection. */
  streams (): Stream[] {
    return this.conns().flatMap(c => c.getStreams())
  }

  /** The black-hole counters' state, one entry per enabled class. */
  blackHoleStats (): BlackHoleCounterStats[] {
    return this.#dialer.blackHoleStats()
  }

  /** Closes every connection to the peer. */
  async closePeer (peer: PeerId): Promise<void> {
    await Promise.all(this.connsToPeer(peer).map(async c => { await c.close() }))
  }

  // ---- streams ----

  /** Sets the handler for every inbound stream (raw: negotiate a protocol with `negotiateInbound`). */
  setStreamHandler (handler: StreamHandler | undefined): void {
    this.#streamHandler = handler
  }

  streamHandler (): StreamHandler | undefined {
    return this.#streamHandler
  }

  /**
   * Opens a stream to `peer`, dialing when there is no connection (unless `noDial`). With `protocols`, negotiates one
   * with multistream-select. Without a signal, the whole call is bounded by `newStreamTimeout`.
   */
  async newStream (peer: PeerId, options: SwarmNewStreamOptions = {}): Promise<Stream> {
    this.#assertOpen('newStream')
    const { signal, clear } = this.newStreamSignal(peer, options.signal)
    try {
      let conn: Conn | undefined
      if (options.noDial === true) {
        conn = this.#conns.best(peer)
        if (conn === undefined) throw new NoConnectionError(peer)
      } else {
        conn = await this.dialPeer(peer, { signal })
      }
      return await conn.newStream({ signal, protocols: options.protocols })
    } finally {
      clear()
    }
  }

  /**
   * The bound of one newStream call: the caller's signal when it gives one, else `newStreamTimeout` on the swarm's
   * clock. Shared with the host, so both bound a stream the same way.
   */
  newStreamSignal (peer: PeerId, signal: AbortSignal | undefined): { signal: AbortSignal, clear: () => void } {
    if (signal !== undefined) return { signal, clear: () => {} }
    const ms = this.config.newStreamTimeout
    return timeoutSignal(this.clock, ms, undefined, () => new DialTimeoutError(`newStream to ${peer.toString()} did not finish within ${ms} ms`))
  }

  #handleInboundStream (stream: SwarmStream): void {
    const handler = this.#streamHandler
    if (handler === undefined) {
      stream.reset(new Error('no stream handler is set'))
      return
    }
    Promise.resolve().then(async () => { await handler(stream) }).catch(err => {
      this.#log('stream handler failed: %e', err)
      stream.reset(toError(err))
    })
  }

  /**
   * Runs multistream-select as the listener on an inbound stream and records the agreed protocol; bounded by
   * `protocolNegotiationTimeout`. Resets the stream when negotiation fails.
   */
  async negotiateInbound (stream: Stream, protocols: readonly string[], options: AbortOptions = {}): Promise<string> {
    if (!(stream instanceof SwarmStream)) throw new TypeError('negotiateInbound expects a stream this swarm accepted')
    try {
      return await negotiate(stream, 'handle', protocols, this.clock, this.config.protocolNegotiationTimeout, options.signal)
    } catch (err) {
      stream.reset(toError(err))
      throw err
    }
  }

  // ---- notifications ----

  notify (notifiee: Notifiee): void {
    this.#notifier.add(notifiee)
  }

  stopNotify (notifiee: Notifiee): void {
    this.#notifier.remove(notifiee)
  }

  // ---- lifecycle ----

  get closed (): boolean {
    return this.#closed
  }

  /**
   * Closes listeners, connections (and so their streams) and transports, then waits for the last notifications.
   * Idempotent; every later operation fails with SwarmClosedError.
   */
  async close (): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close (): Promise<void> {
    this.#closed = true
    this.#monitor.stop()
    await this.#listeners.closeAll()
    await Promise.allSettled(this.conns().map(async c => { await c.close() }))
    await Promise.allSettled(this.services.map(async s => { await s.stop?.() }))
    await Promise.allSettled(this.#transports.all().map(async t => { await t.close?.() }))
    this.#dialer.stop()
    await this.#notifier.flush()
    await this.peerstore.close?.()
  }

  #assertOpen (what: string): void {
    if (this.#closed) throw new SwarmClosedError(what)
  }
}

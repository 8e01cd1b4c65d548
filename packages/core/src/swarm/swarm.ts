import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { inject, injectAll, injectable } from '../di.js'
import { timeoutSignal } from '../clock.js'
import {
  AddrDialError, AllDialsFailedError, DialError, DialTimeoutError, DialToSelfError, ListenError, NoAddressesError,
  NoConnectionError, NoGoodAddressesError, NoTransportError, SwarmClosedError, errorIs, toError
} from '../errors.js'
import { checkGates } from '../gating.js'
import { AddrTTL } from '../interfaces/peerstore.js'
import { CLOCK, CONNECTION_GATER, LOGGER, PEERSTORE, PRIVATE_KEY, REPORTER, SWARM_CONFIG, TRANSPORT, UPGRADER } from '../tokens.js'
import { expandUnspecified, isLocalAddr, isUnspecified, parseMultiaddr, peerIdString, stripPeerId } from './addrs.js'
import { SwarmConn, innerOf } from './conn.js'
import { DialSync, raceAbort } from './dial-sync.js'
import { negotiate } from './negotiate.js'
import { Notifier } from './notifier.js'
import { TransportRegistry } from './transports.js'
import type { SwarmStream } from './stream.js'
import type { SwarmConfig } from '../config.js'
import type { Clock } from '../interfaces/clock.js'
import type { Conn, Connectedness, NewStreamOptions, Stream, StreamHandler } from '../interfaces/connection.js'
import type { ConnectionGater } from '../interfaces/gater.js'
import type { Notifiee } from '../interfaces/notifiee.js'
import type { Peerstore } from '../interfaces/peerstore.js'
import type { Reporter } from '../interfaces/reporter.js'
import type { Listener, MuxedConnection, Transport } from '../interfaces/transport.js'
import type { Upgrader } from '../interfaces/upgrader.js'
import type { AbortOptions, PeerId, PrivateKey } from '@libp2p/interface'
import type { ComponentLogger, Logger } from '@libp2p/logger'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface DialPeerOptions extends AbortOptions {}

export interface SwarmNewStreamOptions extends NewStreamOptions {
  /** Fail with a NoConnectionError instead of dialing when there is no connection. */
  noDial?: boolean
}

/**
 * The swarm: listens, dials, upgrades, and tracks every connection and stream (go-libp2p's swarm.Swarm).
 * Build one with `createSwarm`; every collaborator comes from the container.
 */
@injectable()
export class Swarm {
  readonly localPeer: PeerId
  readonly #log: Logger
  readonly #transports = new TransportRegistry()
  readonly #listeners = new Set<Listener>()
  readonly #conns = new Map<string, Set<SwarmConn>>()
  readonly #notifier: Notifier
  readonly #dialSync: DialSync<SwarmConn>
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
    @inject(LOGGER) logger: ComponentLogger
  ) {
    this.localPeer = peerIdFromPrivateKey(privateKey)
    this.#log = logger.forComponent('tswarm:swarm')
    this.#notifier = new Notifier(this.#log)
    this.#dialSync = new DialSync((peer, signal) => this.#dialWorker(peer, signal))
    for (const t of transports) this.#transports.add(t)
  }

  /** Starts the transports. `createSwarm` calls this; call it yourself only for a swarm resolved by hand. */
  async start (): Promise<void> {
    for (const t of this.#transports.all()) await t.start?.()
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
    const bound = listener.getAddrs()
    listener.onClose(() => {
      this.#listeners.delete(listener)
      for (const a of bound) this.#notifier.listenClose(a)
    })
    for (const a of bound) this.#notifier.listen(a)
  }

  /** Closes the listeners bound to any of these addresses (compared by value). */
  async listenClose (...addrs: Array<Multiaddr | string>): Promise<void> {
    const targets = addrs.map(parseMultiaddr)
    const closing = [...this.#listeners].filter(l => l.getAddrs().some(a => targets.some(t => t.equals(a))))
    await Promise.all(closing.map(async l => { await l.close() }))
  }

  /** The addresses we listen on, as bound (`0.0.0.0` stays unspecified; see interfaceListenAddresses). */
  listenAddresses (): Multiaddr[] {
    return [...this.#listeners].flatMap(l => l.getAddrs())
  }

  /** The listen addresses with `0.0.0.0` and `::` replaced by this machine's interface addresses. */
  interfaceListenAddresses (): Multiaddr[] {
    const seen = new Set<string>()
    return this.listenAddresses().flatMap(expandUnspecified).filter(a => {
      const key = a.toString()
      if (seen.has(key)) return false
      seen.add(key)
      return true
    })
  }

  // ---- dialing ----

  /**
   * Returns a connection to `peer`, dialing its peerstore addresses when there is none. Concurrent calls for one peer
   * share one dial. Fails with a DialError whose cause says why (DialToSelfError, NoAddressesError,
   * NoGoodAddressesError, AllDialsFailedError, GaterDisallowedError, DialTimeoutError) and whose `errors` hold each
   * address's failure.
   */
  async dialPeer (peer: PeerId, options: DialPeerOptions = {}): Promise<Conn> {
    this.#assertOpen('dialPeer')
    if (peer.equals(this.localPeer)) throw new DialError(peer, new DialToSelfError())
    try {
      await checkGates(this.gaters, 'interceptPeerDial', `dial to ${peer.toString()}`, g => g.interceptPeerDial?.(peer))
    } catch (err) {
      throw new DialError(peer, toError(err))
    }
    const existing = this.#bestConn(peer)
    if (existing !== undefined) return existing
    const overall = options.signal === undefined
      ? timeoutSignal(this.clock, this.config.dialPeerTimeout, undefined,
        () => new DialTimeoutError(`dial to ${peer.toString()} did not finish within ${this.config.dialPeerTimeout} ms`))
      : undefined
    try {
      return await this.#dialSync.dial(peer, overall?.signal ?? options.signal)
    } catch (err) {
      if (errorIs(err, 'DialError')) throw err
      // The caller's signal (or the overall timeout) fired while the dial was still going.
      throw new DialError(peer, toError(err))
    } finally {
      overall?.clear()
    }
  }

  async #dialWorker (peer: PeerId, signal: AbortSignal): Promise<SwarmConn> {
    const known = this.peerstore.addrs(peer)
    if (known.length === 0) throw new DialError(peer, new NoAddressesError(peer))
    const { dialable, rejected } = await this.#filterAddrs(peer, known)
    if (dialable.length === 0) throw new DialError(peer, new NoGoodAddressesError(), rejected)

    // Every address is dialed at once and the first connection wins; the others are aborted.
    const winner = new AbortController()
    const onAbort = (): void => { winner.abort(signal.reason) }
    signal.addEventListener('abort', onAbort, { once: true })
    const failures: AddrDialError[] = [...rejected]
    try {
      return await Promise.any(dialable.map(async addr => {
        try {
          return await this.#dialAddr(peer, addr, winner.signal)
        } catch (err) {
          failures.push(new AddrDialError(addr, err))
          throw err
        }
      }))
    } catch {
      // A connection may have arrived another way (an inbound dial from the same peer) while ours failed.
      const late = this.#bestConn(peer)
      if (late !== undefined) return late
      const cause = signal.aborted ? toError(signal.reason) : new AllDialsFailedError()
      throw new DialError(peer, cause, failures)
    } finally {
      signal.removeEventListener('abort', onAbort)
      winner.abort(new Error('another address connected first'))
    }
  }

  async #dialAddr (peer: PeerId, addr: Multiaddr, signal: AbortSignal): Promise<SwarmConn> {
    const transport = this.#transports.forDialing(addr)
    if (transport === undefined) throw new NoTransportError(addr.toString())
    const ms = isLocalAddr(addr) ? this.config.dialTimeoutLocal : this.config.dialTimeout
    const timeout = timeoutSignal(this.clock, ms, signal, () => new DialTimeoutError(`dial to ${addr.toString()} timed out after ${ms} ms`))
    let muxed: MuxedConnection
    try {
      muxed = await raceAbort(transport.dial(addr, { signal: timeout.signal, upgrader: this.upgrader, remotePeer: peer }), timeout.signal)
    } catch (err) {
      throw timeout.signal.aborted ? toError(timeout.signal.reason) : err
    } finally {
      timeout.clear()
    }
    if (signal.aborted) {
      // Another address won (or the caller left) while this one was finishing its handshake.
      muxed.abort(toError(signal.reason))
      throw toError(signal.reason)
    }
    return this.#addConn(muxed)
  }

  /**
   * Splits a peer's addresses into those worth dialing and those refused up front, each refusal as an
   * AddrDialError so the DialError can say why an address was not tried.
   */
  async #filterAddrs (peer: PeerId, addrs: readonly Multiaddr[]): Promise<{ dialable: Multiaddr[], rejected: AddrDialError[] }> {
    const own = new Set(this.interfaceListenAddresses().map(a => a.toString()))
    const seen = new Set<string>()
    const dialable: Multiaddr[] = []
    const rejected: AddrDialError[] = []
    for (const raw of addrs) {
      const addr = stripPeerId(raw)
      const key = addr.toString()
      if (seen.has(key)) continue
      seen.add(key)
      const owner = peerIdString(raw)
      if (owner !== undefined && owner !== peer.toString()) {
        rejected.push(new AddrDialError(addr, new Error(`address belongs to peer ${owner}`)))
      } else if (this.#transports.forDialing(addr) === undefined) {
        rejected.push(new AddrDialError(addr, new NoTransportError(key)))
      } else if (isUnspecified(addr)) {
        rejected.push(new AddrDialError(addr, new Error('unspecified IP addresses cannot be dialed')))
      } else if (own.has(key)) {
        rejected.push(new AddrDialError(addr, new DialToSelfError()))
      } else {
        try {
          await checkGates(this.gaters, 'interceptAddrDial', `dial to ${key}`, g => g.interceptAddrDial?.(peer, addr))
          dialable.push(addr)
        } catch (err) {
          rejected.push(new AddrDialError(addr, err))
        }
      }
    }
    return { dialable, rejected }
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
    const key = muxed.remotePeer.toString()
    let set = this.#conns.get(key)
    if (set === undefined) {
      set = new Set()
      this.#conns.set(key, set)
    }
    set.add(conn)
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
    const key = conn.remotePeer.toString()
    const set = this.#conns.get(key)
    if (set?.delete(conn) !== true) return
    if (set.size === 0) {
      this.#conns.delete(key)
      // go-libp2p keeps a disconnected peer's addresses for a while so a reconnect does not need discovery.
      this.peerstore.updateAddrs(conn.remotePeer, AddrTTL.CONNECTED, AddrTTL.RECENTLY_CONNECTED)
    }
    this.#notifier.disconnected(conn).catch(err => { this.#log.error('disconnected notification failed: %e', err) })
  }

  /** An open connection to the peer: the one with the most streams, the newest on a tie. */
  #bestConn (peer: PeerId): SwarmConn | undefined {
    let best: SwarmConn | undefined
    for (const c of this.#conns.get(peer.toString()) ?? []) {
      if (c.status !== 'open') continue
      if (best === undefined || c.stat().numStreams > best.stat().numStreams ||
        (c.stat().numStreams === best.stat().numStreams && c.opened >= best.opened)) best = c
    }
    return best
  }

  connectedness (peer: PeerId): Connectedness {
    return this.#bestConn(peer) !== undefined ? 'connected' : 'notConnected'
  }

  /** Every connection, open or closing. */
  conns (): Conn[] {
    return [...this.#conns.values()].flatMap(s => [...s])
  }

  connsToPeer (peer: PeerId): Conn[] {
    return [...this.#conns.get(peer.toString()) ?? []]
  }

  /** Peers we hold at least one connection to. */
  peers (): PeerId[] {
    return [...this.#conns.values()].flatMap(s => {
      const first = s.values().next().value
      return first === undefined ? [] : [first.remotePeer]
    })
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
    const timeout = options.signal === undefined
      ? timeoutSignal(this.clock, this.config.newStreamTimeout, undefined,
        () => new DialTimeoutError(`newStream to ${peer.toString()} did not finish within ${this.config.newStreamTimeout} ms`))
      : undefined
    const signal = timeout?.signal ?? options.signal
    try {
      let conn: Conn | undefined
      if (options.noDial === true) {
        conn = this.#bestConn(peer)
        if (conn === undefined) throw new NoConnectionError(peer)
      } else {
        conn = await this.dialPeer(peer, { signal })
      }
      return await conn.newStream({ signal, protocols: options.protocols })
    } finally {
      timeout?.clear()
    }
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
    const inner = innerOf(stream)
    try {
      const protocol = await negotiate(inner, 'handle', protocols, this.clock, this.config.protocolNegotiationTimeout, options.signal)
      stream.setProtocol(protocol)
      return protocol
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
    await Promise.allSettled([...this.#listeners].map(async l => { await l.close() }))
    await Promise.allSettled(this.conns().map(async c => { await c.close() }))
    await Promise.allSettled(this.#transports.all().map(async t => { await t.close?.() }))
    await this.#notifier.flush()
    await this.peerstore.close?.()
  }

  #assertOpen (what: string): void {
    if (this.#closed) throw new SwarmClosedError(what)
  }
}

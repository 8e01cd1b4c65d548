import { privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import {
  CLOCK, InvalidOptionError, LOGGER, PRIVATE_KEY, PeerIdMismatchError, TimeoutError, expandUnspecified, inject, injectable,
  isUnspecified, raceAbort, timeoutSignal, toError
} from '@tswarm/core'
import { SOCKET_FAMILY, loadQuicBinding } from './binding.js'
import { QuicMultiaddrConnection } from './connection.js'
import {
  QuicAddressError, QuicDialError, QuicListenError, QuicRemotePeerError, QuicSocketOpenError, QuicSocketUnavailableError,
  QuicTransportClosedError
} from './errors.js'
import { QuicStreamMuxerFactory } from './stream.js'
import { QUIC_BINDING, QUIC_OPTIONS } from './tokens.js'
import type { NativeClient, NativeConnection, NativeQuinnConfig, NativeServer, QuicBinding } from './binding.js'
import type { ComponentLogger, Logger, PeerId, PrivateKey } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Clock, Listener, MuxedConnection, Transport, TransportDialOptions, TransportListenOptions, Upgrader } from '@tswarm/core'

/** The QUIC settings, all optional; see {@link QUIC_DEFAULTS}. */
export interface QuicOptions {
  /** Time a QUIC handshake may take (ms); a dial that takes longer fails with a TimeoutError. Default 5 000. */
  handshakeTimeout?: number
  /** A connection silent this long is closed (ms); keep-alives prevent it for live peers. Default 10 000. */
  maxIdleTimeout?: number
  /** Keep-alive interval (ms). Default 5 000. */
  keepAliveInterval?: number
  /** Concurrent streams a peer may open on one connection. Default 256. */
  maxConcurrentStreamLimit?: number
  /**
   * Flow-control window per stream (bytes): how far a remote may write ahead of what we have read. Default
   * 10 000 000.
   */
  maxStreamData?: number
  /** Flow-control window per connection (bytes). Default 15 000 000. */
  maxConnectionData?: number
  /** Whether to open an IPv4 UDP socket for dialing. Default true. */
  ipv4?: boolean
  /** Whether to open an IPv6 UDP socket for dialing. Default true. */
  ipv6?: boolean
}

/** The defaults of {@link QuicOptions} (those of @chainsafe/libp2p-quic), and the OS socket buffer sizes it uses. */
export const QUIC_DEFAULTS = {
  handshakeTimeout: 5_000,
  maxIdleTimeout: 10_000,
  keepAliveInterval: 5_000,
  maxConcurrentStreamLimit: 256,
  maxStreamData: 10_000_000,
  maxConnectionData: 15_000_000,
  receiveBufferSize: 500_000,
  sendBufferSize: 500_000
} as const

const NUMERIC_OPTIONS = ['handshakeTimeout', 'maxIdleTimeout', 'keepAliveInterval', 'maxConcurrentStreamLimit', 'maxStreamData', 'maxConnectionData'] as const

/** A QUIC-v1 address taken apart. */
export interface QuicAddr {
  family: 4 | 6
  ip: string
  port: number
  /** The trailing `/p2p/<id>`, if any. */
  peer?: PeerId
}

/** `/ip4|ip6/<ip>/udp/<port>/quic-v1`, optionally with a trailing `/p2p/<id>`; anything else is `undefined`. */
export function parseQuicAddr (addr: Multiaddr): QuicAddr | undefined {
  const parts = addr.getComponents()
  if (parts.length !== 3 && parts.length !== 4) return undefined
  const [ip, udp, quic, p2p] = parts
  if ((ip.name !== 'ip4' && ip.name !== 'ip6') || udp.name !== 'udp' || quic.name !== 'quic-v1') return undefined
  if (p2p !== undefined && (p2p.name !== 'p2p' || p2p.value === undefined)) return undefined
  const port = Number(udp.value)
  if (ip.value === undefined || !Number.isInteger(port) || port < 0 || port > 65535) return undefined
  let peer: PeerId | undefined
  if (p2p?.value !== undefined) {
    try {
      peer = peerIdFromString(p2p.value)
    } catch {
      return undefined
    }
  }
  return { family: ip.name === 'ip4' ? 4 : 6, ip: ip.value, port, peer }
}

/** The peer ID on the end of the binding's remote address (from the remote's TLS certificate). */
function remotePeerOf (maConn: QuicMultiaddrConnection): PeerId {
  const p2p = maConn.remoteAddr.getComponents().find(c => c.name === 'p2p')
  if (p2p?.value === undefined) throw new QuicRemotePeerError(maConn.remoteAddr.toString())
  try {
    return peerIdFromString(p2p.value)
  } catch (err) {
    throw new QuicRemotePeerError(maConn.remoteAddr.toString(), err)
  }
}

/**
 * Checks QUIC options once, where they are given (`quic(options)`), and returns them frozen; throws an
 * InvalidOptionError naming the option and the bad value. Defaults stay out: {@link QUIC_DEFAULTS} fills them in.
 */
export function resolveQuicOptions (options: QuicOptions = {}): Readonly<QuicOptions> {
  for (const key of NUMERIC_OPTIONS) {
    const value = options[key]
    // the binding takes u32s; a handshake timeout of 0 would fail every dial at once
    const min = key === 'handshakeTimeout' ? 1 : 0
    if (value !== undefined && (!Number.isInteger(value) || value < min || value > 0xffffffff)) {
      throw new InvalidOptionError(key, value, `an integer from ${min} to 4294967295`)
    }
  }
  if (options.ipv4 === false && options.ipv6 === false) {
    throw new InvalidOptionError('ipv4', false, 'ipv4 or ipv6 (or both) true: with neither, nothing could be dialed')
  }
  return Object.isFrozen(options) ? options : Object.freeze({ ...options })
}

/**
 * QUIC-v1 as a tswarm {@link Transport}, over the quinn addon of @chainsafe/libp2p-quic. The addon dials, accepts and
 * runs TLS 1.3 with libp2p certificates; every connection then goes through `Upgrader.adoptSecured`, so the swarm's
 * accept and secured gates and its identity check apply, and streams are this package's ({@link QuicStreamMuxerFactory}).
 *
 * Dialing uses one UDP socket per address family (opened by `start()` or the first dial), listening one per listener.
 * `close()` closes all of them: listeners' sockets are unbound at once; the binding cannot unbind a dialing socket, so
 * it is closed for use and released when garbage collected.
 *
 * Built by the swarm's container: `quic()` registers the options under `QUIC_OPTIONS` and resolves the class, which is
 * given the swarm's `PRIVATE_KEY`, `LOGGER` and `CLOCK`; the handshake timeout is a timer on that clock.
 */
@injectable()
export class QuicTransport implements Transport {
  readonly name = 'quic-v1'
  readonly protocols = ['quic-v1']
  readonly #binding: QuicBinding
  readonly #config: NativeQuinnConfig
  readonly #logger: ComponentLogger
  readonly #log: Logger
  readonly #clock: Clock
  readonly #handshakeTimeout: number
  readonly #families: ReadonlyArray<4 | 6>
  #clients: Map<4 | 6, NativeClient> | undefined
  /** Why a family's dialing socket could not be opened, for the error of a dial that needs it. */
  readonly #socketFailures = new Map<4 | 6, unknown>()
  readonly #listeners = new Set<QuicListener>()
  #closed = false

  /**
   * @param privateKey - our identity (`PRIVATE_KEY`): the TLS certificate is derived from it
   * @param logger - the swarm's logger (`LOGGER`)
   * @param clock - the swarm's clock (`CLOCK`): the handshake timeout is a timer on it, so a ManualClock drives it
   * @param options - the QUIC settings (`QUIC_OPTIONS`), defaults in {@link QUIC_DEFAULTS}
   * @param binding - the native addon (`QUIC_BINDING`, optional); loaded with {@link loadQuicBinding} when absent
   * @throws InvalidOptionError naming a bad option, `QuicBindingError` when no native binding loads
   */
  constructor (
    @inject(PRIVATE_KEY) privateKey: PrivateKey,
    @inject(LOGGER) logger: ComponentLogger,
    @inject(CLOCK) clock: Clock,
    @inject(QUIC_OPTIONS, { isOptional: true }) options: QuicOptions = {},
    @inject(QUIC_BINDING, { isOptional: true }) binding?: QuicBinding
  ) {
    options = resolveQuicOptions(options)
    const families: Array<4 | 6> = []
    if (options.ipv4 !== false) families.push(4)
    if (options.ipv6 !== false) families.push(6)
    this.#families = families
    this.#binding = binding ?? loadQuicBinding()
    this.#clock = clock
    this.#logger = logger
    this.#log = logger.forComponent('tswarm:quic')
    const settings = { ...QUIC_DEFAULTS, ...definedOnly(options) }
    this.#handshakeTimeout = settings.handshakeTimeout
    this.#config = new this.#binding.QuinnConfig({
      privateKeyProto: privateKeyToProtobuf(privateKey),
      handshakeTimeout: settings.handshakeTimeout,
      maxIdleTimeout: settings.maxIdleTimeout,
      keepAliveInterval: settings.keepAliveInterval,
      maxConcurrentStreamLimit: settings.maxConcurrentStreamLimit,
      maxStreamData: settings.maxStreamData,
      maxConnectionData: settings.maxConnectionData,
      receiveBufferSize: settings.receiveBufferSize,
      sendBufferSize: settings.sendBufferSize
    })
  }

  canDial (addr: Multiaddr): boolean {
    const parsed = parseQuicAddr(addr)
    return parsed !== undefined && parsed.port !== 0
  }

  canListen (addr: Multiaddr): boolean {
    return parseQuicAddr(addr) !== undefined
  }

  start (): void {
    this.#openClients()
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await Promise.allSettled([...this.#listeners].map(async l => { await l.close() }))
    // Closes every connection dialed through them and fails dials in progress ('endpoint stopping'); dropping the
    // objects lets the sockets go.
    for (const client of this.#clients?.values() ?? []) client.abort()
    this.#clients = undefined
  }

  async dial (addr: Multiaddr, options: TransportDialOptions): Promise<MuxedConnection> {
    options.signal.throwIfAborted()
    const target = parseQuicAddr(addr)
    if (target === undefined || target.port === 0) throw new QuicAddressError(addr.toString(), 'dial')
    const client = this.#openClients().get(target.family)
    if (client === undefined) throw new QuicSocketUnavailableError(target.family, this.#socketFailures.get(target.family))
    // on the swarm's clock, so the connection's handshake duration is too
    const handshakeStartedAt = this.#clock.now()
    const connection = await this.#connect(client, target, addr, options.signal)
    options.onProgress?.()
    const maConn = new QuicMultiaddrConnection({ connection, direction: 'outbound', log: this.#connectionLog(connection, 'outbound') })
    let remotePeer: PeerId
    try {
      remotePeer = remotePeerOf(maConn)
      // A /p2p in the address names whom we meant; the swarm's expected peer is checked by the upgrader.
      if (target.peer !== undefined && !target.peer.equals(remotePeer)) throw new PeerIdMismatchError(target.peer, remotePeer)
    } catch (err) {
      maConn.abort(toError(err))
      throw err
    }
    return adopt(options.upgrader, maConn, connection, this.#logger, {
      direction: 'outbound',
      remotePeer,
      expectedPeer: options.remotePeer ?? target.peer,
      localAddr: undefined,
      signal: options.signal,
      handshakeStartedAt
    })
  }

  async listen (addr: Multiaddr, options: TransportListenOptions): Promise<Listener> {
    if (this.#closed) throw new QuicTransportClosedError()
    const target = parseQuicAddr(addr)
    if (target === undefined) throw new QuicAddressError(addr.toString(), 'listen')
    let server: NativeServer
    try {
      server = new this.#binding.Server(this.#config, target.ip, target.port)
    } catch (err) {
      throw new QuicListenError(addr.toString(), err)
    }
    const listener = new QuicListener({
      server,
      target: { ...target, peer: undefined, port: server.port() },
      options,
      logger: this.#logger,
      onClosed: l => { this.#listeners.delete(l) }
    })
    this.#listeners.add(listener)
    return listener
  }

  #openClients (): Map<4 | 6, NativeClient> {
    if (this.#closed) throw new QuicTransportClosedError()
    if (this.#clients !== undefined) return this.#clients
    const clients = new Map<4 | 6, NativeClient>()
    const errors: unknown[] = []
    for (const family of this.#families) {
      try {
        clients.set(family, new this.#binding.Client(this.#config, family === 4 ? SOCKET_FAMILY.ipv4 : SOCKET_FAMILY.ipv6))
      } catch (err) {
        // e.g. no IPv6 on this host: dial what we can
        this.#log('no QUIC socket for IPv%d - %e', family, err)
        this.#socketFailures.set(family, err)
        errors.push(err)
      }
    }
    if (clients.size === 0) throw new QuicSocketOpenError(errors)
    this.#clients = clients
    return clients
  }

  /**
   * The native dial cannot be cancelled, and the binding does not apply handshakeTimeout (a dead address takes
   * maxIdleTimeout): both are applied here, the timeout on the swarm's clock, and a connection that arrives after we
   * gave up is closed.
   */
  async #connect (client: NativeClient, target: QuicAddr, addr: Multiaddr, signal: AbortSignal): Promise<NativeConnection> {
    const ms = this.#handshakeTimeout
    const timeout = timeoutSignal(this.#clock, ms, signal, () => new TimeoutError(`QUIC handshake with ${addr.toString()} did not ` +
      `finish within ${ms} ms: the peer may be down or UDP blocked on the way; raise quic({ handshakeTimeout }) for slow links`))
    const dialing = client.outboundConnection(target.ip, target.port).catch((err: unknown) => {
      throw new QuicDialError(addr.toString(), err)
    })
    try {
      return await raceAbort(dialing, timeout.signal)
    } catch (err) {
      // Gave up (timeout or abort): a connection that still comes is not wanted.
      if (timeout.signal.aborted) dialing.then(connection => { connection.abort() }, () => {})
      throw err
    } finally {
      timeout.clear()
    }
  }

  #connectionLog (connection: NativeConnection, direction: string): Logger {
    return this.#logger.forComponent(`tswarm:quic:connection:${connection.id()}:${direction}`)
  }
}

interface AdoptInit {
  direction: 'inbound' | 'outbound'
  remotePeer: PeerId
  expectedPeer?: PeerId
  localAddr: Multiaddr | undefined
  signal?: AbortSignal
  handshakeStartedAt?: number
}

async function adopt (upgrader: Upgrader, maConn: QuicMultiaddrConnection, connection: NativeConnection, logger: ComponentLogger,
  init: AdoptInit): Promise<MuxedConnection> {
  return upgrader.adoptSecured(maConn, {
    ...init,
    muxerFactory: new QuicStreamMuxerFactory(connection, logger),
    security: 'tls',
    transport: 'quic-v1'
  })
}

function definedOnly<T extends object> (options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>
}

interface QuicListenerInit {
  server: NativeServer
  /** Where the server is bound, with the real port. */
  target: QuicAddr
  options: TransportListenOptions
  logger: ComponentLogger
  onClosed: (listener: QuicListener) => void
}

/** One listening UDP socket. Its connections travel over it, so closing it closes them. */
class QuicListener implements Listener {
  readonly #server: NativeServer
  readonly #bound: Multiaddr
  readonly #options: TransportListenOptions
  readonly #logger: ComponentLogger
  readonly #log: Logger
  readonly #onClosed: (listener: QuicListener) => void
  readonly #shutdown = new AbortController()
  #closeHandlers: Array<(err?: Error) => void> = []
  #closing: Promise<void> | undefined
  #closed = false

  constructor (init: QuicListenerInit) {
    this.#server = init.server
    this.#bound = multiaddr(`/${init.target.family === 4 ? 'ip4' : 'ip6'}/${init.target.ip}/udp/${init.target.port}/quic-v1`)
    this.#options = init.options
    this.#logger = init.logger
    this.#log = init.logger.forComponent('tswarm:quic:listener')
    this.#onClosed = init.onClosed
    this.#log('listening on %a', this.#bound)
    void this.#accept()
  }

  getAddrs (): Multiaddr[] {
    if (this.#closing !== undefined) return []
    // A wildcard socket reports one address per interface address of its family, as the library's listener does.
    return expandUnspecified(this.#bound)
  }

  onClose (handler: (err?: Error) => void): void {
    if (this.#closed) handler()
    else this.#closeHandlers.push(handler)
  }

  async close (): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close (err?: Error): Promise<void> {
    this.#shutdown.abort()
    // Closes the connections it accepted and unbinds the socket.
    await this.#server.abort()
    this.#closed = true
    this.#onClosed(this)
    this.#log('closed %a', this.#bound)
    for (const h of this.#closeHandlers.splice(0)) h(err)
  }

  async #accept (): Promise<void> {
    for (;;) {
      let connection: NativeConnection
      try {
        connection = await this.#server.inboundConnection()
      } catch (err) {
        // 'server closed' once we aborted it; anything else ends the listener too, and says why.
        if (this.#closing === undefined) {
          this.#log.error('accepting on %a failed - %e', this.#bound, err)
          this.#closing = this.#close(toError(err))
        }
        return
      }
      if (this.#closing !== undefined) {
        connection.abort()
        return
      }
      this.#onConnection(connection).catch(err => { this.#log.error('inbound connection failed - %e', err) })
    }
  }

  async #onConnection (connection: NativeConnection): Promise<void> {
    let maConn: QuicMultiaddrConnection | undefined
    try {
      maConn = new QuicMultiaddrConnection({ connection, direction: 'inbound', log: this.#logger.forComponent(`tswarm:quic:connection:${connection.id()}:inbound`) })
      const remotePeer = remotePeerOf(maConn)
      const wildcard = isUnspecified(this.#bound)
      const conn = await adopt(this.#options.upgrader, maConn, connection, this.#logger, {
        direction: 'inbound',
        remotePeer,
        // a wildcard socket does not say which of our addresses the remote reached
        localAddr: wildcard ? undefined : this.#bound,
        signal: this.#shutdown.signal
      })
      this.#options.onConnection(conn)
    } catch (err) {
      const error = toError(err)
      if (maConn !== undefined) maConn.abort(error)
      else connection.abort()
      this.#options.onError?.(error)
    }
  }
}

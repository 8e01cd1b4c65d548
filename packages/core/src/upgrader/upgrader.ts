import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { handle, select } from '@libp2p/multistream-select'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { inject, injectAll, injectable } from '../di.js'
import { timeoutSignal } from '../clock.js'
import { PeerIdMismatchError, TimeoutError, UpgradeError, errorIs, toError } from '../errors.js'
import { checkGates } from '../gating.js'
import { CLOCK, CONNECTION_GATER, LOGGER, PRIVATE_KEY, RESOURCE_MANAGER, SWARM_CONFIG } from '../tokens.js'
import { selectLazily } from './lazy-select.js'
import { nodeNoiseCrypto } from './noise-crypto.js'
import { UpgradedConnection } from './upgraded-connection.js'
import type { SwarmConfig } from '../config.js'
import type { Clock } from '../interfaces/clock.js'
import type { ConnectionAddrs, ConnectionGater, Direction } from '../interfaces/gater.js'
import type { ConnectionScope, ResourceManager } from '../interfaces/resources.js'
import type { MuxedConnection } from '../interfaces/transport.js'
import type { AdoptOptions, OutboundUpgradeOptions, UpgradeOptions, Upgrader } from '../interfaces/upgrader.js'
import type { ConnectionEncrypter, MessageStream, MultiaddrConnection, PeerId, PrivateKey, SecuredConnection, StreamMuxerFactory, Upgrader as Libp2pUpgrader } from '@libp2p/interface'
import type { ComponentLogger, Logger } from '@libp2p/logger'

export const NOISE_PROTOCOL = '/noise'
export const YAMUX_PROTOCOL = '/yamux/1.0.0'
/** The largest Yamux receive window per stream: the read buffer size of a js-libp2p v3 stream. */
const MAX_STREAM_WINDOW = 4 * 1024 * 1024

/**
 * The default upgrader: multistream-select `/noise` (the dialer proposes it lazily, see {@link selectLazily}), Noise XX,
 * then Yamux (chosen inside the Noise handshake when both sides offer early muxer negotiation, else by
 * multistream-select), with the accept and secured gates, a remote identity check, and a timeout on every inbound
 * upgrade.
 */
@injectable()
export class NoiseYamuxUpgrader implements Upgrader {
  readonly #localPeer: PeerId
  readonly #encrypter: ConnectionEncrypter
  readonly #muxers: Map<string, StreamMuxerFactory>
  readonly #log: Logger

  constructor (
    @inject(PRIVATE_KEY) privateKey: PrivateKey,
    @injectAll(CONNECTION_GATER, { isOptional: true }) private readonly gaters: ConnectionGater[],
    @inject(SWARM_CONFIG) private readonly config: SwarmConfig,
    @inject(CLOCK) private readonly clock: Clock,
    @inject(LOGGER) logger: ComponentLogger,
    @inject(RESOURCE_MANAGER) private readonly resources: ResourceManager
  ) {
    this.#localPeer = peerIdFromPrivateKey(privateKey)
    this.#log = logger.forComponent('tswarm:upgrader')
    // The swarm's liveness check pings every connection from one shared timer, which keeps idle connections open
    // through NATs and notices a vanished peer; Yamux's own keep-alive would ping each one again from a timer of its
    // own (1.5 KiB of heap per connection, measured), so it is off, and UpgradedConnection makes the one early ping
    // Yamux needs to learn the round-trip time. The inbound stream cap bounds what one peer can make us hold. A paused
    // stream stops granting window, but the remote may still send what it was already granted; capping the window at
    // the inner stream's read buffer (4 MiB) means that can never overflow it and reset the stream.
    const yamuxFactory = yamux({
      maxInboundStreams: 1024,
      enableKeepAlive: false,
      streamOptions: { maxStreamWindowSize: MAX_STREAM_WINDOW }
    })()
    this.#muxers = new Map([[yamuxFactory.protocol, yamuxFactory]])
    // Noise asks the upgrader for the muxers it may offer in its early negotiation extension; it needs nothing
    // else of the libp2p Upgrader interface.
    const muxerSource = { getStreamMuxers: () => this.#muxers } as unknown as Libp2pUpgrader
    this.#encrypter = noise({ crypto: nodeNoiseCrypto })({ peerId: this.#localPeer, privateKey, logger, upgrader: muxerSource })
  }

  async upgradeOutbound (maConn: MultiaddrConnection, options: OutboundUpgradeOptions): Promise<MuxedConnection> {
    return this.#upgrade(maConn, 'outbound', options, options.remotePeer, options.signal)
  }

  async upgradeInbound (maConn: MultiaddrConnection, options: UpgradeOptions): Promise<MuxedConnection> {
    const addrs = { localAddr: options.localAddr, remoteAddr: maConn.remoteAddr }
    let upgraded = false
    // The TCP listener gives no timeout of its own: without this a silent peer would hold the socket forever.
    const timeout = timeoutSignal(this.clock, this.config.inboundUpgradeTimeout, options.signal,
      () => new TimeoutError(`inbound upgrade did not finish within ${this.config.inboundUpgradeTimeout} ms`))
    try {
      let scope: ConnectionScope
      try {
        // Before any handshake work: a refused peer costs us nothing but the accept.
        await checkGates(this.gaters, 'interceptAccept', `inbound connection from ${addrs.remoteAddr.toString()}`,
          g => g.interceptAccept?.(addrs))
        scope = this.resources.openConnection('inbound', maConn.remoteAddr)
      } catch (err) {
        maConn.abort(toError(err))
        throw err
      }
      try {
        const conn = await this.#upgrade(maConn, 'inbound', options, undefined, timeout.signal, scope)
        upgraded = true
        return conn
      } catch (err) {
        scope.done()
        throw err
      }
    } finally {
      timeout.clear()
      this.#settled(addrs, upgraded)
    }
  }

  async adoptSecured (maConn: MultiaddrConnection, options: AdoptOptions): Promise<MuxedConnection> {
    const addrs = { localAddr: options.localAddr, remoteAddr: maConn.remoteAddr }
    let upgraded = false
    let scope: ConnectionScope | undefined
    try {
      if (options.direction === 'inbound') {
        await checkGates(this.gaters, 'interceptAccept', `inbound connection from ${addrs.remoteAddr.toString()}`,
          g => g.interceptAccept?.(addrs))
      }
      this.#checkExpectedPeer(options.expectedPeer, options.remotePeer)
      await this.#gateSecured(options.direction, options.remotePeer, addrs)
      // Outbound connections were charged by the swarm before it dialed; inbound ones are charged here.
      if (options.direction === 'inbound') {
        scope = this.resources.openConnection('inbound', maConn.remoteAddr)
        scope.setPeer(options.remotePeer)
      }
      const muxer = options.muxerFactory.createStreamMuxer(maConn)
      const conn = this.#connection(maConn, muxer, options, options.direction, options.remotePeer, options.security, options.muxerFactory.protocol, undefined, options.handshakeStartedAt, scope)
      upgraded = true
      return conn
    } catch (err) {
      scope?.done()
      maConn.abort(toError(err))
      throw err
    } finally {
      if (options.direction === 'inbound') this.#settled(addrs, upgraded)
    }
  }

  /** Tells every gater an inbound connection left the pending state, so counters of pending connections stay right. */
  #settled (addrs: ConnectionAddrs, upgraded: boolean): void {
    for (const g of this.gaters) {
      try {
        g.inboundSettled?.(addrs, upgraded)
      } catch (err) {
        this.#log.error('gater %s threw in inboundSettled: %e', g.name ?? 'anonymous', err)
      }
    }
  }

  async #upgrade (maConn: MultiaddrConnection, direction: Direction, options: UpgradeOptions,
    expectedPeer: PeerId | undefined, signal: AbortSignal | undefined, scope?: ConnectionScope): Promise<MuxedConnection> {
    let stage = 'security negotiation'
    const startedAt = this.clock.now()
    const addrs = { localAddr: options.localAddr, remoteAddr: maConn.remoteAddr }
    try {
      const opts = { signal }
      let secured: SecuredConnection
      if (direction === 'outbound') {
        // The proposal and the first Noise message leave together; the answer is checked as it arrives, before the
        // responder's Noise message, and a refusal fails the upgrade with the negotiation's error.
        const answered = selectLazily(maConn, NOISE_PROTOCOL, signal).then(() => { stage = 'noise handshake' })
        const securing = this.#encrypter.secureOutbound(maConn, opts)
        const [, result] = await Promise.all([answered, securing])
        secured = result
      } else {
        await handle(maConn, NOISE_PROTOCOL, opts)
        stage = 'noise handshake'
        secured = await this.#encrypter.secureInbound(maConn, opts)
      }
      this.#checkExpectedPeer(expectedPeer, secured.remotePeer)
      stage = 'secured gate'
      await this.#gateSecured(direction, secured.remotePeer, addrs)
      stage = 'resource limits'
      scope?.setPeer(secured.remotePeer)

      stage = 'muxer negotiation'
      const early = secured.streamMuxer !== undefined
      const muxerFactory = secured.streamMuxer ?? await this.#negotiateMuxer(secured.connection, direction, signal)
      signal?.throwIfAborted()
      const muxer = muxerFactory.createStreamMuxer(secured.connection)
      return this.#connection(maConn, muxer, options, direction, secured.remotePeer, NOISE_PROTOCOL, muxerFactory.protocol, early, startedAt, scope)
    } catch (cause) {
      const err = signal?.aborted === true && !errorIs(cause, 'GaterDisallowedError') ? signal.reason ?? cause : cause
      maConn.abort(toError(err))
      this.#log('%s upgrade with %a failed during %s: %e', direction, maConn.remoteAddr, stage, err)
      // Refusals and identity mismatches are already precise; everything else says where it broke.
      if (errorIs(err, 'GaterDisallowedError') || errorIs(err, 'PeerIdMismatchError') || errorIs(err, 'ResourceLimitError')) throw err
      throw new UpgradeError(direction, stage, err)
    }
  }

  async #negotiateMuxer (connection: MessageStream, direction: Direction, signal: AbortSignal | undefined): Promise<StreamMuxerFactory> {
    const protocols = [...this.#muxers.keys()]
    const chosen = direction === 'outbound'
      ? await select(connection, protocols, { signal })
      : await handle(connection, protocols, { signal })
    const factory = this.#muxers.get(chosen)
    if (factory === undefined) throw new Error(`negotiated unknown muxer ${chosen}`)
    return factory
  }

  #checkExpectedPeer (expected: PeerId | undefined, actual: PeerId): void {
    if (expected !== undefined && !expected.equals(actual)) throw new PeerIdMismatchError(expected, actual)
  }

  async #gateSecured (direction: Direction, peer: PeerId, addrs: ConnectionAddrs): Promise<void> {
    await checkGates(this.gaters, 'interceptSecured', `${direction} connection with ${peer.toString()}`,
      g => g.interceptSecured?.(direction, peer, addrs))
  }

  #connection (maConn: MultiaddrConnection, muxer: ReturnType<StreamMuxerFactory['createStreamMuxer']>,
    options: UpgradeOptions, direction: Direction, remotePeer: PeerId, security: string, muxerProtocol: string,
    usedEarlyMuxerNegotiation: boolean | undefined, handshakeStartedAt: number | undefined, scope: ConnectionScope | undefined): UpgradedConnection {
    const remotePublicKey = remotePeer.publicKey
    if (remotePublicKey === undefined) throw new Error(`no public key for ${remotePeer.toString()} after the handshake`)
    return new UpgradedConnection({
      maConn,
      handshakeDuration: handshakeStartedAt === undefined ? undefined : Math.max(0, this.clock.now() - handshakeStartedAt),
      muxer,
      direction,
      localPeer: this.#localPeer,
      remotePeer,
      remotePublicKey,
      localAddr: options.localAddr,
      transport: options.transport,
      security,
      muxerProtocol,
      usedEarlyMuxerNegotiation,
      scope
    })
  }
}

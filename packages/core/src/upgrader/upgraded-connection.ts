import { stripPeerId } from '../swarm/addrs.js'
import type { Direction } from '../interfaces/gater.js'
import type { MuxedConnection, MuxedStream } from '../interfaces/transport.js'
import type { ResourceScope } from '../interfaces/resources.js'
import type { AbortOptions, MultiaddrConnection, PeerId, PublicKey, StreamMuxer } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { toError } from '../errors.js'

/**
 * Inbound streams held while no handler is set; beyond this they are reset, so a peer cannot queue without bound.
 * go-yamux's accept backlog: a go-libp2p dialer may open that many streams in the flight that ends its handshake,
 * before our side has taken the connection.
 */
const MAX_PENDING_INBOUND_STREAMS = 256

export interface UpgradedConnectionInit {
  maConn: MultiaddrConnection
  muxer: StreamMuxer
  direction: Direction
  localPeer: PeerId
  remotePeer: PeerId
  remotePublicKey: PublicKey
  localAddr: Multiaddr | undefined
  transport: string
  security: string
  muxerProtocol: string
  /** The muxer came from the security handshake; absent when the transport brought its own. */
  usedEarlyMuxerNegotiation?: boolean
  /** From the raw connection being up to now (ms). */
  handshakeDuration?: number
  /** The connection's resource reservation, released when it closes. */
  scope?: ResourceScope
}

/** A raw connection with its security and muxer applied: what upgraders hand to the swarm. */
export class UpgradedConnection implements MuxedConnection {
  readonly direction: Direction
  readonly localPeer: PeerId
  readonly remotePeer: PeerId
  readonly remotePublicKey: PublicKey
  readonly localAddr: Multiaddr | undefined
  readonly remoteAddr: Multiaddr
  readonly transport: string
  readonly security: string
  readonly muxer: string
  readonly usedEarlyMuxerNegotiation?: boolean
  readonly handshakeDuration?: number
  readonly ping?: (options?: AbortOptions) => Promise<number>
  readonly #maConn: MultiaddrConnection
  readonly #muxer: StreamMuxer
  #status: 'open' | 'closing' | 'closed' = 'open'
  #streamHandler?: (stream: MuxedStream) => void
  #pending: MuxedStream[] = []
  readonly #closeHandlers: Array<(err?: Error) => void> = []
  #closeError?: Error
  readonly #closed = Promise.withResolvers<void>()
  readonly #scope: ResourceScope | undefined

  constructor (init: UpgradedConnectionInit) {
    this.direction = init.direction
    this.localPeer = init.localPeer
    this.remotePeer = init.remotePeer
    this.remotePublicKey = init.remotePublicKey
    this.localAddr = init.localAddr
    // Some transports (QUIC) put the remote's /p2p/<id> on the address; the swarm keeps peers and addresses apart.
    this.remoteAddr = stripPeerId(init.maConn.remoteAddr)
    this.transport = init.transport
    this.security = init.security
    this.muxer = init.muxerProtocol
    this.usedEarlyMuxerNegotiation = init.usedEarlyMuxerNegotiation
    this.handshakeDuration = init.handshakeDuration
    this.#scope = init.scope
    // Only some muxers can ping (Yamux can); the StreamMuxer contract has no ping.
    const pinger = init.muxer as StreamMuxer & { ping?: (options?: AbortOptions) => Promise<number> }
    if (typeof pinger.ping === 'function') {
      this.ping = async options => pinger.ping?.(options) ?? 0
      // Yamux grows a stream's receive window only once it knows the round-trip time, which a ping measures; its own
      // keep-alive, which would send this one, is off (the swarm's liveness check pings instead)
      this.ping().catch(() => {})
    }
    this.#maConn = init.maConn
    this.#muxer = init.muxer

    this.#muxer.addEventListener('stream', (evt) => { this.#onInboundStream(evt.detail) })
    this.#maConn.addEventListener('close', (evt) => { this.#onClosed(evt.error) }, { once: true })
    if (this.#maConn.status !== 'open') this.#onClosed()
  }

  get status (): 'open' | 'closing' | 'closed' {
    return this.#status
  }

  async openStream (options?: AbortOptions): Promise<MuxedStream> {
    return this.#muxer.createStream(options)
  }

  onStream (handler: (stream: MuxedStream) => void): void {
    this.#streamHandler = handler
    const pending = this.#pending
    this.#pending = []
    for (const s of pending) handler(s)
  }

  onClose (handler: (err?: Error) => void): void {
    if (this.#status === 'closed') {
      handler(this.#closeError)
      return
    }
    this.#closeHandlers.push(handler)
  }

  async close (options?: AbortOptions): Promise<void> {
    if (this.#status !== 'open') return
    this.#status = 'closing'
    try {
      await this.#muxer.close(options)
      // The raw connection's own close can wait forever for a 'drain' when the socket fails mid-close (it empties its
      // buffer but keeps waiting); the connection is closed all the same once it reports 'close'.
      await Promise.race([this.#maConn.close(options), this.#closed.promise])
    } catch (err) {
      // A graceful close that fails (timeout, broken socket) still has to free the socket.
      this.#maConn.abort(toError(err))
    }
  }

  abort (err: Error): void {
    if (this.#status === 'closed') return
    this.#status = 'closing'
    this.#muxer.abort(err)
    this.#maConn.abort(err)
  }

  #onInboundStream (stream: MuxedStream): void {
    if (this.#streamHandler !== undefined) {
      this.#streamHandler(stream)
      return
    }
    if (this.#pending.length >= MAX_PENDING_INBOUND_STREAMS) {
      stream.abort(new Error('too many inbound streams before the connection was accepted'))
      return
    }
    this.#pending.push(stream)
  }

  #onClosed (err?: Error): void {
    if (this.#status === 'closed') return
    this.#status = 'closed'
    this.#closeError = err
    this.#closed.resolve()
    this.#scope?.done()
    for (const s of this.#pending) s.abort(err ?? new Error('connection closed'))
    this.#pending = []
    const handlers = this.#closeHandlers.splice(0)
    for (const h of handlers) h(err)
  }
}

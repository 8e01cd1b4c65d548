import { toError } from '../errors.js'
import type { Listener, MuxedConnection, Transport, TransportDialOptions, TransportListenOptions } from '../interfaces/transport.js'
import type { Upgrader } from '../interfaces/upgrader.js'
import type {
  ClearableSignal, Connection, ConnectionEncrypter, Transport as Libp2pTransport, Upgrader as Libp2pUpgrader,
  MultiaddrConnection, PeerId, StreamMuxerFactory, UpgraderOptions, UpgraderWithoutEncryptionOptions
} from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface Libp2pTransportAdapterInit {
  /** Our name for the transport, e.g. `tcp`. */
  name: string
  /** The multiaddr protocol names it owns, e.g. `['tcp']`. */
  protocols: readonly string[]
  /** The js-libp2p v3 transport, already constructed with its components. */
  transport: Libp2pTransport
  /** The security to record for connections the transport secures itself (e.g. `tls` for QUIC). */
  nativeSecurity?: string
  /** Our end of a raw connection, when the transport exposes it. */
  localAddrOf?(maConn: MultiaddrConnection): Multiaddr | undefined
  /** Adjusts a raw connection before its upgrade starts (the TCP transport coalesces its socket writes here). */
  prepare?(maConn: MultiaddrConnection): void
  /** Releases the transport's resources (e.g. `stop()` for Startable transports). */
  close?(): Promise<void>
  /** Acquires the transport's resources (e.g. `start()` for Startable transports). */
  start?(): void | Promise<void>
}

type Direction = 'inbound' | 'outbound'
type AnyUpgradeOptions = UpgraderOptions | UpgraderWithoutEncryptionOptions

/**
 * Makes any js-libp2p v3 transport a tswarm Transport. A js-libp2p transport calls the upgrader it is given on every
 * raw connection; the adapter gives it one that forwards to the swarm's Upgrader, so our handshakes, gates and
 * timeouts apply, and hands the resulting connection to the swarm. Transports that secure and multiplex on their
 * own (QUIC) call the upgrader with `skipEncryption`; those connections go through `Upgrader.adoptSecured`.
 */
export class Libp2pTransportAdapter implements Transport {
  readonly name: string
  readonly protocols: readonly string[]
  readonly #init: Libp2pTransportAdapterInit

  constructor (init: Libp2pTransportAdapterInit) {
    this.name = init.name
    this.protocols = init.protocols
    this.#init = init
  }

  canDial (addr: Multiaddr): boolean {
    return this.#init.transport.dialFilter([addr]).length > 0
  }

  canListen (addr: Multiaddr): boolean {
    return this.#init.transport.listenFilter([addr]).length > 0
  }

  async start (): Promise<void> {
    await this.#init.start?.()
  }

  async close (): Promise<void> {
    await this.#init.close?.()
  }

  async dial (addr: Multiaddr, options: TransportDialOptions): Promise<MuxedConnection> {
    const shim = this.#upgraderShim(options.upgrader, 'outbound', options.remotePeer, undefined, options.onProgress)
    // The js-libp2p transport returns whatever its upgrader returned: our MuxedConnection.
    const conn: unknown = await this.#init.transport.dial(addr, { signal: options.signal, upgrader: shim })
    return conn as MuxedConnection
  }

  async listen (addr: Multiaddr, options: TransportListenOptions): Promise<Listener> {
    const shim = this.#upgraderShim(options.upgrader, 'inbound', undefined, options)
    const listener = this.#init.transport.createListener({ upgrader: shim })
    await listener.listen(addr)
    let closeHandlers: Array<(err?: Error) => void> | undefined = []
    const fireClose = (err?: Error): void => {
      const handlers = closeHandlers
      closeHandlers = undefined
      for (const h of handlers ?? []) h(err)
    }
    listener.addEventListener('close', () => { fireClose() }, { once: true })
    return {
      getAddrs: () => listener.getAddrs(),
      onClose: handler => {
        if (closeHandlers === undefined) handler()
        else closeHandlers.push(handler)
      },
      close: async () => {
        await listener.close()
        fireClose()
      }
    }
  }

  #upgraderShim (upgrader: Upgrader, direction: Direction, expectedPeer: PeerId | undefined,
    listen: TransportListenOptions | undefined, onProgress?: () => void): Libp2pUpgrader {
    const upgrade = async (maConn: MultiaddrConnection, opts: AnyUpgradeOptions): Promise<MuxedConnection> => {
      // A js-libp2p transport calls its upgrader as soon as the raw connection is up.
      onProgress?.()
      this.#init.prepare?.(maConn)
      const localAddr = this.#init.localAddrOf?.(maConn)
      const base = { signal: opts.signal, transport: this.name, localAddr }
      if ('skipEncryption' in opts && opts.skipEncryption) {
        if (opts.muxerFactory === undefined) throw new Error(`${this.name} secured a connection but gave no muxer`)
        return upgrader.adoptSecured(maConn, {
          ...base,
          direction,
          remotePeer: opts.remotePeer,
          expectedPeer,
          muxerFactory: opts.muxerFactory,
          security: this.#init.nativeSecurity ?? this.name
        })
      }
      return direction === 'outbound'
        ? upgrader.upgradeOutbound(maConn, { ...base, remotePeer: expectedPeer })
        : upgrader.upgradeInbound(maConn, base)
    }
    const shim: Libp2pUpgrader = {
      upgradeOutbound: async (maConn: MultiaddrConnection, opts: AnyUpgradeOptions): Promise<Connection> => {
        const conn: unknown = await upgrade(maConn, opts)
        return conn as Connection
      },
      upgradeInbound: async (maConn: MultiaddrConnection, opts: AnyUpgradeOptions): Promise<void> => {
        try {
          const conn = await upgrade(maConn, opts)
          listen?.onConnection(conn)
        } catch (err) {
          listen?.onError?.(toError(err))
          throw err
        }
      },
      createInboundAbortSignal: (signal: AbortSignal): ClearableSignal => Object.assign(signal, { clear: () => {} }),
      getStreamMuxers: () => new Map<string, StreamMuxerFactory>(),
      getConnectionEncrypters: () => new Map<string, ConnectionEncrypter>()
    }
    return shim
  }
}

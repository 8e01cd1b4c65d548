/**
 * @packageDocumentation
 *
 * TCP for tswarm, over @libp2p/tcp. Dials and listens on `/ip4/…/tcp/N` and `/ip6/…/tcp/N`; every connection is
 * secured and multiplexed by the swarm's upgrader (Noise + Yamux by default).
 *
 * @example
 * ```ts
 * import { createSwarm } from '@tswarm/core'
 * import { tcp } from '@tswarm/transport-tcp'
 *
 * const swarm = await createSwarm({ modules: [tcp()], listen: ['/ip4/0.0.0.0/tcp/4001'] })
 * console.log(swarm.interfaceListenAddresses().map(String))
 * ```
 */
import { tcp as libp2pTcp } from '@libp2p/tcp'
import type { TCPSocketOptions } from '@libp2p/tcp'
import { ipPortToMultiaddr } from '@libp2p/utils'
import { InvalidOptionError, LOGGER, Libp2pTransportAdapter, TRANSPORT, createToken, definePlugin } from '@tswarm/core'
import { coalesceWrites } from './coalesce.js'
import type { MultiaddrConnection } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { DependencyContainer, SwarmModule, Transport } from '@tswarm/core'
import type { Socket } from 'node:net'

export interface TcpOptions {
  /**
   * Close a socket that has been silent this long (ms), before or after the upgrade. Yamux pings every 30 s, so an
   * upgraded connection to a live peer is never silent that long. Default 120 000.
   */
  socketInactivityTimeout?: number
  /** The listen backlog. Default: Node's (511). */
  backlog?: number
  /** Refuse inbound sockets beyond this many open at once per listener. Default: no limit. */
  maxConnections?: number
}

/** {@link TcpOptions} validated and frozen; `undefined` leaves @libp2p/tcp's (or Node's) default. */
export type TcpConfig = Readonly<TcpOptions>

export const TCP_MODULE_NAME = '@tswarm/transport-tcp'

/** The swarm's TCP transport (single binding), registered by `tcp()`; `TRANSPORT` points at it. */
export const TCP_TRANSPORT = createToken<Transport>('@tswarm/transport-tcp/v1', 'TcpTransport')

/**
 * Validates the options of {@link tcp} (an InvalidOptionError naming the option): each is a whole number >= 0 or
 * left out.
 */
export function resolveTcpOptions (options: TcpOptions = {}): TcpConfig {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError('tcp options', options, 'an options object')
  for (const key of ['socketInactivityTimeout', 'backlog', 'maxConnections'] as const) {
    const value = options[key]
    if (value !== undefined && (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)) {
      throw new InvalidOptionError(`tcp.${key}`, value, 'a whole number >= 0')
    }
  }
  const { socketInactivityTimeout, backlog, maxConnections } = options
  return Object.freeze({ socketInactivityTimeout, backlog, maxConnections })
}

/**
 * A 1 MiB write mark for every socket, dialed or accepted. With Node's 16 KiB default every 64 KiB frame makes
 * `write()` report a full socket and, once written, a 'drain' that every stream of the connection is told of; 1 MiB
 * lets the socket report full only when the kernel stops taking bytes. @libp2p/tcp hands these options to
 * `net.connect` and `net.createServer` as they are, though its types list only a few of them. `net.createServer`
 * takes one mark for both directions, so accepted sockets may also buffer up to 1 MiB read while paused.
 */
const WRITE_MARK = 1024 * 1024
const DIAL_SOCKET = { writableHighWaterMark: WRITE_MARK } as TCPSocketOptions
const LISTEN_SOCKET = { highWaterMark: WRITE_MARK } as TCPSocketOptions

/** The TCP transport as a swarm module: `createSwarm({ modules: [tcp()] })`. Options are checked here. */
export function tcp (options: TcpOptions = {}): SwarmModule {
  const config = resolveTcpOptions(options)
  return definePlugin({
    name: TCP_MODULE_NAME,
    factory: 'tcp()',
    token: TCP_TRANSPORT,
    instance: { useFactory: c => createTcpTransport(config, c) },
    register: c => { c.register(TRANSPORT, { useToken: TCP_TRANSPORT }) }
  })
}

/** Builds the TCP transport for a container (for users who add transports with `swarm.addTransport`). */
export function createTcpTransport (options: TcpOptions, container: DependencyContainer): Transport {
  options = resolveTcpOptions(options)
  const transport = libp2pTcp({
    inboundSocketInactivityTimeout: options.socketInactivityTimeout,
    outboundSocketInactivityTimeout: options.socketInactivityTimeout,
    backlog: options.backlog,
    maxConnections: options.maxConnections,
    dialOpts: DIAL_SOCKET,
    listenOpts: LISTEN_SOCKET
  })({ logger: container.resolve(LOGGER) })
  return new Libp2pTransportAdapter({
    name: 'tcp',
    protocols: ['tcp'],
    transport,
    localAddrOf,
    prepare: coalesceWrites
  })
}

/** @libp2p/tcp keeps the socket on its connections without typing it; the local end is only known from there. */
function localAddrOf (maConn: MultiaddrConnection): Multiaddr | undefined {
  const socket = (maConn as MultiaddrConnection & { socket?: Socket }).socket
  if (socket?.localAddress === undefined || socket.localPort === undefined) return undefined
  return ipPortToMultiaddr(socket.localAddress, socket.localPort)
}

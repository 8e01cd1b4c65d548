/**
 * @packageDocumentation
 *
 * QUIC-v1 for tswarm, over @chainsafe/libp2p-quic. QUIC secures (TLS 1.3 with libp2p certificates) and multiplexes
 * by itself, so its connections skip Noise and Yamux; the swarm still applies its gates (accept, secured, upgraded),
 * the remote identity check, timeouts and bookkeeping, exactly as for TCP.
 *
 * @example
 * ```ts
 * import { createSwarm } from '@tswarm/core'
 * import { quic } from '@tswarm/transport-quic'
 * import { tcp } from '@tswarm/transport-tcp'
 *
 * const swarm = await createSwarm({
 *   modules: [tcp(), quic()],
 *   listen: ['/ip4/0.0.0.0/tcp/4001', '/ip4/0.0.0.0/udp/4001/quic-v1']
 * })
 * ```
 */
import { quic as libp2pQuic } from '@chainsafe/libp2p-quic'
import { LOGGER, Libp2pTransportAdapter, PRIVATE_KEY, TRANSPORT, instancePerContainerCachingFactory } from '@tswarm/core'
import type { Startable } from '@libp2p/interface'
import type { DependencyContainer, SwarmModule, Transport } from '@tswarm/core'

export interface QuicOptions {
  /** Time a QUIC handshake may take (ms). Default 5 000. */
  handshakeTimeout?: number
  /** A connection silent this long is closed (ms); keep-alives prevent it for live peers. Default 10 000. */
  maxIdleTimeout?: number
  /** Keep-alive interval (ms). Default 5 000. */
  keepAliveInterval?: number
  /** Concurrent streams a peer may open on one connection. Default 256. */
  maxConcurrentStreamLimit?: number
  /** Flow-control window per stream (bytes). Default 10 000 000. */
  maxStreamData?: number
  /** Flow-control window per connection (bytes). Default 15 000 000. */
  maxConnectionData?: number
  /** Whether to open an IPv4 UDP socket for dialing. Default true. */
  ipv4?: boolean
  /** Whether to open an IPv6 UDP socket for dialing. Default true. */
  ipv6?: boolean
}

export const QUIC_MODULE_NAME = '@tswarm/transport-quic'

/** The QUIC-v1 transport as a swarm module: `createSwarm({ modules: [quic()] })`. */
export function quic (options: QuicOptions = {}): SwarmModule {
  return {
    name: QUIC_MODULE_NAME,
    register (container: DependencyContainer): void {
      container.register(TRANSPORT, {
        useFactory: instancePerContainerCachingFactory(c => createQuicTransport(options, c))
      })
    }
  }
}

/** Builds the QUIC transport for a container (for users who add transports with `swarm.addTransport`). */
export function createQuicTransport (options: QuicOptions, container: DependencyContainer): Transport {
  // Undefined fields would override the library's defaults with undefined.
  const init = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined))
  const transport = libp2pQuic(init)({ logger: container.resolve(LOGGER), privateKey: container.resolve(PRIVATE_KEY) })
  // The library opens its UDP dialing sockets when constructed; stop() releases them, so a closed swarm lets the
  // process exit.
  const startable = transport as typeof transport & Startable
  return new Libp2pTransportAdapter({
    name: 'quic-v1',
    protocols: ['quic-v1'],
    transport,
    nativeSecurity: 'tls',
    start: async () => { await startable.start() },
    close: async () => { await startable.stop() }
  })
}

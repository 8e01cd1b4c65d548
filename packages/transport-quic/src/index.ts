/**
 * @packageDocumentation
 *
 * QUIC-v1 for tswarm, over the native quinn addon of @chainsafe/libp2p-quic, with tswarm's own transport, connection
 * and stream layer on top. QUIC secures (TLS 1.3 with libp2p certificates) and multiplexes by itself, so its
 * connections skip Noise and Yamux; the swarm still applies its gates (accept, secured, upgraded), the remote
 * identity check, timeouts and bookkeeping, exactly as for TCP. Streams have backpressure both ways (a slow reader
 * holds the writer back through QUIC flow control), `closeRead()` tells the remote, and a remote reset reads as one.
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
import { TRANSPORT, definePlugin } from '@tswarm/core'
import { QUIC_OPTIONS, QUIC_TRANSPORT } from './tokens.js'
import { QuicTransport, resolveQuicOptions } from './transport.js'
import type { QuicOptions } from './transport.js'
import type { DependencyContainer, SwarmModule, Transport } from '@tswarm/core'

export { QuicTransport, QUIC_DEFAULTS, parseQuicAddr, resolveQuicOptions } from './transport.js'
export type { QuicAddr, QuicOptions } from './transport.js'
export { QUIC_BINDING, QUIC_OPTIONS, QUIC_TRANSPORT } from './tokens.js'
export { QuicBindingError, loadQuicBinding } from './binding.js'
export type { QuicBinding } from './binding.js'
export {
  QuicAddressError, QuicDialError, QuicListenError, QuicRemotePeerError, QuicSocketOpenError, QuicSocketUnavailableError,
  QuicTransportClosedError
} from './errors.js'

/** The `name` of the module {@link quic} returns. */
export const QUIC_MODULE_NAME = '@tswarm/transport-quic'

/**
 * The QUIC-v1 transport as a swarm module: `createSwarm({ modules: [quic()] })`.
 *
 * @param options - QUIC settings; every one has a default (see {@link QuicOptions})
 * @throws {QuicBindingError} when the swarm is assembled on a platform where no native binding loads
 */
export function quic (options: QuicOptions = {}): SwarmModule {
  const config = resolveQuicOptions(options)
  return definePlugin({
    name: QUIC_MODULE_NAME,
    factory: 'quic()',
    token: QUIC_TRANSPORT,
    config: { token: QUIC_OPTIONS, value: config },
    instance: { useClass: QuicTransport },
    register: c => { c.register(TRANSPORT, { useToken: QUIC_TRANSPORT }) }
  })
}

/**
 * Builds the QUIC transport for a container (for users who add transports with `swarm.addTransport`): registers
 * `options` under {@link QUIC_OPTIONS} in a child of it, so a `quic()` module's options there stay as they are, and
 * resolves {@link QuicTransport}, which takes the swarm's `PRIVATE_KEY`, `LOGGER` and `CLOCK`.
 */
export function createQuicTransport (options: QuicOptions, container: DependencyContainer): Transport {
  const own = container.createChildContainer()
  own.register(QUIC_OPTIONS, { useValue: resolveQuicOptions(options) })
  return own.resolve(QuicTransport)
}

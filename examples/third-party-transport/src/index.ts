/**
 * @packageDocumentation
 *
 * An example of extending tswarm with a transport it does not ship: js-libp2p's WebSockets transport, wrapped by
 * core's generic `Libp2pTransportAdapter` and registered through the public module API (`definePlugin`). Nothing in
 * @tswarm/core changes; the same two steps work for any js-libp2p v3 transport.
 *
 * @example
 * ```ts
 * import { createSwarm } from '@tswarm/core'
 * import { websockets } from '@tswarm/example-third-party-transport'
 *
 * const swarm = await createSwarm({ modules: [websockets()], listen: ['/ip4/127.0.0.1/tcp/0/ws'] })
 * ```
 */
import { TypedEventEmitter } from '@libp2p/interface'
import { webSockets } from '@libp2p/websockets'
import { LOGGER, Libp2pTransportAdapter, TRANSPORT, createToken, definePlugin } from '@tswarm/core'
import type { Libp2pEvents } from '@libp2p/interface'
import type { SwarmModule, Transport } from '@tswarm/core'

/** The swarm's WebSockets transport (single binding), registered by `websockets()`; `TRANSPORT` points at it. */
export const WEBSOCKETS_TRANSPORT = createToken<Transport>('@tswarm/example-third-party-transport/v1', 'WebSocketsTransport')

/**
 * WebSockets (`/ip4/…/tcp/N/ws`) as a swarm module, written the one way core's README gives for every plugin
 * (`definePlugin`; no options, so no config). A js-libp2p transport is built by a function of the swarm's container
 * rather than by an injectable class: it takes its components as an object.
 */
export function websockets (): SwarmModule {
  return definePlugin({
    name: '@tswarm/example-third-party-transport',
    factory: 'websockets()',
    token: WEBSOCKETS_TRANSPORT,
    instance: {
      useFactory: c => new Libp2pTransportAdapter({
        name: 'ws',
        // The multiaddr protocols this transport owns; TCP keeps 'tcp'.
        protocols: ['ws', 'wss'],
        // js-libp2p transports take their components as an object; the WebSockets listener reports on an event
        // bus the swarm does not need, so it gets one of its own.
        transport: webSockets()({ logger: c.resolve(LOGGER), events: new TypedEventEmitter<Libp2pEvents>() })
      })
    },
    register: c => { c.register(TRANSPORT, { useToken: WEBSOCKETS_TRANSPORT }) }
  })
}

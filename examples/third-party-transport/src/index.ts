/**
 * @packageDocumentation
 *
 * An example of extending tswarm with a transport it does not ship: js-libp2p's WebSockets transport, wrapped by
 * core's generic `Libp2pTransportAdapter` and registered through the public module API. Nothing in @tswarm/core
 * changes; the same two steps work for any js-libp2p v3 transport.
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
import { LOGGER, Libp2pTransportAdapter, TRANSPORT, instancePerContainerCachingFactory } from '@tswarm/core'
import type { Libp2pEvents } from '@libp2p/interface'
import type { SwarmModule } from '@tswarm/core'

/** WebSockets (`/ip4/…/tcp/N/ws`) as a swarm module. */
export function websockets (): SwarmModule {
  return {
    name: '@tswarm/example-third-party-transport',
    register (container) {
      container.register(TRANSPORT, {
        useFactory: instancePerContainerCachingFactory(c => new Libp2pTransportAdapter({
          name: 'ws',
          // The multiaddr protocols this transport owns; TCP keeps 'tcp'.
          protocols: ['ws', 'wss'],
          // js-libp2p transports take their components as an object; the WebSockets listener reports on an event
          // bus the swarm does not need, so it gets one of its own.
          transport: webSockets()({ logger: c.resolve(LOGGER), events: new TypedEventEmitter<Libp2pEvents>() })
        }))
      })
    }
  }
}

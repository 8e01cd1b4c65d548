import { instancePerContainerCachingFactory } from '../di.js'
import { CLOCK, CONNECTION_MANAGER, LOGGER, SWARM_SERVICE } from '../tokens.js'
import { BasicConnectionManager } from './connection-manager.js'
import type { ConnectionManagerOptions } from './connection-manager.js'
import type { SwarmModule } from '../interfaces/module.js'
import type { Clock } from '../interfaces/clock.js'
import type { ComponentLogger } from '@libp2p/logger'

/**
 * Keeps connections between watermarks, trimming the least valuable first.
 *
 * @example
 * ```ts
 * const { swarm, container } = await assembleSwarm({ modules: [tcp(), connectionManager({ lowWater: 50, highWater: 100 })] })
 * container.resolve(CONNECTION_MANAGER).protect(bootstrapPeer, 'bootstrap')
 * ```
 */
export function connectionManager (options: ConnectionManagerOptions = {}): SwarmModule {
  // Validated now, so bad options fail at the call site; each swarm gets its own manager.
  void new BasicConnectionManager({ now: () => 0, setTimeout: () => 0, clearTimeout: () => {} }, options)
  return {
    name: '@tswarm/core:connection-manager',
    register (container) {
      container.register(CONNECTION_MANAGER, {
        useFactory: instancePerContainerCachingFactory(c =>
          new BasicConnectionManager(c.resolve<Clock>(CLOCK), options, c.resolve<ComponentLogger>(LOGGER).forComponent('tswarm:connmgr')))
      })
      container.register(SWARM_SERVICE, { useFactory: instancePerContainerCachingFactory(c => c.resolve<BasicConnectionManager>(CONNECTION_MANAGER)) })
    }
  }
}

import { definePlugin } from '../plugin.js'
import { CLOCK, CONNECTION_MANAGER, LOGGER, SWARM_SERVICE } from '../tokens.js'
import { BasicConnectionManager, resolveConnectionManagerOptions } from './connection-manager.js'
import type { ConnectionManagerOptions } from './connection-manager.js'
import type { SwarmModule } from '../interfaces/module.js'
import type { Clock } from '../interfaces/clock.js'
import type { ComponentLogger } from '@libp2p/logger'

/**
 * Keeps connections between watermarks, trimming the least valuable first. Options are checked here, so a bad one
 * throws an InvalidOptionError before any swarm is made; each swarm gets its own manager.
 *
 * @example
 * ```ts
 * const swarm = await createSwarm({ modules: [tcp(), connectionManager({ lowWater: 50, highWater: 100 })] })
 * pluginInstance(swarm, CONNECTION_MANAGER).protect(bootstrapPeer, 'bootstrap')
 * ```
 */
export function connectionManager (options: ConnectionManagerOptions = {}): SwarmModule {
  const config = resolveConnectionManagerOptions(options)
  return definePlugin({
    name: '@tswarm/core:connection-manager',
    factory: 'connectionManager()',
    token: CONNECTION_MANAGER,
    instance: {
      useFactory: c => new BasicConnectionManager(c.resolve<Clock>(CLOCK), config, c.resolve<ComponentLogger>(LOGGER).forComponent('tswarm:connmgr'))
    },
    register: c => { c.register(SWARM_SERVICE, { useToken: CONNECTION_MANAGER }) }
  })
}

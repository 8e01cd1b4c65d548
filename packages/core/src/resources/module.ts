import { definePlugin } from '../plugin.js'
import { LIMIT_RESOURCE_MANAGER, RESOURCE_MANAGER } from '../tokens.js'
import { LimitResourceManager, resolveResourceLimits } from './limit-resource-manager.js'
import type { ResourceLimits } from './limit-resource-manager.js'
import type { SwarmModule } from '../interfaces/module.js'

/**
 * Sets the swarm's resource limits (replacing the defaults; see `DEFAULT_RESOURCE_LIMITS`). Limits are checked here,
 * so a bad one throws an InvalidOptionError before any swarm is made; each swarm still gets a manager of its own,
 * reachable as `swarm.resources` or `pluginInstance(swarm, LIMIT_RESOURCE_MANAGER)`.
 *
 * @example
 * ```ts
 * const swarm = await createSwarm({ modules: [tcp(), resourceLimits({ connectionsInbound: 64, allowList: { subnets: ['10.0.0.0/8'] } })] })
 * ```
 */
export function resourceLimits (limits: ResourceLimits = {}): SwarmModule {
  const config = resolveResourceLimits(limits)
  return definePlugin({
    name: '@tswarm/core:resource-limits',
    factory: 'resourceLimits()',
    token: LIMIT_RESOURCE_MANAGER,
    instance: { useFactory: () => new LimitResourceManager(config) },
    // replaces the default manager: the swarm asks RESOURCE_MANAGER
    register: c => { c.register(RESOURCE_MANAGER, { useToken: LIMIT_RESOURCE_MANAGER }) }
  })
}

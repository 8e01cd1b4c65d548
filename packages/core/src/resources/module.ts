import { instancePerContainerCachingFactory } from '../di.js'
import { RESOURCE_MANAGER } from '../tokens.js'
import { LimitResourceManager } from './limit-resource-manager.js'
import type { ResourceLimits } from './limit-resource-manager.js'
import type { SwarmModule } from '../interfaces/module.js'

/**
 * Sets the swarm's resource limits (replacing the defaults; see `DEFAULT_RESOURCE_LIMITS`).
 *
 * @example
 * ```ts
 * const swarm = await createSwarm({ modules: [tcp(), resourceLimits({ connectionsInbound: 64, allowList: { subnets: ['10.0.0.0/8'] } })] })
 * ```
 */
export function resourceLimits (limits: ResourceLimits = {}): SwarmModule {
  // Validated now, so a bad limit fails at the call site; each swarm still gets a manager of its own.
  void new LimitResourceManager(limits)
  return {
    name: '@tswarm/core:resource-limits',
    register (container) {
      container.register(RESOURCE_MANAGER, { useFactory: instancePerContainerCachingFactory(() => new LimitResourceManager(limits)) })
    }
  }
}

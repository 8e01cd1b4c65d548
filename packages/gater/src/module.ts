import { instancePerContainerCachingFactory } from '@tswarm/core'
import { GaterStateError } from './errors.js'
import type { DependencyContainer, SwarmModule, Token } from '@tswarm/core'

/** What {@link instanceModule} needs to know about the plugin it registers. */
export interface InstanceModuleInit<T> {
  /** The module's name, shown in errors. */
  name: string
  /** What the factory call is named in messages, e.g. `blockList()`. */
  factory: string
  /** The single binding the instance is resolved under. */
  token: Token<T>
  /** Builds the instance in the swarm's container (with `container.resolve(SomeInjectableClass)`). */
  create: (container: DependencyContainer) => T
  /** Whether the instance still serves a running (or starting) swarm. */
  isLive: (instance: T) => boolean
  /** Registers the rest: the options, the gaters and services that resolve `token`. */
  register: (container: DependencyContainer) => void
}

/** A swarm module that builds one instance per swarm and lets its creator reach the latest one. */
export interface InstanceModule<T> extends SwarmModule {
  /**
   * The instance built for the swarm this module was last registered in.
   *
   * @throws GaterStateError before a swarm was made with the module
   */
  readonly instance: T
}

/**
 * A module whose instance the user keeps using after `createSwarm` (to block a peer, read statistics): the object
 * returned by the factory is the handle. It serves one running swarm at a time, since its state (connections to
 * close, counters) belongs to one swarm; once that swarm is closed, it may be registered again, and the rules kept
 * in memory carry over.
 */
export function instanceModule<T> (init: InstanceModuleInit<T>): InstanceModule<T> {
  let current: T | undefined
  return {
    name: init.name,
    get instance (): T {
      if (current === undefined) throw new GaterStateError(`${init.name}: no swarm was made with this module yet: pass it to createSwarm({ modules }) first`)
      return current
    },
    register (container: DependencyContainer): void {
      if (container.isRegistered(init.token, false)) {
        throw new GaterStateError(`${init.factory} is registered twice in one swarm: pass one such module`)
      }
      if (current !== undefined && init.isLive(current)) {
        throw new GaterStateError(`this ${init.factory} module already serves a running swarm: call ${init.factory} again for another swarm, or close the first`)
      }
      container.register(init.token, {
        useFactory: instancePerContainerCachingFactory(c => {
          current = init.create(c)
          return current
        })
      })
      init.register(container)
    }
  }
}

import { instancePerContainerCachingFactory } from './di.js'
import { SwarmError } from './errors.js'
import type { DependencyContainer } from './di.js'
import type { SwarmModule } from './interfaces/module.js'
import type { Swarm } from './swarm/swarm.js'
import type { Token } from './tokens.js'

/**
 * The one way to write a tswarm plugin, and the one way to reach its instance once the swarm is made.
 *
 * A plugin package exports:
 * 1. an options interface, every field optional and documented with its default;
 * 2. `resolveXOptions(options)`: validates them (an `InvalidOptionError` naming the option and the bad value) and
 *    returns the config, defaults filled in, frozen;
 * 3. its tokens, made with `createToken('<package>/v1', '<Name>')`: one for its instance, one for its config;
 * 4. the instance's class, `@injectable()`, every constructor parameter with its `@inject(TOKEN)`;
 * 5. a factory `x(options)` that calls `resolveXOptions` at once (bad options fail where they are written, before any
 *    swarm exists) and returns `definePlugin({ … })`.
 *
 * The user reaches the instance with `pluginInstance(swarm, TOKEN)`; other plugins inject it with `@inject(TOKEN)`.
 *
 * Why the instance is reached by (swarm, token), and not through a property of the module object: the token is
 * already the instance's name inside the container, so one name serves both sides. The module object then stays a
 * plain `{ name, register }` value that holds no swarm: one module value can go into several `createSwarm` calls
 * without a "which swarm?" question (the swarm is an argument), a plugin written without this helper is reached the
 * same way, and `Symbol.for` tokens agree across two copies of a package in one process. Asking the wrong swarm,
 * or a swarm made without the plugin, fails with a `PluginNotFoundError` that says what to add.
 */

/** How a plugin builds its instance, once per swarm, in that swarm's container. */
export type PluginInstanceProvider<T> =
  /**
   * An `@injectable()` class; every constructor parameter names its token with `@inject`/`@injectAll`. The
   * parameters are typed `any[]` because that is the DI library's own constructor type, which `resolve` takes.
   */
  | { readonly useClass: new (...args: any[]) => T }
  /** A function of the swarm's container, for instances a class decorator cannot describe (a wrapped js-libp2p transport). */
  | { readonly useFactory: (container: DependencyContainer) => T }

/** What {@link definePlugin} needs to know about a plugin. */
export interface PluginDefinition<T, C = never> {
  /** The module's name, shown in assembly errors: `<package>` or `<package>:<plugin>`. */
  readonly name: string
  /** How the factory call reads in messages, e.g. `blockList()`. Default: {@link name}. */
  readonly factory?: string
  /**
   * The plugin's own single binding (made with `createToken`): the instance is registered under it, and only under
   * it; the seams it fills (`CONNECTION_GATER`, `SWARM_SERVICE`, `PEERSTORE`, …) point at it with `{ useToken }`.
   */
  readonly token: Token<T>
  /**
   * The validated options, as the plugin's `resolveXOptions` returned them (frozen), and the token they are
   * registered under for the instance's class to `@inject`. Omit for a plugin without options.
   */
  readonly config?: { readonly token: Token<C>, readonly value: C }
  /** Builds the instance. */
  readonly instance: PluginInstanceProvider<T>
  /**
   * Registers the rest, after the config and the instance: the multi-bindings and defaults the plugin fills, each
   * pointing at {@link token} (`container.register(CONNECTION_GATER, { useToken: TOKEN })`). Registers only: no I/O.
   */
  readonly register?: (container: DependencyContainer) => void
  /**
   * For a plugin whose module holds state that one swarm at a time may use (a store it owns): answers whether the
   * instance built for the last swarm still serves it. While it does, registering the module into another swarm
   * is refused, naming the factory to call again. Default: a module may serve any number of swarms at once.
   */
  readonly exclusive?: (instance: T) => boolean
}

/**
 * A plugin's instance was asked of a swarm that has none: the swarm was made without the plugin's module, or not
 * by `createSwarm`/`createHost`.
 */
export class PluginNotFoundError extends SwarmError {
  override readonly name: string = 'PluginNotFoundError'

  constructor (readonly token: symbol, message: string) {
    super(message)
  }
}

/** A plugin's module cannot be registered: twice into one swarm, or into a second swarm while it serves one. */
export class PluginConflictError extends SwarmError {
  override readonly name: string = 'PluginConflictError'
}

/**
 * Builds a plugin's module: registers `config` and the instance (one per swarm, built when first resolved) under
 * the plugin's token, then whatever `register` adds. Refuses a second registration of the same token in one swarm,
 * which would leave two copies of the plugin's gaters and services with only one of them reachable.
 *
 * @example
 * ```ts
 * export function peerBans (options: PeerBansOptions = {}): SwarmModule {
 *   return definePlugin({
 *     name: '@acme/peer-bans',
 *     factory: 'peerBans()',
 *     token: PEER_BANS,
 *     config: { token: PEER_BANS_CONFIG, value: resolvePeerBansOptions(options) },
 *     instance: { useClass: PeerBans },
 *     register: c => { c.register(CONNECTION_GATER, { useToken: PEER_BANS }) }
 *   })
 * }
 * // after createSwarm({ modules: [tcp(), peerBans()] }):
 * pluginInstance(swarm, PEER_BANS).ban(peer)
 * ```
 */
export function definePlugin<T, C = never> (definition: PluginDefinition<T, C>): SwarmModule {
  const { name, token, config, instance, register, exclusive } = definition
  const factory = definition.factory ?? name
  if (config !== undefined && !Object.isFrozen(config.value)) {
    // A config the user can still change after validation would make the check at the factory call meaningless.
    throw new SwarmError(`${factory}: the config must be frozen: return Object.freeze({ … }) from the options resolver`)
  }
  // Only for `exclusive`: the instance of the last swarm, to tell whether it still runs.
  // Weakly: a closed swarm's instance (and the network it holds) must not stay alive for this check.
  let last: WeakRef<T & object> | undefined
  return {
    name,
    register (container: DependencyContainer): void {
      if (container.isRegistered(token, false)) {
        throw new PluginConflictError(`${factory} is registered twice in one swarm: pass one such module`)
      }
      const previous = last?.deref()
      if (exclusive !== undefined && previous !== undefined && exclusive(previous)) {
        throw new PluginConflictError(`this ${factory} module already serves a running swarm: call ${factory} again for another swarm, or close the first`)
      }
      if (config !== undefined) container.register(config.token, { useValue: config.value })
      container.register(token, {
        useFactory: instancePerContainerCachingFactory(c => {
          const built = 'useClass' in instance ? c.resolve(instance.useClass) : instance.useFactory(c)
          if (exclusive !== undefined) last = new WeakRef(built as T & object)
          return built
        })
      })
      register?.(container)
    }
  }
}

// Weak: a closed swarm the user dropped is not kept alive, with its container, by this table.
const containers = new WeakMap<Swarm, DependencyContainer>()

/** Records the container a swarm was assembled in. Called by `assembleSwarm` only; not exported from the package. */
export function rememberContainer (swarm: Swarm, container: DependencyContainer): void {
  containers.set(swarm, container)
}

/**
 * The instance a plugin registered under `token` in `swarm`, once `createSwarm` (or `createHost`) has made it, and
 * still after the swarm closed (to read final statistics). Typed by the token.
 *
 * @example
 * ```ts
 * const swarm = await createSwarm({ modules: [tcp(), blockList({ path: './blocked' })] })
 * await pluginInstance(swarm, BLOCK_LIST).blockSubnet('203.0.113.0/24')
 * ```
 * @throws PluginNotFoundError when the swarm was made without a module that registers `token`
 */
export function pluginInstance<T> (swarm: Swarm, token: Token<T>): T {
  const what = token.description ?? String(token)
  const container = containers.get(swarm)
  if (container === undefined) {
    throw new PluginNotFoundError(token, `no plugin instance under ${what}: this swarm was not made by createSwarm (or createHost); ` +
      'make it with createSwarm({ modules }) and ask that swarm')
  }
  if (!container.isRegistered(token, true)) {
    throw new PluginNotFoundError(token, `no plugin instance under ${what} in this swarm: pass the module that registers it to ` +
      'createSwarm({ modules }) for this swarm, and ask once createSwarm has resolved')
  }
  return container.resolve<T>(token)
}

import { swarmLogger } from './logger.js'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { Lifecycle, rootContainer } from './di.js'
import { SystemClock } from './clock.js'
import { resolveSwarmConfig } from './config.js'
import { ModuleRegistrationError, SwarmAssemblyError, describe } from './errors.js'
import { generateIdentity } from './identity.js'
import { MemoryPeerstore } from './peerstore/memory-peerstore.js'
import { NullReporter } from './reporter.js'
import { rememberContainer } from './plugin.js'
import { Swarm } from './swarm/swarm.js'
import { CLOCK, DIAL_RANKER, DNS_RESOLVER, LOGGER, PEERSTORE, PRIVATE_KEY, REPORTER, RESOURCE_MANAGER, SWARM_CONFIG, TRANSPORT, UPGRADER } from './tokens.js'
import { LimitResourceManager } from './resources/limit-resource-manager.js'
import { NodeDnsResolver } from './dial/dns.js'
import { DefaultDialRanker } from './dial/ranker.js'
import { NoiseYamuxUpgrader } from './upgrader/upgrader.js'
import type { SwarmOptions } from './config.js'
import type { SwarmModule } from './interfaces/module.js'
import type { PrivateKey } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { DependencyContainer } from './di.js'

export interface CreateSwarmOptions {
  /** Our identity. Default: a new Ed25519 key (see `loadOrCreateIdentity` to keep one across runs). */
  privateKey?: PrivateKey
  /** Plugins: transports, gaters, reporters, replacements for core defaults. Registered in order. */
  modules: readonly SwarmModule[]
  /** Addresses to listen on once started. Default: none (dial only). */
  listen?: ReadonlyArray<Multiaddr | string>
  options?: SwarmOptions
}

/** A swarm together with the container it was assembled in, for a layer that builds more on it (`createHost`). */
export interface AssembledSwarm {
  swarm: Swarm
  container: DependencyContainer
}

/**
 * Assembles, starts and (when `listen` is given) opens a swarm.
 *
 * Each call makes its own child container: core defaults (system clock, in-memory peerstore, Noise + Yamux upgrader,
 * a reporter that discards) are registered first, then each module, so a module's registration replaces a default.
 * Two swarms in one process share nothing.
 *
 * @example
 * ```ts
 * import { createSwarm } from '@tswarm/core'
 * import { tcp } from '@tswarm/transport-tcp'
 *
 * const swarm = await createSwarm({ modules: [tcp()], listen: ['/ip4/127.0.0.1/tcp/0'] })
 * console.log(swarm.localPeer.toString(), swarm.listenAddresses().map(String))
 * await swarm.close()
 * ```
 */
export async function createSwarm (init: CreateSwarmOptions): Promise<Swarm> {
  return (await assembleSwarm(init)).swarm
}

/**
 * As {@link createSwarm}, also returning the swarm's container, for a layer that builds more on it (`createHost`
 * resolves its `Host` there). A plugin's instance is not looked up here: use `pluginInstance(swarm, TOKEN)`.
 */
export async function assembleSwarm (init: CreateSwarmOptions): Promise<AssembledSwarm> {
  const config = resolveSwarmConfig(init.options)
  const privateKey = init.privateKey ?? await generateIdentity('Ed25519')
  try {
    peerIdFromPrivateKey(privateKey)
  } catch (err) {
    throw new SwarmAssemblyError(`a ${privateKey.type} key cannot be a swarm identity: no peer ID can be derived from it ` +
      `(${describe(err)}); use an Ed25519 (default), secp256k1 or RSA key`, { cause: err })
  }
  const container = rootContainer.createChildContainer()
  registerDefaults(container)
  container.register(PRIVATE_KEY, { useValue: privateKey })
  container.register(SWARM_CONFIG, { useValue: config })

  for (const mod of init.modules) {
    try {
      mod.register(container)
    } catch (err) {
      throw new ModuleRegistrationError(mod.name ?? '(unnamed module)', err)
    }
  }
  if (!container.isRegistered(TRANSPORT)) {
    throw new SwarmAssemblyError('no transport is registered: add a transport module to `modules`, e.g. tcp() from @tswarm/transport-tcp')
  }

  let swarm: Swarm
  try {
    swarm = container.resolve(Swarm)
  } catch (err) {
    throw new SwarmAssemblyError(`could not build the swarm: ${describe(err)}; check that every module registered what it needs`, { cause: err })
  }
  // before start, so a service started with the swarm can already look its plugins up
  rememberContainer(swarm, container)
  try {
    await swarm.start()
    if (init.listen !== undefined && init.listen.length > 0) await swarm.listen(...init.listen)
  } catch (err) {
    await swarm.close()
    throw err
  }
  return { swarm, container }
}

function registerDefaults (c: DependencyContainer): void {
  const singleton = { lifecycle: Lifecycle.ContainerScoped }
  c.register(CLOCK, { useClass: SystemClock }, singleton)
  c.register(LOGGER, { useValue: swarmLogger() })
  c.register(PEERSTORE, { useClass: MemoryPeerstore }, singleton)
  c.register(REPORTER, { useClass: NullReporter }, singleton)
  c.register(UPGRADER, { useClass: NoiseYamuxUpgrader }, singleton)
  c.register(DIAL_RANKER, { useValue: new DefaultDialRanker() })
  c.register(DNS_RESOLVER, { useValue: new NodeDnsResolver() })
  c.register(RESOURCE_MANAGER, { useValue: new LimitResourceManager() })
}

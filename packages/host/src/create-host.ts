import { Swarm, assembleSwarm } from '@tswarm/core'
import { resolveHostConfig } from './config.js'
import { Host } from './host.js'
import { HOST_CONFIG } from './tokens.js'
import type { HostOptions } from './config.js'
import type { CreateSwarmOptions } from '@tswarm/core'

export interface CreateHostOptions extends CreateSwarmOptions {
  /** Host options (identify, ping, perf, stream limits); every field optional. */
  host?: HostOptions
}

/**
 * Assembles a swarm (as `createSwarm` does, with the same `privateKey`, `modules`, `listen` and swarm `options`),
 * builds a {@link Host} on it in the same container, and only then listens, so no inbound connection arrives before
 * the host handles streams and identifies connections.
 *
 * @example
 * ```ts
 * import { createHost } from '@tswarm/host'
 * import { tcp } from '@tswarm/transport-tcp'
 *
 * const host = await createHost({ modules: [tcp()], listen: ['/ip4/127.0.0.1/tcp/0'] })
 * console.log(host.peerId.toString(), host.addrs().map(String))
 * await host.close()
 * ```
 */
export async function createHost (init: CreateHostOptions): Promise<Host> {
  // options fail before anything is built or bound
  const config = resolveHostConfig(init.host)
  const { swarm, container } = await assembleSwarm({ ...init, listen: [] })
  let host: Host | undefined
  try {
    container.register(Swarm, { useValue: swarm })
    container.register(HOST_CONFIG, { useValue: config })
    host = container.resolve(Host)
    if (init.listen !== undefined && init.listen.length > 0) await swarm.listen(...init.listen)
    return host
  } catch (err) {
    await (host ?? swarm).close()
    throw err
  }
}
